"""Figures of the `gao-li/` paper (one function per figure): the exact flow of an empirical target.

None of the paper's figures is available; these are the proposed equivalents of spec
``gao_li.md`` §4 (plus the basin map of the exact flow).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureContext, FigureOutput, figure
from numerics.flow_matching import integrate_flow, posterior_weights, sigma_t
from numerics.gao_li_data import cluster_labels, dataset, embedded_dataset, subspace_basis
from theory.flow_matching import pair_resolution_time_fn

_COLORS = plt.get_cmap("tab10")


def _mixture_density(grid: np.ndarray, t: float, data: np.ndarray) -> np.ndarray:
    sig = float(sigma_t(t))
    sq = ((grid[:, None, :] - t * data[None]) ** 2).sum(-1)
    return np.exp(-sq / (2 * sig**2)).mean(axis=1) / (2 * np.pi * sig**2)


def _landing(end: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.linalg.norm(end[:, None] - data[None], axis=-1)
    return d.argmin(axis=1), d.min(axis=1)


@figure(
    "gao-li/fig-paths-sparse-vs-clustered",
    "Exact-flow trajectories, sparse vs clustered 2-D data",
    claims=("gao-li/hierarchical-refinement", "gao-li/memorization"),
)
def paths_sparse_vs_clustered(ctx: FigureContext) -> FigureOutput:
    x0 = ctx.rng(30).standard_normal((64, 2))
    t_grid = np.linspace(0.0, 1.0, 201)
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    data_out: dict[str, np.ndarray] = {"x0": x0, "t_grid": t_grid}
    xs = np.linspace(-4, 4, 161)
    gx, gy = np.meshgrid(xs, xs)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    for ax, name in zip(axes, ("toy2d-sparse", "toy2d-clustered")):
        data = dataset(name)
        sol = integrate_flow(x0, data, 0.0, return_path=True, max_step=0.5)
        paths = sol.states_at(t_grid)
        land, _ = _landing(sol.x_end, data)
        for k, t in enumerate((0.25, 0.5, 0.75)):
            dens = _mixture_density(pts, t, data).reshape(gx.shape)
            ax.contour(gx, gy, dens, levels=4, colors=[plt.get_cmap("Greys")(0.35 + 0.2 * k)], linewidths=0.6)
        for m in range(x0.shape[0]):
            ax.plot(paths[:, m, 0], paths[:, m, 1], color=_COLORS(land[m] % 10), lw=0.8, alpha=0.8)
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
    return FigureOutput(fig, data_out, {"n_starts": 64, "sigma_min": 0.0}, caption, seed=ctx.seed_for(30))


@figure(
    "gao-li/fig-basin-map",
    "Basins of the exact flow: which training point each prior point lands on",
    claims=("gao-li/terminal-law", "gao-li/memorization"),
)
def basin_map(ctx: FigureContext) -> FigureOutput:
    n_side = 121 if ctx.full else 61
    xs = np.linspace(-3.5, 3.5, n_side)
    gx, gy = np.meshgrid(xs, xs)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    mc = ctx.rng(31).standard_normal((20000 if ctx.full else 4000, 2))
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    out: dict[str, np.ndarray] = {"grid": xs}
    for ax, name in zip(axes, ("toy2d-sparse", "toy2d-clustered")):
        data = dataset(name)
        land, _ = _landing(integrate_flow(pts, data, 0.0), data)
        land_mc, _ = _landing(integrate_flow(mc, data, 0.0), data)
        mass = np.bincount(land_mc, minlength=data.shape[0]) / mc.shape[0]
        se = np.sqrt(mass * (1 - mass) / mc.shape[0])
        ax.imshow(
            land.reshape(gx.shape) % 10,
            origin="lower",
            extent=(xs[0], xs[-1], xs[0], xs[-1]),
            cmap="tab10",
            vmin=0,
            vmax=9,
            alpha=0.55,
            interpolation="nearest",
        )
        ax.scatter(data[:, 0], data[:, 1], c="k", marker="*", s=60)
        for i, p in enumerate(data):
            ax.annotate(str(i), p, fontsize=7, xytext=(3, 3), textcoords="offset points")
        table = "\n".join(f"{i}: {mass[i]:.3f} ± {se[i]:.3f}" for i in range(data.shape[0]))
        ax.text(
            0.02,
            0.02,
            "basin mass\n" + table,
            transform=ax.transAxes,
            fontsize=6,
            va="bottom",
            bbox={"facecolor": "white", "alpha": 0.8, "lw": 0},
        )
        ax.set_title(f"{name}: basins (1/N = {1 / data.shape[0]:.3f})", fontsize=10)
        out[f"{name}_basin"] = land.reshape(gx.shape)
        out[f"{name}_mass"] = mass
        out[f"{name}_mass_se"] = se
    caption = (
        "Prior plane coloured by the training point the exact flow (sigma_min = 0) carries each start to; the "
        "annotation is the Monte Carlo Gaussian mass of each basin with its standard error, equal to 1/N "
        "(gao-li/terminal-law, gao-li/memorization). Basins of clustered points are thin wedges."
    )
    return FigureOutput(fig, out, {"grid_side": n_side, "mc_starts": mc.shape[0]}, caption, seed=ctx.seed_for(31))


@figure(
    "gao-li/fig-weight-concentration",
    "Max posterior weight and terminal-cluster mass along exact trajectories",
    claims=("gao-li/hierarchical-refinement", "gao-li/pair-resolution-time"),
)
def weight_concentration(ctx: FigureContext) -> FigureOutput:
    x0 = ctx.rng(22).standard_normal((200, 20))
    grid = np.linspace(0.0, 0.999, 500)
    t_fn = pair_resolution_time_fn()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    out: dict[str, np.ndarray] = {"t": grid}
    for ax, name in zip(axes, ("clustered", "sparse-sphere")):
        data, labels = dataset(name), cluster_labels(name)
        sol = integrate_flow(x0, data, 0.0, return_path=True, max_step=0.5)
        land, _ = _landing(sol.x_end, data)
        states = sol.states_at(grid)
        k, m, d = states.shape
        w = posterior_weights(states.reshape(k * m, d), np.repeat(grid, m), data).reshape(k, m, -1)
        w_max = w.max(axis=2)
        member = (labels[None, :] == labels[land][:, None]).astype(float)
        w_cluster = np.einsum("kmn,mn->km", w, member)
        for vals, lab, col in ((w_max, "max_i w_i", "C0"), (w_cluster, "terminal-cluster mass", "C3")):
            q10, q50, q90 = np.quantile(vals, [0.1, 0.5, 0.9], axis=1)
            ax.fill_between(grid, q10, q90, color=col, alpha=0.25)
            ax.plot(grid, q50, color=col, label=f"{lab} (median, 10-90%)")
            out[f"{name}_{lab.split()[0]}_quantiles"] = np.stack([q10, q50, q90])
        dist = np.linalg.norm(data[:, None] - data[None], axis=-1)
        np.fill_diagonal(dist, np.inf)
        same = labels[:, None] == labels[None, :]
        if np.any(same & np.isfinite(dist)):
            intra = float(np.median(np.where(same, dist, np.inf).min(axis=1)))
            ax.axvline(float(t_fn(intra, 0.0)), color="k", ls="--", lw=0.8, label="t_0.99(intra gap)")
        inter = float(np.median(np.where(~same, dist, np.inf).min(axis=1)))
        ax.axvline(float(t_fn(inter, 0.0)), color="k", ls=":", lw=0.8, label="t_0.99(inter gap)")
        ax.set_title(name)
        ax.set_xlabel("t")
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("weight")
    caption = (
        "Median and 10-90% band over 200 exact trajectories of the largest posterior weight and of the mass on "
        "the terminal cluster. Dashed/dotted: resolution times t_0.99 of the median intra/inter-cluster gaps "
        "(gao-li/pair-resolution-time). Clustered data resolve the cluster long before the point "
        "(gao-li/hierarchical-refinement)."
    )
    return FigureOutput(fig, out, {"n_starts": 200}, caption, seed=ctx.seed_for(22))


@figure(
    "gao-li/fig-off-subspace-decay",
    "Off-subspace norm along the exact flow against sigma_t",
    claims=("gao-li/off-subspace-decay", "gao-li/dimension-independence"),
)
def off_subspace_decay(ctx: FigureContext) -> FigureOutput:
    grid = np.linspace(0.0, 0.999, 300)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    out: dict[str, np.ndarray] = {"t": grid}
    rng = ctx.rng(18)
    for d, ls in ((20, "-"), (200, "--"), (2000, ":")):
        data, _, basis = embedded_dataset(d)
        x0 = rng.standard_normal((10, d))
        sol = integrate_flow(x0, data, 0.0, return_path=True, max_step=0.5)
        states = sol.states_at(grid)
        perp = states - states @ basis @ basis.T
        perp0 = x0 - x0 @ basis @ basis.T
        ratio = np.linalg.norm(perp, axis=2) / np.linalg.norm(perp0, axis=1)[None]
        ax.plot(grid, ratio.mean(axis=1), ls=ls, label=f"exact flow, d={d}, sigma_min=0")
        out[f"ratio_d{d}"] = ratio
    data = dataset("sparse-d20")
    basis, _ = subspace_basis(data)
    x0 = rng.standard_normal((10, 20))
    sol = integrate_flow(x0, data, 0.01, return_path=True, max_step=0.5)
    states = sol.states_at(grid)
    ratio = (
        np.linalg.norm(states - states @ basis @ basis.T, axis=2)
        / np.linalg.norm(x0 - x0 @ basis @ basis.T, axis=1)[None]
    )
    ax.plot(grid, ratio.mean(axis=1), label="exact flow, sparse-d20, sigma_min=0.01")
    ax.plot(grid, sigma_t(grid, 0.0), "k", lw=0.6, label="sigma_t (sigma_min=0)")
    ax.plot(grid, sigma_t(grid, 0.01), "k--", lw=0.6, label="sigma_t (sigma_min=0.01)")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("|x_perp(t)| / |x_perp(0)|")
    ax.legend(fontsize=7)
    out["ratio_sparse_d20_smin0.01"] = ratio
    caption = (
        "Off-subspace norm of exact-flow trajectories divided by its initial value: it lies on sigma_t for every "
        "ambient dimension (gao-li/off-subspace-decay, gao-li/dimension-independence). Learned-field (OSDNet) "
        "curves are drawn with the learned-model figures."
    )
    return FigureOutput(fig, out, {"starts_per_curve": 10}, caption, seed=ctx.seed_for(18))


@figure(
    "gao-li/fig-memorization-distance",
    "Distance to the nearest training point near t = 1, and landing distances",
    claims=("gao-li/memorization", "gao-li/terminal-law"),
)
def memorization_distance(ctx: FigureContext) -> FigureOutput:
    data = dataset("sparse-d20")
    x0 = ctx.rng(15).standard_normal((20, 20))
    one_minus_t = np.logspace(-8, -0.3, 120)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    out: dict[str, np.ndarray] = {"one_minus_t": one_minus_t}
    for smin, col in ((0.0, "C0"), (0.01, "C3")):
        sol = integrate_flow(x0, data, smin, return_path=True, max_step=0.5)
        states = sol.states_at(np.sort(1 - one_minus_t))[::-1]
        dist = np.linalg.norm(states[:, :, None] - data[None, None], axis=-1).min(axis=2)
        axes[0].loglog(one_minus_t, dist, color=col, lw=0.6, alpha=0.7)
        axes[0].plot([], [], color=col, label=f"sigma_min={smin}")
        out[f"dist_smin{smin}"] = dist
    axes[0].loglog(one_minus_t, one_minus_t, "k--", lw=0.8, label="slope 1")
    axes[0].axhline(0.01 * np.sqrt(20), color="C3", ls=":", label="sigma_min sqrt(d)")
    axes[0].set_xlabel("1 - t")
    axes[0].set_ylabel("min_i |x(t) - x_i|")
    axes[0].legend(fontsize=7)
    x_many = ctx.rng(16).standard_normal((2000 if ctx.full else 500, 20))
    _, land_dist = _landing(integrate_flow(x_many, data, 0.0), data)
    _, land_dist_s = _landing(integrate_flow(x_many, data, 0.01), data)
    axes[1].hist(np.log10(np.maximum(land_dist, 1e-18)), bins=30, color="C0", alpha=0.7, label="sigma_min=0")
    axes[1].hist(np.log10(land_dist_s), bins=30, color="C3", alpha=0.7, label="sigma_min=0.01")
    axes[1].set_xlabel("log10 landing distance min_i |x(1) - x_i|")
    axes[1].legend(fontsize=7)
    out["landing_distance_smin0"] = land_dist
    out["landing_distance_smin0.01"] = land_dist_s
    caption = (
        "Left: distance to the nearest training point along 20 exact trajectories; slope 1 in 1 - t for "
        "sigma_min = 0 (gao-li/memorization), plateau ~ sigma_min sqrt(d) for sigma_min = 0.01. Right: histogram "
        "of landing distances at t = 1: below 1e-10 (by integration) for sigma_min = 0, chi-distributed with "
        "scale sigma_min for sigma_min = 0.01 (gao-li/terminal-law)."
    )
    return FigureOutput(fig, out, {"n_paths": 20, "n_landing": x_many.shape[0]}, caption, seed=ctx.seed_for(15))


@figure(
    "gao-li/fig-softmax-bound",
    "Monte Carlo Pr[w_j < 1 - eps] against the derived union bound",
    claims=("gao-li/softmax-concentration",),
)
def softmax_bound(ctx: FigureContext) -> FigureOutput:
    from proofs_checks.gao_li import concentration_bound

    grid = np.linspace(0.02, 0.99, 50)
    eps, j, n_draws = 0.01, 0, 20000
    rng = ctx.rng(20)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    out: dict[str, np.ndarray] = {"t": grid}
    for ax, name in zip(axes, ("sparse-d20", "clustered")):
        data = dataset(name)
        gaps = np.linalg.norm(data - data[j], axis=1)[1:]
        z = rng.standard_normal((n_draws, data.shape[1]))
        for smin, col in ((0.0, "C0"), (0.01, "C3")):
            p_hat, bound = [], []
            for t in grid:
                sig = float(sigma_t(t, smin))
                w = posterior_weights(t * data[j] + sig * z, t, data, smin)[:, j]
                p_hat.append(np.mean(w < 1 - eps))
                bound.append(float(concentration_bound(t * gaps / sig, eps, data.shape[0])))
            p_hat, bound = np.array(p_hat), np.array(bound)
            se = np.sqrt(p_hat * (1 - p_hat) / n_draws)
            ax.errorbar(grid, p_hat, yerr=3 * se, fmt=".", color=col, ms=3, label=f"MC, sigma_min={smin}")
            ax.plot(grid, np.minimum(bound, 1.0), color=col, lw=1, label=f"union bound, sigma_min={smin}")
            out[f"{name}_smin{smin}_mc"] = p_hat
            out[f"{name}_smin{smin}_bound"] = bound
        ax.set_yscale("log")
        ax.set_ylim(1e-6, 1.5)
        ax.set_xlabel("t")
        ax.set_title(f"{name}, eps = {eps}, j = 0")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("Pr[w_j < 1 - eps]")
    caption = (
        "Monte Carlo probability (error bars 3 SE, M = 20000) that the weight of the conditioning point falls "
        "below 1 - eps, against the derived union bound (stand-in for Theorem D.2, gao-li/softmax-concentration)."
    )
    return FigureOutput(fig, out, {"eps": eps, "n_draws": n_draws}, caption, seed=ctx.seed_for(20))


@figure(
    "gao-li/fig-dimension-independence",
    "In-subspace coordinates of one trajectory for d = 20, 200, 2000",
    claims=("gao-li/dimension-independence",),
)
def dimension_independence(ctx: FigureContext) -> FigureOutput:
    grid = np.linspace(0.0, 1.0, 300)
    c0 = ctx.rng(25).standard_normal((1, 5))
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    out: dict[str, np.ndarray] = {"t": grid}
    for d, ls, lw in ((20, "-", 2.5), (200, "--", 1.5), (2000, ":", 1.0)):
        data, coords, basis = embedded_dataset(d)
        g = ctx.rng(26).standard_normal((1, d))
        x0 = c0 @ basis.T + g - g @ basis @ basis.T
        sol = integrate_flow(x0, data, 0.0, return_path=True, max_step=0.5)
        c = sol.states_at(grid)[:, 0] @ basis
        for k in range(5):
            ax.plot(grid, c[:, k], ls=ls, lw=lw, color=_COLORS(k), label=f"d={d}" if k == 0 else None)
        out[f"coords_d{d}"] = c
    ax.set_xlabel("t")
    ax.set_ylabel("U_d^T x(t) (5 coordinates)")
    ax.legend(fontsize=7)
    caption = (
        "In-subspace coordinates of one exact trajectory from the same in-subspace start, with the same 5-D "
        "data coordinates embedded in d = 20, 200, 2000: the curves coincide (gao-li/dimension-independence)."
    )
    return FigureOutput(fig, out, {"r": 5}, caption, seed=ctx.seed_for(25))
