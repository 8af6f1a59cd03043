r"""Figures of claim ``gao-li/terminal-law``: where the exact flow lands: uniform over the training points."""

from __future__ import annotations

import matplotlib.pyplot as plt

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.gao_li.terminal_law import BASIN_DATASETS, basins


@figure(
    "gao-li/fig-basin-map",
    "Basins of the exact flow: which training point each prior point lands on",
    claims=("gao-li/terminal-law",),
)
def basin_map(run: RunSpec) -> FigureOutput:
    m = basins(run)
    xs = m.grid
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    out = {"grid": xs}
    for ax, name in zip(axes, BASIN_DATASETS):
        data = m.points[name]
        mass, se = m.mass(name)
        ax.imshow(
            m.grid_landing[name] % 10,
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
        ax.set_title(f"{name}, {m.path_label}: basins (1/N = {1 / data.shape[0]:.3f})", fontsize=10)
        out[f"{name}_basin"] = m.grid_landing[name]
        out[f"{name}_mass"] = mass
        out[f"{name}_mass_se"] = se
    caption = (
        f"Prior plane coloured by the training point the exact flow ({m.path_label}) carries each start to; the "
        "annotation is the Monte Carlo mass of each basin under the path's source, with its standard error: "
        "gao-li/terminal-law judges these masses uniform (chi-square) and every end point on a training point. "
        "Basins of clustered points are thin wedges."
    )
    return FigureOutput(
        fig, out, {**m.provenance()["sizes"], "path": m.settings["path"]}, caption, seed=run.seed_for(31)
    )
