"""Figures of the `gao-li/` paper (one function per figure): the exact flow of an empirical target.

None of the paper's figures is available; these are the proposed equivalents of spec
``gao_li.md`` §4 (plus the basin map of the exact flow). Where a figure shows what a check
judges, it plots that check's measurement from :mod:`numerics.experiments.gao_li` (same run,
same seeds, computed once).
"""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.datasets import dataset, embedded_dataset
from numerics.empirical_field import integrate_flow
from numerics.experiments import RunSpec
from numerics.experiments import gao_li as exp
from numerics.paths import as_path
from numerics.subspace import subspace_basis

_COLORS = plt.get_cmap("tab10")


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
        land = exp.nearest(sol.x_end, data)[1]
        for k, t in enumerate((0.25, 0.5, 0.75)):
            dens = exp.mixture_density(pts, np.full(pts.shape[0], t), data, ot_path).reshape(gx.shape)
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
    return FigureOutput(fig, data_out, {"n_starts": 64, "sigma_min": 0.0}, caption, seed=run.seed_for(30))


@figure(
    "gao-li/fig-basin-map",
    "Basins of the exact flow: which training point each prior point lands on",
    claims=("gao-li/terminal-law", "gao-li/memorization"),
)
def basin_map(run: RunSpec) -> FigureOutput:
    n_side = 121 if run.full else 61
    xs = np.linspace(-3.5, 3.5, n_side)
    gx, gy = np.meshgrid(xs, xs)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    path = exp.flow_paths(run)[0]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    out: dict[str, np.ndarray] = {"grid": xs}
    for ax, name in zip(axes, ("toy2d-sparse", "toy2d-clustered")):
        data = dataset(name)
        mc = path.sample_source(run.rng(31), 20000 if run.full else 4000, data)
        land = exp.nearest(integrate_flow(pts, data, path), path.alpha1 * data)[1]
        land_mc = exp.nearest(integrate_flow(mc, data, path), path.alpha1 * data)[1]
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
        ax.set_title(f"{name}, {path.label}: basins (1/N = {1 / data.shape[0]:.3f})", fontsize=10)
        out[f"{name}_basin"] = land.reshape(gx.shape)
        out[f"{name}_mass"] = mass
        out[f"{name}_mass_se"] = se
    caption = (
        f"Prior plane coloured by the training point the exact flow ({path.label}) carries each start to; the "
        "annotation is the Monte Carlo mass of each basin under the path's source, with its standard error, equal "
        "to 1/N (gao-li/terminal-law, gao-li/memorization). Basins of clustered points are thin wedges."
    )
    params = {"grid_side": n_side, "mc_starts": mc.shape[0], "path": path.record()}
    return FigureOutput(fig, out, params, caption, seed=run.seed_for(31))


@figure(
    "gao-li/fig-weight-concentration",
    "Max posterior weight and terminal-cluster mass along exact trajectories",
    claims=("gao-li/hierarchical-refinement", "gao-li/pair-resolution-time"),
)
def weight_concentration(run: RunSpec) -> FigureOutput:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    out: dict[str, np.ndarray] = {}
    for ax, name in zip(axes, ("clustered", "sparse-sphere")):
        paths = exp.resolution_paths(run, name)
        out["t"] = paths.grid
        for vals, lab, col in ((paths.w_max, "max_i w_i", "C0"), (paths.w_cluster, "terminal-cluster mass", "C3")):
            q10, q50, q90 = np.quantile(vals, [0.1, 0.5, 0.9], axis=1)
            ax.fill_between(paths.grid, q10, q90, color=col, alpha=0.25)
            ax.plot(paths.grid, q50, color=col, label=f"{lab} (median, 10-90%)")
            out[f"{name}_{lab.split()[0]}_quantiles"] = np.stack([q10, q50, q90])
        t_inter, t_intra = exp.gap_resolution_times(name)
        if np.isfinite(t_intra):
            ax.axvline(t_intra, color="k", ls="--", lw=0.8, label="t_0.99(intra gap)")
        ax.axvline(t_inter, color="k", ls=":", lw=0.8, label="t_0.99(inter gap)")
        ax.set_title(name)
        ax.set_xlabel("t")
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("weight")
    n = run.sizes(exp.HIERARCHICAL).starts
    caption = (
        f"Median and 10-90% band over {n} exact trajectories (the gao-li/hierarchical-refinement measurement) of "
        "the largest posterior weight and of the mass on the terminal cluster. Dashed/dotted: resolution times "
        "t_0.99 of the median intra/inter-cluster gaps (gao-li/pair-resolution-time). Clustered data resolve the "
        "cluster long before the point."
    )
    return FigureOutput(fig, out, {"n_starts": n}, caption, seed=run.seed_for(22))


@figure(
    "gao-li/fig-off-subspace-decay",
    "Off-subspace norm along the exact flow against sigma_t",
    claims=("gao-li/off-subspace-decay",),
)
def off_subspace_decay(run: RunSpec) -> FigureOutput:
    m = exp.off_subspace_decay(run)
    sub = subspace_basis(dataset("sparse-d20"))
    norm0 = np.linalg.norm(sub.off(m.x0), axis=1)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    out: dict[str, np.ndarray] = {}
    names = [f"sigma_min={s}" for s in exp.SIGMA_MINS] if run.path is None else list(m.labels)
    keys = [f"smin{s}" for s in exp.SIGMA_MINS] if run.path is None else ["path"]
    for k, (path, flow, name, key) in enumerate(zip(exp.flow_paths(run), m.flows, names, keys)):
        col = f"C{3 * k}"
        ratio = np.linalg.norm(sub.off(flow.grid_states), axis=2) / norm0[None]
        at_stops = np.linalg.norm(sub.off(flow.states), axis=2) / norm0[None]
        ax.plot(flow.grid, ratio.mean(axis=1), color=col, label=f"plain DOP853 flow, {name} (mean)")
        ax.plot(flow.times, at_stops.mean(axis=1), "o", color=col, ms=4, label=f"judged stop times, {name}")
        ax.plot(flow.grid, path.off_subspace_factor(flow.grid), "k", ls="-" if k == 0 else "--", lw=0.6)
        out[f"t_{key}"] = flow.grid
        out[f"ratio_{key}"] = ratio
        out[f"ratio_at_stops_{key}"] = at_stops
    ax.plot([], [], "k", lw=0.6, label="sigma_t / sigma_0 (solid: " + ", dashed: ".join(names) + ")")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("|x_perp(t)| / |x_perp(0)|")
    ax.legend(fontsize=7)
    caption = (
        "Off-subspace norm of exact-field trajectories on sparse-d20, integrated in t by SciPy DOP853 without an "
        "exactly integrated linear part (the gao-li/off-subspace-decay measurement), divided by its initial value: "
        "it lies on sigma_t/sigma_0. Markers: the stop times the check judges. Learned-field (OSDNet) curves are drawn "
        "with the learned-model figures."
    )
    n = run.sizes(exp.OFF_SUBSPACE_DECAY).starts
    return FigureOutput(fig, out, {"starts": n}, caption, seed=run.seed_for(18))


@figure(
    "gao-li/fig-memorization-distance",
    "Distance to the nearest training point near t = 1, and landing distances",
    claims=("gao-li/memorization", "gao-li/terminal-law"),
)
def memorization_distance(run: RunSpec) -> FigureOutput:
    data = dataset("sparse-d20")
    n = run.sizes(exp.MEMORIZATION).starts
    x0 = run.rng(15).standard_normal((n, 20))
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
    law = exp.terminal_law(run)
    # a run on one path (memgen figures --path P) has end points on one side only
    land_dist = law.landing_distance if law.end is not None else np.empty(0)
    if law.end is not None:
        axes[1].hist(np.log10(np.maximum(land_dist, 1e-18)), bins=30, color="C0", alpha=0.7, label="sigma_1=0")
        out["landing_distance_smin0"] = land_dist
    if law.end_sigma is not None:
        land_dist_s = exp.nearest(law.end_sigma, data)[0]
        axes[1].hist(np.log10(land_dist_s), bins=30, color="C3", alpha=0.7, label=f"sigma_1={law.sigma_end}")
        out[f"landing_distance_smin{law.sigma_end}"] = land_dist_s
    axes[1].set_xlabel("log10 landing distance min_i |x(1) - x_i|")
    axes[1].legend(fontsize=7)
    caption = (
        f"Left: distance to the nearest training point along the {n} exact trajectories of gao-li/memorization; "
        "slope 1 in 1 - t for sigma_min = 0, plateau ~ sigma_min sqrt(d) for sigma_min = 0.01. Right: landing "
        "distances at t = 1 of the gao-li/terminal-law end points: below 1e-10 (by integration) for sigma_min = 0, "
        "chi-distributed with scale sigma_min for sigma_min = 0.01."
    )
    params = {"n_paths": n, "n_landing": land_dist.size}
    return FigureOutput(fig, out, params, caption, seed=[run.seed_for(15), run.seed_for(16)])


@figure(
    "gao-li/fig-softmax-bound",
    "Monte Carlo Pr[w_j < 1 - eps] against the derived union bound",
    claims=("gao-li/softmax-concentration",),
)
def softmax_bound(run: RunSpec) -> FigureOutput:
    m = exp.softmax_concentration(run)
    eps = 0.01
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    out: dict[str, np.ndarray] = {"t": m.grid}
    for ax, name in zip(axes, ("sparse-d20", "clustered")):
        for case, col in zip([c for c in m.cases if c.dataset == name and c.eps == eps], ("C0", "C3")):
            se = m.se(case.p_hat)
            label = f"sigma_min={case.sigma_min}"
            ax.errorbar(m.grid, case.p_hat, yerr=3 * se, fmt=".", color=col, ms=3, label=f"MC, {label}")
            ax.plot(m.grid, np.minimum(case.bound, 1.0), color=col, lw=1, label=f"union bound, {label}")
            out[f"{name}_smin{case.sigma_min}_mc"] = case.p_hat
            out[f"{name}_smin{case.sigma_min}_bound"] = case.bound
        ax.set_yscale("log")
        ax.set_ylim(1e-6, 1.5)
        ax.set_xlabel("t")
        ax.set_title(f"{name}, eps = {eps}, j = 0")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("Pr[w_j < 1 - eps]")
    caption = (
        f"Monte Carlo probability (error bars 3 SE, M = {m.draws}; the gao-li/softmax-concentration measurement) "
        "that the weight of the conditioning point falls below 1 - eps, against the derived union bound "
        "(stand-in for Theorem D.2); where it is informative the bound exceeds the probability by about sqrt(N-1)."
    )
    return FigureOutput(fig, out, {"eps": eps, "n_draws": m.draws}, caption, seed=run.seed_for(20))


@figure(
    "gao-li/fig-dimension-independence",
    "In-subspace coordinates of one trajectory for d = 20, 200, 2000",
    claims=("gao-li/dimension-independence",),
)
def dimension_independence(run: RunSpec) -> FigureOutput:
    grid = np.linspace(0.0, 1.0, 300)
    c0 = run.rng(25).standard_normal((1, 5))
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    out: dict[str, np.ndarray] = {"t": grid}
    for d, ls, lw in ((20, "-", 2.5), (200, "--", 1.5), (2000, ":", 1.0)):
        data, _, basis = embedded_dataset(d)
        g = run.rng(26).standard_normal((1, d))
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
    return FigureOutput(fig, out, {"r": 5}, caption, seed=run.seed_for(25))


@figure(
    "gao-li/fig-paths-memorization-decay",
    "Memorization and off-subspace decay on the OT, cosine and VP paths",
    claims=("gao-li/memorization-any-path", "gao-li/off-subspace-decay", "gao-li/memorization"),
)
def paths_memorization_decay(run: RunSpec) -> FigureOutput:
    names = exp.LANDING_PATHS
    any_path = exp.memorization_any_path(run)
    data = dataset("sparse-d20")
    sub = subspace_basis(data)
    x0 = run.rng(42).standard_normal((8, 20))
    one_minus_t = np.logspace(-8, -0.05, 120)
    fig, axes = plt.subplots(2, len(names), figsize=(4.2 * len(names), 7.5), sharey="row")
    out: dict[str, np.ndarray] = {"one_minus_t": one_minus_t}
    for k, name in enumerate(names):
        path = as_path(name)
        sol = integrate_flow(x0, data, path, return_path=True, max_step=0.5)
        states = sol.states_at(np.sort(1 - one_minus_t))[::-1]
        dist = np.linalg.norm(states[:, :, None] - path.alpha1 * data[None, None], axis=-1).min(axis=2)
        ax = axes[0, k]
        ax.loglog(one_minus_t, dist, color="C0", lw=0.7, alpha=0.8)
        ax.loglog(one_minus_t, path.sigma(1 - one_minus_t), "k--", lw=0.8, label="sigma_t")
        ax.set_title(f"{path.label}\nbasin counts {any_path.counts[k].tolist()}", fontsize=9)
        ax.set_xlabel("1 - t")
        ax.legend(fontsize=7)
        m = exp.off_subspace_decay(dataclasses.replace(run, path=name))
        flow = m.flows[0]
        decay = np.linalg.norm(sub.off(flow.grid_states), axis=2) / np.linalg.norm(sub.off(m.x0), axis=1)[None]
        ax = axes[1, k]
        ax.semilogy(flow.grid, decay, color="C3", lw=0.7, alpha=0.8)
        ax.semilogy(flow.grid, path.off_subspace_factor(flow.grid), "k--", lw=0.8, label="sigma_t / sigma_0")
        ax.set_xlabel("t")
        ax.legend(fontsize=7)
        out[f"{name}_distance"] = dist
        out[f"{name}_t"] = flow.grid
        out[f"{name}_off_ratio"] = decay
        out[f"{name}_basin_counts"] = any_path.counts[k]
    axes[0, 0].set_ylabel("min_i |x(t) - alpha_1 x_i|")
    axes[1, 0].set_ylabel("|x_perp(t)| / |x_perp(0)|")
    caption = (
        "Top: distance of 8 exact trajectories on sparse-d20 to the nearest training point against 1 - t, for the "
        "OT, cosine and VP paths; after resolution it follows sigma_t (dashed: slope 1 for OT and cosine, 1/2 for "
        "VP), down to the landing (gao-li/memorization, gao-li/memorization-any-path, whose basin counts over "
        f"{int(any_path.counts[0].sum())} starts from each path's source are in the titles). Bottom: the "
        "off-subspace norm of the gao-li/off-subspace-decay measurement on each path (20 starts, plain DOP853 in t), "
        "divided by its initial value, lies on sigma_t/sigma_0."
    )
    params = {"paths": [as_path(n).record() for n in names], "n_paths": x0.shape[0]}
    return FigureOutput(fig, out, params, caption, seed=[run.seed_for(42), run.seed_for(41)])
