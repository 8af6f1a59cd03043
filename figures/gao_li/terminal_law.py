r"""Figures of claim ``gao-li/terminal-law``: where the exact flow lands: uniform over the training points."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.datasets import dataset
from numerics.empirical_field import integrate_flow
from numerics.experiments import RunSpec
from numerics.experiments.gao_li import flow_paths, nearest


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
    path = flow_paths(run)[0]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    out: dict[str, np.ndarray] = {"grid": xs}
    for ax, name in zip(axes, ("toy2d-sparse", "toy2d-clustered")):
        data = dataset(name)
        mc = path.sample_source(run.rng(31), 20000 if run.full else 4000, data)
        land = nearest(integrate_flow(pts, data, path), path.alpha1 * data)[1]
        land_mc = nearest(integrate_flow(mc, data, path), path.alpha1 * data)[1]
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
