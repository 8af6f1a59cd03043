"""Figure of ``merger-goldt/hierarchy-reduces-overfitting``: KL and test error against the spectral decay."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import hierarchy as exp


@figure(
    "merger-goldt/fig-hierarchy",
    "Effect of spectral decay at N/d=0.5",
    claims=("merger-goldt/hierarchy-reduces-overfitting",),
)
def fig_hierarchy(run: RunSpec) -> FigureOutput:
    m = exp.hierarchy(run)
    sz = m.sizes
    kl, se = m.kl_mean_and_se()
    err = m.test[:, :, 0].mean(0)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.errorbar(m.ks, kl, yerr=se, fmt="o-", label="measured (10 seeds)")
    ax1.plot(m.ks, exp.HIERARCHY_KL_REFERENCE, "k+", ms=10, label="spec reference")
    ax1.set_xlabel("k")
    ax1.set_ylabel(f"KL / d (d={sz.kl_d}, N={sz.kl_n})")
    ax1.legend()
    ax2.semilogy(m.ks, err, "o-")
    ax2.set_xlabel("k")
    ax2.set_ylabel(f"test error, t={m.steps[0]} (d={sz.test_d}, N={sz.test_n})")
    return FigureOutput(
        fig,
        {"ks": np.array(m.ks), "kl": kl, "kl_se": se, "test_t1": err},
        sz.as_dict(),
        "merger-goldt/hierarchy-reduces-overfitting: faster decay lowers KL and test error at N<d.",
        seed=m.seeds,
    )
