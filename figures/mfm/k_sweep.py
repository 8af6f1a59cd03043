"""Figure of ``mfm/theorem-4.2-variance-straightness-limit``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.mfm._style import mean_se
from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.mfm import k_sweep as exp


@figure(
    "mfm/fig-straightness-vs-k",
    "Variance proxy, straightness and transport cost of BatchOT flows against the batch size k",
    claims=("mfm/theorem-4.2-variance-straightness-limit",),
    slow=True,
)
def fig_straightness_vs_k(run: RunSpec) -> FigureOutput:
    sz = run.sizes(exp.K_SWEEP)
    m = exp.k_sweep(run)
    ks = np.array(m.ks)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, q, fmt, label in (
        (axes[0], m.V, "o-", "variance proxy V"),
        (axes[0], m.S, "s-", "straightness S = KE - C"),
    ):
        mean, se = mean_se(q)
        ax.errorbar(ks, mean, yerr=se, fmt=fmt, label=label)
    for q, fmt, label in ((m.C, "o-", r"$C(\psi_1)$"), (m.KE, "s--", "KE")):
        mean, se = mean_se(q)
        axes[1].errorbar(ks, mean, yerr=se, fmt=fmt, label=label)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("coupling batch size k (k=1: independent)")
    axes[1].axhline(m.w2_reference, color="k", ls=":", label=rf"$W_2^2$ ref. (emd2, {sz.w2_samples} samples)")
    axes[1].set_xlabel("coupling batch size k")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    caption = (
        f"BatchOT flows trained on 8-Gaussians with coupling blocks of k, mean ± SE over {sz.train.seeds} seeds: V and S "
        "fall with k, C(psi_1) and KE approach the (upward-biased) W2^2 reference "
        "(claim mfm/theorem-4.2-variance-straightness-limit)."
    )
    data = {"k": ks, "V": m.V, "V_se": m.V_se, "S": m.S, "C": m.C, "KE": m.KE, "W2_ref": m.w2_reference}
    return FigureOutput(fig, data, sz.as_dict(), caption, seed=dict(m.seeds))
