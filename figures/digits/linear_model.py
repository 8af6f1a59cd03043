"""Figure of ``digits/kl-d-over-4n`` and ``digits/transition-at-n-equals-d``: the KL law on the digits."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.digits import linear_model as exp


@figure(
    "digits/fig-kl-vs-n",
    "Linear diffusion on the digits population: Q = (N/d) excess KL/d vs N, and KL/d vs N/d",
    claims=("digits/kl-d-over-4n", "digits/transition-at-n-equals-d"),
)
def fig_kl_vs_n(run: RunSpec) -> FigureOutput:
    law = exp.digits_kl_law(run)
    tr = exp.digits_transition(run)
    mean, se = law.q_mean()
    gauss = (law.d + 1) / (4 * law.d)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    for i, label in enumerate(("forward", "reverse")):
        ax.errorbar(law.ns, mean[:, i], yerr=se[:, i], fmt="o-", label=label)
    ax.axhline(law.kappa * gauss, color="k", ls="--", lw=1, label=f"kappa (d+1)/(4d), kappa={law.kappa:.3f}")
    ax.axhline(gauss, color="0.5", ls=":", lw=1, label="Gaussian (d+1)/(4d)")
    ax.set_xscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("Q = (N/d) (KL/d - KL_pop/d)")
    ax.legend(fontsize=7)
    ax = axes[1]
    ax.loglog(tr.ns / tr.d, tr.kl, "o-")
    ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("N / d")
    ax.set_ylabel("KL / d (forward, sigma^2 = beta)")
    return FigureOutput(
        fig,
        {
            "ns": np.asarray(law.ns),
            "q_mean": mean,
            "q_se": se,
            "kappa": law.kappa,
            "n_over_d": tr.ns / tr.d,
            "kl": tr.kl,
        },
        {**law.sizes.as_dict(), "transition": tr.sizes.as_dict()},
        "digits/kl-d-over-4n: Q tends to kappa (d+1)/(4d), above the Gaussian law by the digits' fourth-moment factor; "
        "digits/transition-at-n-equals-d: KL/d drops across N = d.",
        seed={"kl": law.seeds, "transition": tr.seeds},
    )
