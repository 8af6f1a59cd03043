"""Figures of ``merger-goldt/optimal-ridge`` and ``merger-goldt/early-stopping``: KL and test error against the regularisation."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import regularisation as exp


def _regularisation_figure(m: exp.Regularisation, xlabel: str) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    grid = np.asarray(m.grid)
    x = np.where(grid > 0, grid, np.nan)  # log axes: lambda = 0 is not drawn
    for b, n in enumerate(m.ns):
        ls = "-" if b == 0 else "--"
        for a, k in enumerate(m.ks):
            axes[0].loglog(x, m.kl[b, a], ls, color=f"C{a}", label=f"N={n} k={k}")
            axes[1].loglog(x, m.test_t1[b, a], ls, color=f"C{a}", label=f"N={n} k={k}, t=1")
    axes[0].set_ylabel("KL / d (gen||target)")
    axes[1].set_ylabel("test error, t=1")
    for ax in axes:
        ax.set_xlabel(xlabel)
    axes[0].legend(fontsize=6)
    return fig


@figure("merger-goldt/fig-ridge", "KL and test error vs ridge", claims=("merger-goldt/optimal-ridge",))
def fig_ridge(run: RunSpec) -> FigureOutput:
    m = exp.optimal_ridge(run)
    fig = _regularisation_figure(m, "ridge lambda (lambda = 0 not drawn)")
    return FigureOutput(
        fig,
        {"ridges": np.asarray(m.grid), "kl": m.kl, "test_t1": m.test_t1},
        m.sizes.as_dict(),
        "merger-goldt/optimal-ridge: an interior ridge minimises the KL for N<d; little gain for N>>d.",
        seed=m.seeds,
    )


@figure(
    "merger-goldt/fig-early-stopping", "KL and test error vs training time", claims=("merger-goldt/early-stopping",)
)
def fig_early_stopping(run: RunSpec) -> FigureOutput:
    m = exp.early_stopping(run)
    fig = _regularisation_figure(m, r"$\eta\tau$")
    for b, n in enumerate(m.ns):
        for a, k in enumerate(m.ks):
            fig.axes[1].loglog(m.grid, m.test_t10[b, a], ":", color=f"C{a}", label=f"N={n} k={k}, t=10")
    return FigureOutput(
        fig,
        {"taus": np.asarray(m.grid), "kl": m.kl, "test_t1": m.test_t1, "test_t10": m.test_t10},
        {**m.sizes.as_dict(), "eta": 1.0},
        "merger-goldt/early-stopping: interior optimal training time for N<d (dotted: test error at t=10).",
        seed=m.seeds,
    )
