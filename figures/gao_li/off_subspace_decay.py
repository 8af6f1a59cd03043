r"""Figures of claim ``gao-li/off-subspace-decay``: the off-subspace part decays like sigma_t along the exact flow."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.datasets import dataset
from numerics.experiments import RunSpec
from numerics.experiments.gao_li import SIGMA_MINS, flow_paths
from numerics.experiments.gao_li.off_subspace_decay import OFF_SUBSPACE_DECAY, off_subspace_decay
from numerics.subspace import subspace_basis


@figure(
    "gao-li/fig-off-subspace-decay",
    "Off-subspace norm along the exact flow against sigma_t",
    claims=("gao-li/off-subspace-decay",),
)
def fig_off_subspace_decay(run: RunSpec) -> FigureOutput:
    m = off_subspace_decay(run)
    sub = subspace_basis(dataset("sparse-d20"))
    norm0 = np.linalg.norm(sub.off(m.x0), axis=1)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    out: dict[str, np.ndarray] = {}
    names = [f"sigma_min={s}" for s in SIGMA_MINS] if run.path is None else list(m.labels)
    keys = [f"smin{s}" for s in SIGMA_MINS] if run.path is None else ["path"]
    for k, (path, flow, name, key) in enumerate(zip(flow_paths(run), m.flows, names, keys)):
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
    n = run.sizes(OFF_SUBSPACE_DECAY).starts
    return FigureOutput(fig, out, {"starts": n}, caption, seed=run.seed_for(18))
