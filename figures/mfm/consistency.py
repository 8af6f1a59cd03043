"""Figure of ``mfm/straighter-flows-consistency``."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from figures.mfm._style import COLORS, COUPLING_LABELS, TWO, mean_se
from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.mfm import consistency as exp


@figure(
    "mfm/fig-consistency-samples",
    "CondOT vs BatchOT samples from the same noise at NFE 1, 2, 4, 8 and the near-exact reference",
    claims=("mfm/straighter-flows-consistency",),
    slow=True,
)
def fig_consistency_samples(run: RunSpec) -> FigureOutput:
    sz = run.sizes(exp.CONSISTENCY)
    m = exp.path_consistency(run, TWO)
    shown = min(1000, sz.starts)
    data: dict[str, Any] = {"x0": m.x0[:shown]}
    fig, axes = plt.subplots(2, len(m.nfe) + 1, figsize=(3.0 * (len(m.nfe) + 1), 6.2), sharex=True, sharey=True)
    for row, name in enumerate(TWO):
        a = m.arms[name]
        data[f"{name}_ref"] = a.reference[:shown]
        for col, nfe in enumerate(m.nfe):
            xm = a.samples[nfe][:shown]
            data[f"{name}_nfe{nfe}"] = xm
            ax = axes[row, col]
            ax.scatter(xm[:, 0], xm[:, 1], s=2, color=COLORS[name], alpha=0.6)
            ax.set_title(
                f"{COUPLING_LABELS[name]}, NFE {nfe}\n$\\kappa_{{{nfe}}}$={a.kappa[col, 0]:.3f} (seed 0)", fontsize=9
            )
        ax = axes[row, -1]
        ax.scatter(a.reference[:shown, 0], a.reference[:shown, 1], s=2, color="k", alpha=0.6)
        ax.set_title(f"{COUPLING_LABELS[name]}, RK4 {sz.rk4_steps} steps (reference)", fontsize=9)
    for ax in axes.ravel():
        ax.set_aspect("equal")
        ax.set_xlim(-7, 7)
        ax.set_ylim(-7, 7)
    fig.tight_layout()
    caption = (
        f"Samples of the seed-0 flows trained with independent pairs (CondOT, top) and BatchOT (bottom) from the same "
        f"{shown} noises (seed 54): Euler with NFE {', '.join(map(str, m.nfe))} and the near-exact RK4 reference; "
        "BatchOT samples change less with NFE (claim mfm/straighter-flows-consistency; small-scale analogue of Fig. 1)."
    )
    return FigureOutput(fig, data, sz.as_dict(), caption, seed=dict(m.seeds))


@figure(
    "mfm/fig-consistency-vs-nfe",
    "Few-step consistency kappa_m against NFE, CondOT vs BatchOT",
    claims=("mfm/straighter-flows-consistency",),
    slow=True,
)
def fig_consistency_vs_nfe(run: RunSpec) -> FigureOutput:
    sz = run.sizes(exp.CONSISTENCY)
    m = exp.path_consistency(run, TWO)
    nfe = m.nfe
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    data: dict[str, Any] = {"nfe": np.array(nfe)}
    for name, a in m.arms.items():
        data[f"{name}_kappa"], data[f"{name}_kappa2"], data[f"{name}_S"] = a.kappa, a.kappa2, a.S
        lab = f"{COUPLING_LABELS[name]} (S={a.S.mean():.3g})"
        for ax, k in zip(axes, (a.kappa, a.kappa2)):
            mean, se = mean_se(k)
            ax.errorbar(nfe, mean, yerr=se, fmt="o-", color=COLORS[name], label=lab)
            ax.set_xscale("log")
            ax.set_yscale("log")
    axes[0].set_ylabel(r"$\kappa_m$ = mean $\|\hat x^{(m)}-\hat x^{\rm ref}\|$")
    axes[1].set_ylabel(r"mean $\|\hat x^{(m)}-\hat x^{\rm ref}\|^2$")
    for ax in axes:
        ax.set_xlabel("NFE m (Euler steps)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    caption = (
        f"Consistency of m-step Euler samples with the near-exact sample from the same noise ({sz.starts} noises, "
        f"seed 54), CondOT and BatchOT, mean ± SE over {sz.train.seeds} training seeds, with the mean straightness S: "
        "the measurement mfm/straighter-flows-consistency judges (small-scale analogue of Fig. 3 / Tables 1 and 3)."
    )
    return FigureOutput(fig, data, sz.as_dict(), caption, seed=dict(m.seeds))
