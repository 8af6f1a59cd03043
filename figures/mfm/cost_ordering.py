"""Figure of ``mfm/coupling-cost-ordering``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.mfm._style import EXACT_LABELS
from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.mfm import cost_ordering as exp


@figure(
    "mfm/fig-coupling-pairs",
    "One minibatch (k = 64) of 8-Gaussians paired by each coupling",
    claims=("mfm/coupling-cost-ordering", "mfm/lemma-4.1-marginals"),
)
def fig_coupling_pairs(run: RunSpec) -> FigureOutput:
    k = 64
    ex = exp.coupling_example(run, k)
    fig, axes = plt.subplots(1, len(ex.pairs), figsize=(16, 4.2), sharex=True, sharey=True)
    data: dict[str, np.ndarray] = {"x0": ex.x0, "x1": ex.x1}
    for ax, (name, (i, j)) in zip(axes, ex.pairs.items()):
        data[f"pairs_{name}"] = np.stack([i, j])
        for a, b in zip(i, j):
            ax.plot([ex.x0[a, 0], ex.x1[b, 0]], [ex.x0[a, 1], ex.x1[b, 1]], color="0.6", lw=0.7, zorder=1)
        ax.scatter(*ex.x0.T, s=10, c="tab:blue", label="noise x0", zorder=2)
        ax.scatter(*ex.x1.T, s=10, c="tab:red", label="data x1", zorder=2)
        ax.set_title(f"{EXACT_LABELS[name]}\ncost {ex.cost[name]:.2f}", fontsize=10)
        ax.set_aspect("equal")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    caption = (
        "One batch of k = 64 noise points and 8-Gaussians data points; segments join the pairs chosen by "
        "each coupling, with the mean squared pair length. BatchOT has the lowest cost "
        "(mfm/coupling-cost-ordering); every coupling uses each noise point once and exact couplings use "
        "each data point once (mfm/lemma-4.1-marginals)."
    )
    return FigureOutput(fig, data, {"k": k, "eps_rel": 0.05}, caption, run.seed_for(46))
