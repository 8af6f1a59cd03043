"""Figure of ``mfm/lower-transport-cost-high-dim``."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from figures.mfm._style import COLORS, COUPLING_LABELS, TWO, mean_se
from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.mfm import transport_cost as exp


@figure(
    "mfm/fig-learned-map-cost-vs-dim",
    "Transport cost of learned maps C(psi_1)/c_1 against dimension, CondOT vs BatchOT",
    claims=("mfm/lower-transport-cost-high-dim",),
    slow=True,
)
def fig_learned_map_cost_vs_dim(run: RunSpec) -> FigureOutput:
    sz = run.sizes(exp.COST_VS_DIM)
    m = exp.transport_costs(run, TWO)
    dims = np.array(m.dims)
    c1 = np.array([m.c1[d] for d in m.dims])
    fig, ax = plt.subplots(figsize=(6, 4))
    data: dict[str, Any] = {"d": dims, "c1": c1, "seeds": np.array(sz.seeds)}
    for name in TWO:
        per_dim = [mean_se(m.C[d][name][None, :] / m.c1[d]) for d in m.dims]  # seeds differ per dimension
        mean, se = (np.array([x[i][0] for x in per_dim]) for i in (0, 1))
        data[f"{name}_C_over_c1_mean"], data[f"{name}_C_over_c1_se"] = mean, se
        data[f"{name}_W2_gen_over_floor"] = np.array([m.W2_gen[d][name].mean() / m.floor[d] for d in m.dims])
        ax.errorbar(dims, mean, yerr=se, fmt="o-", color=COLORS[name], label=COUPLING_LABELS[name])
    ax.set_xscale("log", base=2)
    ax.set_xlabel("dimension d")
    ax.set_ylabel(r"$C(\psi_1)/c_1$")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    caption = (
        "Transport cost of the learned flow maps on a mixture of 8 Gaussians in d dimensions (means seed 55, "
        f"std 0.3), relative to the independent coupling cost c1, mean ± SE over {', '.join(map(str, sz.seeds))} "
        f"seeds at d = {', '.join(map(str, sz.dims))} (claim mfm/lower-transport-cost-high-dim); the transport "
        "error W2^2(psi_1#q0, q1) over its two-sample floor is in the data file."
    )
    return FigureOutput(fig, data, sz.as_dict(), caption, seed=dict(m.seeds))
