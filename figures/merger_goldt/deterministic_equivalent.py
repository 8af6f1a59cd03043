"""Figure of ``merger-goldt/deterministic-equivalent``: simulated test errors against the deterministic equivalent."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import deterministic_equivalent as exp


@figure(
    "merger-goldt/fig-deterministic-equivalent",
    "Test error: simulation vs deterministic equivalent (d=400)",
    claims=("merger-goldt/deterministic-equivalent",),
)
def fig_deterministic_equivalent(run: RunSpec) -> FigureOutput:
    m = exp.deterministic_equivalent(run)
    x = np.asarray(m.ns) / m.sizes.d
    fig, axes = plt.subplots(1, len(m.steps), figsize=(4 * len(m.steps), 4), sharey=True)
    for c, t in enumerate(m.steps):
        ax = axes[c]
        for b, ridge in enumerate(m.ridges):
            ax.errorbar(
                x, m.mean[:, b, c], yerr=m.se[:, b, c], fmt="o", color=f"C{b}", ms=5, label=f"sim, ridge={ridge}"
            )
            ax.plot(x, m.de[:, b, c], "_", color=f"C{b}", ms=16, mew=2, label=f"DE, ridge={ridge}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"t={t}")
        ax.set_xlabel("N/d")
    axes[0].set_ylabel("test error per dimension")
    axes[0].legend(fontsize=7)
    return FigureOutput(
        fig,
        {
            "n_over_d": x,
            "ridges": np.asarray(m.ridges),
            "steps": np.asarray(m.steps),
            "mean": m.mean,
            "se": m.se,
            "de": m.de,
        },
        {**m.sizes.as_dict(), "mean": "known"},
        "merger-goldt/deterministic-equivalent: seed-averaged test errors (markers, ± SE) and the deterministic "
        "equivalent (bars) at the judged cases.",
        seed=m.seeds,
    )
