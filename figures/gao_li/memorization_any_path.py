r"""Figures of claim ``gao-li/memorization-any-path``: memorization on every built-in path with sigma_1 = 0."""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.datasets import dataset
from numerics.experiments import RunSpec
from numerics.experiments.gao_li.memorization_any_path import LANDING_PATHS, memorization_any_path
from numerics.experiments.gao_li.off_subspace_decay import off_subspace_decay
from numerics.paths import as_path
from numerics.subspace import subspace_basis


@figure(
    "gao-li/fig-paths-memorization-decay",
    "Memorization and off-subspace decay on the OT, cosine and VP paths",
    claims=("gao-li/memorization-any-path", "gao-li/off-subspace-decay"),
)
def paths_memorization_decay(run: RunSpec) -> FigureOutput:
    names = LANDING_PATHS
    any_path = memorization_any_path(run)
    data = dataset("sparse-d20")
    sub = subspace_basis(data)
    one_minus_t = any_path.one_minus_t
    fig, axes = plt.subplots(2, len(names), figsize=(4.2 * len(names), 7.5), sharey="row")
    out: dict[str, np.ndarray] = {"one_minus_t": one_minus_t}
    for k, name in enumerate(names):
        path = as_path(name)
        dist = any_path.approach[k]
        ax = axes[0, k]
        ax.loglog(one_minus_t, dist, color="C0", lw=0.7, alpha=0.8)
        ax.loglog(one_minus_t, path.sigma(1 - one_minus_t), "k--", lw=0.8, label="sigma_t")
        ax.set_title(f"{path.label}\nbasin counts {any_path.counts[k].tolist()}", fontsize=9)
        ax.set_xlabel("1 - t")
        ax.legend(fontsize=7)
        m = off_subspace_decay(dataclasses.replace(run, path=name))
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
        f"Top: distance of the first {dist.shape[1]} exact trajectories of the gao-li/memorization-any-path "
        "measurement on sparse-d20 to the nearest training point against 1 - t, for the OT, cosine and VP paths; "
        "after resolution it follows sigma_t (dashed: slope 1 for OT and cosine, 1/2 for VP), down to the landing "
        f"(basin counts over {int(any_path.counts[0].sum())} starts from each path's source in the titles). Bottom: the "
        "off-subspace norm of the gao-li/off-subspace-decay measurement on each path (20 starts, plain DOP853 in t), "
        "divided by its initial value, lies on sigma_t/sigma_0."
    )
    params = {
        "paths": [as_path(n).record() for n in names],
        "n_paths": dist.shape[1],
        "any_path": any_path.provenance(),
    }
    return FigureOutput(fig, out, params, caption, seed=[any_path.seeds["starts"], run.seed_for(18)])
