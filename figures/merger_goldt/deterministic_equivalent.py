"""Figure of the error curves against N/d (spec ``merger_goldt.md`` §4 figure 2)."""

from __future__ import annotations

import matplotlib.pyplot as plt

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import deterministic_equivalent as exp


@figure(
    "merger-goldt/fig-train-test-vs-n",
    "Train and test errors vs N/d (d=400)",
    claims=(
        "merger-goldt/test-train-error-formulas",
        "merger-goldt/deterministic-equivalent",
        "merger-goldt/train-test-gap",
    ),
)
def fig_train_test_vs_n(run: RunSpec) -> FigureOutput:
    m = exp.error_curves(run)
    x = m.ns / m.d
    fig, axes = plt.subplots(1, len(m.steps), figsize=(13, 4))
    for c, t in enumerate(m.steps):
        ax = axes[c]
        for a, k in enumerate(m.ks):
            col = f"C{a}"
            ax.loglog(x, m.test[a, :, c], "o", color=col, ms=4, label=f"test k={k}")
            ax.loglog(x, m.train[a, :, c], "x", color=col, ms=4, label=f"train k={k}")
            ax.loglog(x, m.det_equiv[a, :, c], "-", color=col, lw=1)
            ax.axhline(m.bayes[a, c], color=col, ls="--", lw=0.8)
        ax.axvline(1.0, color="0.5", lw=0.6)
        ax.set_title(f"t={t}")
        ax.set_xlabel("N/d")
    axes[0].set_ylabel("error per dimension")
    axes[0].legend(fontsize=6)
    sz = run.sizes(exp.FIG_TRAIN_TEST)
    seeds = exp.seed_list(run, range(sz.seeds))
    return FigureOutput(
        fig,
        {"n_over_d": x, "test": m.test, "train": m.train, "det_equiv": m.det_equiv, "bayes": m.bayes},
        {**sz.as_dict(), "mean": "known"},
        "merger-goldt/test-train-error-formulas, deterministic-equivalent, train-test-gap: "
        "markers = simulation, lines = deterministic equivalent, dashed = Bayes error.",
        seed=seeds,
    )
