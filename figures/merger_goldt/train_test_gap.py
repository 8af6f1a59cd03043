"""Figure of ``merger-goldt/train-test-gap`` (spec ``merger_goldt.md`` §4 figure 2): train and test errors against N/d."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import train_test_gap as exp


@figure(
    "merger-goldt/fig-train-test-vs-n",
    "Train and test errors vs N/d (d=400)",
    claims=("merger-goldt/train-test-gap",),
)
def fig_train_test_vs_n(run: RunSpec) -> FigureOutput:
    m = exp.train_test_gap(run)
    x = np.asarray(m.ns) / m.sizes.d
    fig, axes = plt.subplots(1, len(m.steps), figsize=(5 * len(m.steps), 4), sharey=True)
    for c, t in enumerate(np.atleast_1d(m.steps)):
        ax = np.atleast_1d(axes)[c]
        for b, ridge in enumerate(m.ridges):
            ax.loglog(x, m.test[:, b, c], "o", color=f"C{b}", label=f"test, ridge={ridge}")
            ax.loglog(x, m.train[:, b, c], "x", color=f"C{b}", label=f"train, ridge={ridge}")
        ax.axvline(1.0, color="0.5", lw=0.6)
        ax.set_title(f"t={t}")
        ax.set_xlabel("N/d")
    np.atleast_1d(axes)[0].set_ylabel("error per dimension")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    return FigureOutput(
        fig,
        {"n_over_d": x, "ridges": np.asarray(m.ridges), "steps": np.asarray(m.steps), "test": m.test, "train": m.train},
        {**m.sizes.as_dict(), "mean": "known"},
        "merger-goldt/train-test-gap: test (o) and train (x) errors of the judged training sets; "
        "the gap is large for N < d and closes for N >> d.",
        seed=m.seeds,
    )
