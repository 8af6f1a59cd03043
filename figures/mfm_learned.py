"""Figures of the learned-flow (training) claims of Multisample Flow Matching.

Each figure calls the measurement of :mod:`numerics.experiments.mfm_learned` that its claim
judges, with the same run: the seed ensembles come from the model cache and the measured numbers
from the :func:`~numerics.experiments.measured` memo or disk cache, so a figure drawn after the
checks only redraws. Figures that need more than the checks (all four couplings, more NFE or
checkpoints) call the same measurement with those settings. Bands are ±1 SE over training seeds.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments import mfm_learned as exp

COUPLING_LABELS = {"condot": "CondOT", "batchot": "BatchOT", "batcheot": "BatchEOT", "stable": "Stable"}
COLORS = {"condot": "C0", "batchot": "C3", "batcheot": "C2", "stable": "C1"}
ALL = {c: c for c in COUPLING_LABELS}
TWO = {"condot": "condot", "batchot": "batchot"}


def _mean_se(values: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=np.float64)
    return v.mean(axis), v.std(axis=axis, ddof=1) / np.sqrt(v.shape[axis])


@figure(
    "mfm/fig-consistency-samples",
    "CondOT vs BatchOT samples from the same noise at NFE 1, 2, 4, 8 and the near-exact reference",
    claims=("mfm/straighter-flows-consistency",),
    slow=True,
)
def fig_consistency_samples(run: RunSpec) -> FigureOutput:
    sz = run.sizes(exp.CONSISTENCY)
    m = exp.path_consistency(run, sz.train, TWO, sz.starts, sz.rk4_steps, sz.nfe)
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
    return FigureOutput(fig, data, sz.as_dict(), caption, seed=run.seed_for(54))


@figure(
    "mfm/fig-consistency-vs-nfe",
    "Few-step consistency kappa_m against NFE for the four couplings",
    claims=("mfm/straighter-flows-consistency",),
    slow=True,
)
def fig_consistency_vs_nfe(run: RunSpec) -> FigureOutput:
    sz = run.sizes(exp.CONSISTENCY)
    nfe = (1, 2, 4, 8, 16, 32)
    m = exp.path_consistency(run, sz.train, ALL, sz.starts, sz.rk4_steps, nfe)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    data: dict[str, Any] = {"nfe": np.array(nfe)}
    for name, a in m.arms.items():
        data[f"{name}_kappa"], data[f"{name}_kappa2"], data[f"{name}_S"] = a.kappa, a.kappa2, a.S
        lab = f"{COUPLING_LABELS[name]} (S={a.S.mean():.3g})"
        for ax, k in zip(axes, (a.kappa, a.kappa2)):
            mean, se = _mean_se(k)
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
        f"seed 54), per coupling, mean ± SE over {sz.train.seeds} training seeds, with the mean straightness S "
        "(claim mfm/straighter-flows-consistency; small-scale analogue of Fig. 3 / Tables 1 and 3)."
    )
    return FigureOutput(fig, data, {**sz.as_dict(), "nfe": list(nfe)}, caption, seed=run.seed_for(54))


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
        mean, se = _mean_se(q)
        ax.errorbar(ks, mean, yerr=se, fmt=fmt, label=label)
    for q, fmt, label in ((m.C, "o-", r"$C(\psi_1)$"), (m.KE, "s--", "KE")):
        mean, se = _mean_se(q)
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
    return FigureOutput(fig, data, sz.as_dict(), caption, seed={"V": run.seed_for(99), "x0": run.seed_for(52)})


@figure(
    "mfm/fig-gradient-variance",
    "Trace of the minibatch-gradient covariance against training step for the four couplings",
    claims=("mfm/gradient-variance-reduction", "mfm/variance-proxy-ordering"),
    slow=True,
)
def fig_gradient_variance(run: RunSpec) -> FigureOutput:
    sz = run.sizes(exp.GRADIENT_VARIANCE)
    fractions = tuple(np.round(np.linspace(0.0, 1.0, 11), 2).tolist())
    m = exp.gradient_variances(run, sz.train, ALL, sz.grad_batches, fractions)
    steps = np.array(m.steps)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    data: dict[str, Any] = {"steps": steps}
    for name, tr in m.trace.items():
        data[f"{name}_trcov"] = tr
        mean, se = _mean_se(tr)
        ax.errorbar(steps, mean, yerr=se, fmt="o-", color=COLORS[name], label=COUPLING_LABELS[name])
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(r"tr Cov of the minibatch gradient")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    caption = (
        f"Trace of the covariance of the full-minibatch gradient over {sz.grad_batches} fresh minibatches "
        f"(seed 53) of each run's own coupling, at checkpoints every 10% of training, mean ± SE over {sz.train.seeds} "
        "seeds (claim mfm/gradient-variance-reduction)."
    )
    return FigureOutput(fig, data, {**sz.as_dict(), "fractions": list(fractions)}, caption, seed=run.seed_for(53))


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
        per_dim = [_mean_se(m.C[d][name][None, :] / m.c1[d]) for d in m.dims]  # seeds differ per dimension
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
    return FigureOutput(fig, data, sz.as_dict(), caption, seed=run.seed_for(55))
