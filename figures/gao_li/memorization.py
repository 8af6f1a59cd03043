r"""Figures of claim ``gao-li/memorization``: the exact flow lands on training points."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.datasets import dataset
from numerics.empirical_field import integrate_flow
from numerics.experiments import RunSpec
from numerics.experiments.gao_li import nearest
from numerics.experiments.gao_li.memorization import MEMORIZATION
from numerics.experiments.gao_li.terminal_law import terminal_law


@figure(
    "gao-li/fig-memorization-distance",
    "Distance to the nearest training point near t = 1, and landing distances",
    claims=("gao-li/memorization", "gao-li/terminal-law"),
)
def memorization_distance(run: RunSpec) -> FigureOutput:
    data = dataset("sparse-d20")
    n = run.sizes(MEMORIZATION).starts
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
    law = terminal_law(run)
    # a run on one path (memgen figures --path P) has end points on one side only
    land_dist = law.landing_distance if law.end is not None else np.empty(0)
    if law.end is not None:
        axes[1].hist(np.log10(np.maximum(land_dist, 1e-18)), bins=30, color="C0", alpha=0.7, label="sigma_1=0")
        out["landing_distance_smin0"] = land_dist
    if law.end_sigma is not None:
        land_dist_s = nearest(law.end_sigma, data)[0]
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
