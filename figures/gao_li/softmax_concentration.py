r"""Figures of claim ``gao-li/softmax-concentration``: concentration of the posterior weight of the conditioning point."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.gao_li.softmax_concentration import softmax_concentration


@figure(
    "gao-li/fig-softmax-bound",
    "Monte Carlo Pr[w_j < 1 - eps] against the derived union bound",
    claims=("gao-li/softmax-concentration",),
)
def softmax_bound(run: RunSpec) -> FigureOutput:
    m = softmax_concentration(run)
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
