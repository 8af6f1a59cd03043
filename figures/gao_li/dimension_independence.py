r"""Figures of claim ``gao-li/dimension-independence``: the in-subspace flow does not depend on the ambient dimension."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.gao_li._shared import COLORS
from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.gao_li.dimension_independence import dimension_independence


@figure(
    "gao-li/fig-dimension-independence",
    "In-subspace coordinates of one trajectory for d = 20, 200, 2000",
    claims=("gao-li/dimension-independence",),
)
def fig_dimension_independence(run: RunSpec) -> FigureOutput:
    m = dimension_independence(run)  # the measurement gao-li/dimension-independence judges
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    out: dict[str, np.ndarray] = {"t": m.grid}
    styles = ("-", "--", ":", "-.")
    for j, (d, c) in enumerate(zip(m.dims, m.grid_coords)):
        lw = max(1.0, 2.5 - 0.75 * j)
        for k in range(c.shape[2]):
            ax.plot(m.grid, c[:, 0, k], ls=styles[j % 4], lw=lw, color=COLORS(k), label=f"d={d}" if k == 0 else None)
        out[f"coords_d{d}"] = c[:, 0]
    ax.set_xlabel("t")
    ax.set_ylabel("U_d^T x(t) (5 coordinates)")
    ax.legend(fontsize=7)
    caption = (
        f"In-subspace coordinates of the first of the {m.sizes.starts} exact trajectories of the "
        f"gao-li/dimension-independence measurement ({m.label}): the same in-subspace start and the same 5-D data "
        f"coordinates embedded in d = {', '.join(map(str, m.dims))}; the curves coincide."
    )
    return FigureOutput(fig, out, {"r": 5, "measurement": m.provenance()}, caption, seed=m.seeds)
