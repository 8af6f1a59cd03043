r"""Figures of claim ``gao-li/memorization``: the exact flow lands on training points."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.gao_li._shared import COLORS
from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.gao_li.memorization import (
    FAN_DATASETS,
    FAN_TIMES,
    MEMORIZATION,
    memorization,
    trajectory_fans,
)
from numerics.experiments.gao_li.terminal_law import terminal_law


@figure(
    "gao-li/fig-memorization-distance",
    "Distance to the nearest training point near t = 1, and landing distances",
    claims=("gao-li/memorization", "gao-li/terminal-law"),
)
def memorization_distance(run: RunSpec) -> FigureOutput:
    m = memorization(run)  # the measurement gao-li/memorization judges (same run, same path, same starts)
    n = run.sizes(MEMORIZATION).starts
    one_minus_t = m.one_minus_t
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    out: dict[str, np.ndarray] = {"one_minus_t": one_minus_t}
    for dist, label, key, col in (
        (m.approach_landing, m.landing_path, "landing", "C0"),
        (m.approach_plateau, m.plateau_path, "plateau", "C3"),
    ):
        if dist is None:
            continue
        axes[0].loglog(one_minus_t, dist, color=col, lw=0.6, alpha=0.7)
        axes[0].plot([], [], color=col, label=label)
        out[f"distance_{key}"] = dist
    axes[0].loglog(one_minus_t, one_minus_t, "k--", lw=0.8, label="slope 1")
    if m.plateau_width is not None:
        axes[0].axhline(m.plateau_width, color="C3", ls=":", label="sigma_1 sqrt(d)")
    axes[0].set_xlabel("1 - t")
    axes[0].set_ylabel("min_i |x(t) - alpha_1 x_i|")
    axes[0].legend(fontsize=7)
    law = terminal_law(run)  # the measurement gao-li/terminal-law judges
    # a run on one path (memgen figures --path P) has end points on one side only
    land_dist = law.landing_distance if law.end is not None else np.empty(0)
    if law.end is not None:
        axes[1].hist(np.log10(np.maximum(land_dist, 1e-18)), bins=30, color="C0", alpha=0.7, label="sigma_1=0")
        out["landing_distance_sigma1_0"] = land_dist
    if law.end_sigma is not None:
        land_dist_s = law.landing_distance_sigma
        axes[1].hist(np.log10(land_dist_s), bins=30, color="C3", alpha=0.7, label=f"sigma_1={law.sigma_end:.3g}")
        out[f"landing_distance_sigma1_{law.sigma_end}"] = land_dist_s
    axes[1].set_xlabel("log10 landing distance min_i |x(1) - alpha_1 x_i|")
    axes[1].legend(fontsize=7)
    caption = (
        f"Left: distance to the nearest training point along the {n} exact trajectories of the gao-li/memorization "
        f"measurement (paths: {', '.join(p for p in (m.landing_path, m.plateau_path) if p)}); slope 1 in 1 - t on the "
        "OT path with sigma_1 = 0, plateau ~ sigma_1 sqrt(d) on a path with sigma_1 > 0. Right: landing distances at "
        "t = 1 of the gao-li/terminal-law end points: below 1e-10 (by integration) for sigma_1 = 0, chi-distributed "
        "with scale sigma_1 for sigma_1 > 0."
    )
    params = {"n_paths": n, "n_landing": land_dist.size, "memorization": m.provenance()}
    return FigureOutput(fig, out, params, caption, seed=[m.seeds["starts"], run.seed_for(16)])


@figure(
    "gao-li/fig-paths-sparse-vs-clustered",
    "Exact-flow trajectories, sparse vs clustered 2-D data",
    claims=("gao-li/memorization",),
)
def paths_sparse_vs_clustered(run: RunSpec) -> FigureOutput:
    m = trajectory_fans(run)  # the 2-D paths whose landings gao-li/memorization judges
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    out: dict[str, np.ndarray] = {"x0": m.x0, "t_grid": m.t_grid}
    gx, gy = np.meshgrid(m.grid, m.grid)
    for ax, name in zip(axes, FAN_DATASETS):
        for k, _ in enumerate(FAN_TIMES):
            ax.contour(
                gx, gy, m.density[name][k], levels=4, colors=[plt.get_cmap("Greys")(0.35 + 0.2 * k)], linewidths=0.6
            )
        paths, land = m.paths[name], m.landing[name]
        for j in range(len(m.x0)):
            ax.plot(paths[:, j, 0], paths[:, j, 1], color=COLORS(land[j] % 10), lw=0.8, alpha=0.8)
        data = m.points[name]
        ax.scatter(data[:, 0], data[:, 1], c="k", marker="*", s=80, zorder=5)
        ax.set_title(f"{name} ({len(m.x0)} paths, {m.path_label})", fontsize=10)
        ax.set_aspect("equal")
        ax.set_xlim(m.grid[0], m.grid[-1])
        ax.set_ylim(m.grid[0], m.grid[-1])
        out[f"{name}_paths"] = paths
        out[f"{name}_landing"] = land
    caption = (
        f"Exact optimal-field trajectories ({m.path_label}) for toy2d-sparse and toy2d-clustered, coloured by the "
        f"training point they land on; grey contours: p_t at t = {', '.join(map(str, FAN_TIMES))}. Every path ends "
        "on a training point (judged by gao-li/memorization, to 1e-10); clustered data visibly commit to a cluster "
        "before a point (the hierarchy gao-li/hierarchical-refinement judges on the clustered d = 20 data)."
    )
    params = {"n_starts": len(m.x0), "path": m.settings["path"]}
    return FigureOutput(fig, out, params, caption, seed=run.seed_for(30))
