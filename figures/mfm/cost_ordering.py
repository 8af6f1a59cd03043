"""Figure of ``mfm/coupling-cost-ordering``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.mfm._style import EXACT_LABELS
from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.mfm import cost_ordering as exp

OTHERS = {"stable": "Stable", "condot": "CondOT", "random_perm": "random permutation", "eot_plan": "EOT plan"}


@figure(
    "mfm/fig-coupling-pairs",
    "One minibatch (k = 64) of 8-Gaussians paired by each coupling, and every batch's cost above BatchOT's",
    claims=("mfm/coupling-cost-ordering",),
)
def fig_coupling_pairs(run: RunSpec) -> FigureOutput:
    m = exp.cost_ordering(run)
    ex = m.example
    k = len(ex.x0)
    fig, axes = plt.subplots(1, len(ex.pairs) + 1, figsize=(20, 4.2))
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
    ax = axes[-1]
    for name, label in OTHERS.items():
        excess = m.costs[name] - m.costs["batchot"]
        data[f"excess_{name}"] = excess
        ax.hist(excess, bins=40, histtype="step", label=label)
    ax.axvline(0.0, color="k", lw=0.8)
    ax.set_xlabel("c(coupling) - c(BatchOT), per batch")
    ax.set_title(f"{len(m.costs['batchot'])} batches of k = {k}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    caption = (
        f"Left: one batch of k = {k} noise points and 8-Gaussians data points (seed 46); segments join the pairs "
        "chosen by each coupling, with the mean squared pair length. Right: over every batch mfm/coupling-cost-ordering "
        "judges, each coupling's mean pair cost minus BatchOT's, never below 0 (BatchOT minimises the cost on "
        "every batch)."
    )
    return FigureOutput(fig, data, m.provenance(), caption, dict(m.seeds))
