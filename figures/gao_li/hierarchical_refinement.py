r"""Figures of claim ``gao-li/hierarchical-refinement``: clusters are resolved before points."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.gao_li._shared import COLORS
from figures.registry import FigureOutput, figure
from numerics.datasets import dataset
from numerics.empirical_field import integrate_flow
from numerics.experiments import RunSpec
from numerics.experiments.gao_li import mixture_density, nearest
from numerics.experiments.gao_li.hierarchical_refinement import HIERARCHICAL, gap_resolution_times, resolution_paths
from numerics.paths import as_path


@figure(
    "gao-li/fig-paths-sparse-vs-clustered",
    "Exact-flow trajectories, sparse vs clustered 2-D data",
    claims=("gao-li/hierarchical-refinement", "gao-li/memorization"),
)
def paths_sparse_vs_clustered(run: RunSpec) -> FigureOutput:
    x0 = run.rng(30).standard_normal((64, 2))
    t_grid = np.linspace(0.0, 1.0, 201)
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    data_out: dict[str, np.ndarray] = {"x0": x0, "t_grid": t_grid}
    xs = np.linspace(-4, 4, 161)
    gx, gy = np.meshgrid(xs, xs)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    ot_path = as_path(0.0)  # the figure of the spec: the OT path with sigma_min = 0
    for ax, name in zip(axes, ("toy2d-sparse", "toy2d-clustered")):
        data = dataset(name)
        sol = integrate_flow(x0, data, ot_path, return_path=True, max_step=0.5)
        paths = sol.states_at(t_grid)
        land = nearest(sol.x_end, data)[1]
        for k, t in enumerate((0.25, 0.5, 0.75)):
            dens = mixture_density(pts, np.full(pts.shape[0], t), data, ot_path).reshape(gx.shape)
            ax.contour(gx, gy, dens, levels=4, colors=[plt.get_cmap("Greys")(0.35 + 0.2 * k)], linewidths=0.6)
        for m in range(x0.shape[0]):
            ax.plot(paths[:, m, 0], paths[:, m, 1], color=COLORS(land[m] % 10), lw=0.8, alpha=0.8)
        ax.scatter(data[:, 0], data[:, 1], c="k", marker="*", s=80, zorder=5)
        ax.set_title(f"{name} (64 paths, sigma_min = 0)", fontsize=10)
        ax.set_aspect("equal")
        ax.set_xlim(-4, 4)
        ax.set_ylim(-4, 4)
        data_out[f"{name}_paths"] = paths
        data_out[f"{name}_landing"] = land
    caption = (
        "Exact optimal-field trajectories (sigma_min = 0) for toy2d-sparse and toy2d-clustered, coloured by the "
        "training point they land on; grey contours: p_t at t = 0.25, 0.5, 0.75. Clustered data commit to a "
        "cluster first, then to a point (gao-li/hierarchical-refinement); every path ends on a training point "
        "(gao-li/memorization)."
    )
    return FigureOutput(fig, data_out, {"n_starts": 64, "sigma_min": 0.0}, caption, seed=run.seed_for(30))


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
