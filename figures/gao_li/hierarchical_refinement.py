r"""Figures of claim ``gao-li/hierarchical-refinement``: clusters are resolved before points."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.gao_li.hierarchical_refinement import HIERARCHICAL, gap_resolution_times, resolution_paths


@figure(
    "gao-li/fig-weight-concentration",
    "Max posterior weight and terminal-cluster mass along exact trajectories",
    claims=("gao-li/hierarchical-refinement", "gao-li/pair-resolution-time"),
)
def weight_concentration(run: RunSpec) -> FigureOutput:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    out: dict[str, np.ndarray] = {}
    for ax, name in zip(axes, ("clustered", "sparse-sphere")):
        paths = resolution_paths(run, name)
        out["t"] = paths.grid
        for vals, lab, col in ((paths.w_max, "max_i w_i", "C0"), (paths.w_cluster, "terminal-cluster mass", "C3")):
            q10, q50, q90 = np.quantile(vals, [0.1, 0.5, 0.9], axis=1)
            ax.fill_between(paths.grid, q10, q90, color=col, alpha=0.25)
            ax.plot(paths.grid, q50, color=col, label=f"{lab} (median, 10-90%)")
            out[f"{name}_{lab.split()[0]}_quantiles"] = np.stack([q10, q50, q90])
        t_inter, t_intra = gap_resolution_times(name)
        if np.isfinite(t_intra):
            ax.axvline(t_intra, color="k", ls="--", lw=0.8, label="t_0.99(intra gap)")
        ax.axvline(t_inter, color="k", ls=":", lw=0.8, label="t_0.99(inter gap)")
        ax.set_title(name)
        ax.set_xlabel("t")
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("weight")
    n = run.sizes(HIERARCHICAL).starts
    caption = (
        f"Median and 10-90% band over {n} exact trajectories (the gao-li/hierarchical-refinement measurement) of "
        "the largest posterior weight and of the mass on the terminal cluster. Dashed/dotted: resolution times "
        "t_0.99 of the median intra/inter-cluster gaps (gao-li/pair-resolution-time). Clustered data resolve the "
        "cluster long before the point."
    )
    return FigureOutput(fig, out, {"n_starts": n}, caption, seed=run.seed_for(22))
