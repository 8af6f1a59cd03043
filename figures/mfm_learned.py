"""Figures of the learned-flow (training) claims of Multisample Flow Matching.

The models and measurements are those of :mod:`proofs_checks.mfm_learned` (same tier sizes and
seeds); trained models and the measured numbers go through the figure disk cache, so a rerun
only redraws.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

import proofs_checks.mfm_learned as ml
from figures.registry import FigureContext, FigureOutput, figure
from numerics.mfm_training import FlowTarget, train_many
from numerics.ode import euler, rk4, torch_field

COUPLING_LABELS = {"condot": "CondOT", "batchot": "BatchOT", "batcheot": "BatchEOT", "stable": "Stable"}
COLORS = {"condot": "C0", "batchot": "C3", "batcheot": "C2", "stable": "C1"}
ALL = {c: c for c in COUPLING_LABELS}


def _cached(ctx: FigureContext, name: str, tier: ml.LearnedTier, compute: Any, **extra: Any) -> Any:
    params = {"tier": dataclasses.asdict(tier), "seed": ctx.seed, **extra}
    return ctx.cache.get_or_compute(f"mfm-learned-{name}", params, compute)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@figure(
    "mfm/fig-consistency-samples",
    "CondOT vs BatchOT samples from the same noise at NFE 1, 2, 4, 8 and the near-exact reference",
    claims=("mfm/straighter-flows-consistency",),
    slow=True,
)
def fig_consistency_samples(ctx: FigureContext) -> FigureOutput:
    plt = _plt()
    tier = ml.learned_tier(ctx)
    cfgs = [tier.config(c, seed=ml._train_seed(ctx)) for c in ("condot", "batchot")]
    models = [r.model for r in train_many(cfgs, ctx.executor, ctx.cache)]
    x0 = ctx.rng(54).standard_normal((1000, 2))
    nfes = (1, 2, 4, 8)
    data: dict[str, Any] = {"x0": x0}
    fig, axes = plt.subplots(2, len(nfes) + 1, figsize=(3.0 * (len(nfes) + 1), 6.2), sharex=True, sharey=True)
    for row, (name, model) in enumerate(zip(("condot", "batchot"), models)):
        v = torch_field(model)
        ref = rk4(v, x0, tier.rk4_steps)
        data[f"{name}_ref"] = ref
        for col, m in enumerate(nfes):
            xm = euler(v, x0, m)
            data[f"{name}_nfe{m}"] = xm
            ax = axes[row, col]
            ax.scatter(xm[:, 0], xm[:, 1], s=2, color=COLORS[name], alpha=0.6)
            kap = float(np.mean(np.linalg.norm(xm - ref, axis=1)))
            ax.set_title(f"{COUPLING_LABELS[name]}, NFE {m}\n$\\kappa_{{{m}}}$={kap:.3f}", fontsize=9)
        ax = axes[row, -1]
        ax.scatter(ref[:, 0], ref[:, 1], s=2, color="k", alpha=0.6)
        ax.set_title(f"{COUPLING_LABELS[name]}, RK4 {tier.rk4_steps} steps (reference)", fontsize=9)
    for ax in axes.ravel():
        ax.set_aspect("equal")
        ax.set_xlim(-7, 7)
        ax.set_ylim(-7, 7)
    fig.tight_layout()
    caption = (
        "Samples of flows trained with independent pairs (CondOT, top) and BatchOT (bottom) from the same 1000 "
        "noises (seed 54): Euler with NFE 1, 2, 4, 8 and the near-exact RK4 reference; BatchOT samples change "
        "less with NFE (claim mfm/straighter-flows-consistency; small-scale analogue of Fig. 1)."
    )
    return FigureOutput(fig, data, dataclasses.asdict(tier), caption, seed=ctx.seed_for(54))


@figure(
    "mfm/fig-consistency-vs-nfe",
    "Few-step consistency kappa_m against NFE for the four couplings",
    claims=("mfm/straighter-flows-consistency",),
    slow=True,
)
def fig_consistency_vs_nfe(ctx: FigureContext) -> FigureOutput:
    plt = _plt()
    tier = dataclasses.replace(ml.learned_tier(ctx), nfe=(1, 2, 4, 8, 16, 32))
    m = _cached(ctx, "consistency", tier, lambda: ml.measure_straightness_consistency(ctx, tier, ALL))
    nfe = np.array(tier.nfe)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    data: dict[str, Any] = {"nfe": nfe}
    for name in ALL:
        k1 = np.array([m[name]["kappa"][int(n)][0] for n in nfe])
        k2 = np.array([m[name]["kappa"][int(n)][1] for n in nfe])
        data[f"{name}_kappa"], data[f"{name}_kappa2"], data[f"{name}_S"] = k1, k2, m[name]["S"]
        lab = f"{COUPLING_LABELS[name]} (S={m[name]['S']:.3g})"
        axes[0].loglog(nfe, k1, "o-", color=COLORS[name], label=lab)
        axes[1].loglog(nfe, k2, "o-", color=COLORS[name], label=lab)
    axes[0].set_ylabel(r"$\kappa_m$ = mean $\|\hat x^{(m)}-\hat x^{\rm ref}\|$")
    axes[1].set_ylabel(r"mean $\|\hat x^{(m)}-\hat x^{\rm ref}\|^2$")
    for ax in axes:
        ax.set_xlabel("NFE m (Euler steps)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    caption = (
        "Consistency of m-step Euler samples with the near-exact sample from the same noise (2000 noises, seed 54), "
        "per coupling, with the straightness S of each learned flow (claim mfm/straighter-flows-consistency; "
        "small-scale analogue of Fig. 3 / Tables 1 and 3)."
    )
    return FigureOutput(fig, data, dataclasses.asdict(tier), caption, seed=ctx.seed_for(54))


@figure(
    "mfm/fig-straightness-vs-k",
    "Variance proxy, straightness and transport cost of BatchOT flows against the batch size k",
    claims=("mfm/theorem-4.2-variance-straightness-limit",),
    slow=True,
)
def fig_straightness_vs_k(ctx: FigureContext) -> FigureOutput:
    plt = _plt()
    tier = ml.learned_tier(ctx)
    m = _cached(ctx, "k-sweep", tier, lambda: ml.measure_k_sweep(ctx, tier))
    w2 = _cached(ctx, "w2-ref", tier, lambda: ml._w2_reference(FlowTarget(), tier.w2_samples, ml._seed_list(ctx, 52)))
    ks = np.array(sorted(m))
    V = np.array([m[k]["V"] for k in ks])
    Vse = np.array([m[k]["V_se"] for k in ks])
    S = np.array([m[k]["S"] for k in ks])
    C = np.array([m[k]["C"] for k in ks])
    KE = np.array([m[k]["KE"] for k in ks])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].errorbar(ks, V, yerr=2 * Vse, fmt="o-", label="variance proxy V")
    axes[0].plot(ks, S, "s-", label="straightness S = KE - C")
    axes[0].set_xscale("log", base=2)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("coupling batch size k (k=1: independent)")
    axes[0].legend()
    axes[1].plot(ks, C, "o-", label=r"$C(\psi_1)$")
    axes[1].plot(ks, KE, "s--", label="KE")
    axes[1].axhline(w2, color="k", ls=":", label=rf"$W_2^2$ ref. (emd2, {tier.w2_samples} samples)")
    axes[1].set_xscale("log", base=2)
    axes[1].set_xlabel("coupling batch size k")
    axes[1].legend()
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    caption = (
        "BatchOT flows trained on 8-Gaussians with coupling blocks of k: V and S fall with k, C(psi_1) and KE "
        "approach the (upward-biased) W2^2 reference (claim mfm/theorem-4.2-variance-straightness-limit)."
    )
    data = {"k": ks, "V": V, "V_se": Vse, "S": S, "C": C, "KE": KE, "W2_ref": w2}
    return FigureOutput(
        fig, data, dataclasses.asdict(tier), caption, seed={"V": ctx.seed_for(99), "x0": ctx.seed_for(52)}
    )


@figure(
    "mfm/fig-gradient-variance",
    "Trace of the minibatch-gradient covariance against training step for the four couplings",
    claims=("mfm/gradient-variance-reduction", "mfm/variance-proxy-ordering"),
    slow=True,
)
def fig_gradient_variance(ctx: FigureContext) -> FigureOutput:
    plt = _plt()
    tier = ml.learned_tier(ctx)
    fractions = tuple(np.round(np.linspace(0.0, 1.0, 11), 2).tolist())
    if not ctx.full:
        tier = dataclasses.replace(tier, grad_batches=50)
    m = _cached(
        ctx, "grad-var", tier, lambda: ml.measure_gradient_variance(ctx, tier, ALL, fractions), fractions=fractions
    )
    fig, ax = plt.subplots(figsize=(6.5, 4))
    data: dict[str, Any] = {}
    for name in ALL:
        steps = np.array(sorted(m[name]))
        g = np.array([m[name][s] for s in steps])
        data[f"{name}_steps"], data[f"{name}_trcov"] = steps, g
        ax.semilogy(steps, g, "o-", color=COLORS[name], label=COUPLING_LABELS[name])
    ax.set_xlabel("training step")
    ax.set_ylabel(r"tr Cov of the minibatch gradient")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    caption = (
        f"Trace of the covariance of the full-minibatch gradient over {tier.grad_batches} fresh minibatches "
        "(seed 53) of each run's own coupling, at checkpoints every 10% of training "
        "(claim mfm/gradient-variance-reduction)."
    )
    return FigureOutput(fig, data, dataclasses.asdict(tier), caption, seed=ctx.seed_for(53))


@figure(
    "mfm/fig-learned-map-cost-vs-dim",
    "Transport cost of learned maps C(psi_1)/c_1 against dimension, CondOT vs BatchOT",
    claims=("mfm/lower-transport-cost-high-dim",),
    slow=True,
)
def fig_learned_map_cost_vs_dim(ctx: FigureContext) -> FigureOutput:
    plt = _plt()
    tier = ml.learned_tier(ctx)
    couplings = {"condot": "condot", "batchot": "batchot"}
    m = _cached(ctx, "cost-vs-dim", tier, lambda: ml.measure_cost_vs_dim(ctx, tier, couplings))
    dims = np.array(sorted(m))
    fig, ax = plt.subplots(figsize=(6, 4))
    data: dict[str, Any] = {"d": dims, "c1": np.array([m[d]["c1"] for d in dims])}
    for name in couplings:
        r = np.array([m[d][name] / m[d]["c1"] for d in dims])
        data[f"{name}_C_over_c1"] = r
        ax.plot(dims, r, "o-", color=COLORS[name], label=COUPLING_LABELS[name])
    ax.set_xscale("log", base=2)
    ax.set_xlabel("dimension d")
    ax.set_ylabel(r"$C(\psi_1)/c_1$")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    caption = (
        "Transport cost of the learned flow maps on a mixture of 8 Gaussians in d dimensions (means seed 55, "
        "std 0.3), relative to the independent coupling cost c1 (claim mfm/lower-transport-cost-high-dim)."
    )
    return FigureOutput(fig, data, dataclasses.asdict(tier), caption, seed=ctx.seed_for(55))
