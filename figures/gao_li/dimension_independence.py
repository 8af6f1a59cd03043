r"""Figures of claim ``gao-li/dimension-independence``: the in-subspace flow does not depend on the ambient dimension."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.gao_li._shared import COLORS
from figures.registry import FigureOutput, figure
from numerics.datasets import embedded_dataset
from numerics.empirical_field import integrate_flow
from numerics.experiments import RunSpec


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
            ax.plot(grid, c[:, k], ls=ls, lw=lw, color=COLORS(k), label=f"d={d}" if k == 0 else None)
        out[f"coords_d{d}"] = c
    ax.set_xlabel("t")
    ax.set_ylabel("U_d^T x(t) (5 coordinates)")
    ax.legend(fontsize=7)
    caption = (
        "In-subspace coordinates of one exact trajectory from the same in-subspace start, with the same 5-D "
        "data coordinates embedded in d = 20, 200, 2000: the curves coincide (gao-li/dimension-independence)."
    )
    return FigureOutput(fig, out, {"r": 5}, caption, seed=run.seed_for(25))
