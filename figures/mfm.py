"""Figures of the `mfm/` paper that need no training (couplings, minibatch OT cost, Gaussian family)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureContext, FigureOutput, figure
from numerics.couplings import COUPLINGS, d8_target, minibatch_ot_costs, pair_indices, pairing_cost
from numerics.executor import sweep
from numerics.gaussian_family import GaussianCoupling
from numerics.mfm_training import sample_eight_gaussians
from theory.gaussians import gaussian_w2_squared

_LABELS = {
    "condot": "CondOT (independent)",
    "batchot": "BatchOT",
    "batcheot": "BatchEOT (eps_rel 0.05)",
    "stable": "Stable (Gale–Shapley)",
}


@figure(
    "mfm/fig-coupling-pairs",
    "One minibatch (k = 64) of 8-Gaussians paired by each coupling",
    claims=("mfm/coupling-cost-ordering", "mfm/lemma-4.1-marginals"),
)
def fig_coupling_pairs(ctx: FigureContext) -> FigureOutput:
    seed = ctx.seed_for(46)
    rng = np.random.default_rng(seed)
    k = 64
    x0 = rng.standard_normal((k, 2))
    x1 = sample_eight_gaussians(k, rng)
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.2), sharex=True, sharey=True)
    data: dict[str, np.ndarray] = {"x0": x0, "x1": x1}
    for ax, name in zip(axes, COUPLINGS):
        idx = COUPLINGS[name](x0, x1, np.random.default_rng([*np.atleast_1d(seed), 1]))
        i, j = pair_indices(idx, k)
        data[f"pairs_{name}"] = np.stack([i, j])
        for a, b in zip(i, j):
            ax.plot([x0[a, 0], x1[b, 0]], [x0[a, 1], x1[b, 1]], color="0.6", lw=0.7, zorder=1)
        ax.scatter(*x0.T, s=10, c="tab:blue", label="noise x0", zorder=2)
        ax.scatter(*x1.T, s=10, c="tab:red", label="data x1", zorder=2)
        ax.set_title(f"{_LABELS[name]}\ncost {pairing_cost(x0, x1, idx):.2f}", fontsize=10)
        ax.set_aspect("equal")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    caption = (
        "One batch of k = 64 noise points and 8-Gaussians data points; segments join the pairs chosen by "
        "each coupling, with the mean squared pair length. BatchOT has the lowest cost "
        "(mfm/coupling-cost-ordering); every coupling uses each noise point once and exact couplings use "
        "each data point once (mfm/lemma-4.1-marginals)."
    )
    return FigureOutput(fig, data, {"k": k, "eps_rel": 0.05}, caption, seed)


@figure(
    "mfm/fig-cost-vs-batch-size",
    "Expected minibatch OT cost against batch size",
    claims=("mfm/theorem-d.8-monotone-cost", "mfm/theorem-4.2-cost-limit"),
)
def fig_cost_vs_batch_size(ctx: FigureContext) -> FigureOutput:
    seed = [int(s) for s in np.atleast_1d(ctx.seed_for(49))]
    dims = (1, 2, 8, 32, 128)
    ks = tuple(2**n for n in range(11 if ctx.full else 9))

    def batches(k: int) -> int:
        return max(200, 2**17 // k) if ctx.full else max(50, 2**13 // k)

    tasks = [dict(d=d, k=k, n_batches=batches(k), seed=seed) for d in dims for k in ks]
    res = sweep(ctx.executor, minibatch_ot_costs, tasks)
    mean = np.array([r.mean() for r in res]).reshape(len(dims), len(ks))
    se = np.array([r.std(ddof=1) / np.sqrt(r.size) for r in res]).reshape(len(dims), len(ks))
    w2 = np.array(
        [gaussian_w2_squared(np.zeros(d), np.eye(d), d8_target(d)[0], np.diag(d8_target(d)[1])) for d in dims]
    )
    c1 = np.array([1.0 + d + d8_target(d)[1].sum() for d in dims])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for n, d in enumerate(dims):
        r1, s1 = mean[n] / c1[n], se[n] / c1[n]
        r2, s2 = (mean[n] - w2[n]) / (c1[n] - w2[n]), se[n] / (c1[n] - w2[n])
        for ax, r, s in ((a1, r1, s1), (a2, r2, s2)):
            (line,) = ax.plot(ks, r, marker="o", ms=3, label=f"d = {d}")
            ax.fill_between(ks, r - 2 * s, r + 2 * s, color=line.get_color(), alpha=0.2)
    for ax in (a1, a2):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size k")
        ax.grid(alpha=0.3)
    a1.set_ylabel("c_k / c_1")
    a2.set_ylabel("(c_k - W2^2) / (c_1 - W2^2)")
    a2.axhline(0.0, color="k", lw=0.8)
    a1.legend(fontsize=8)
    fig.tight_layout()
    caption = (
        "Expected per-point minibatch OT cost c_k for q0 = N(0, I), q1 = N(1/sqrt(d), diag(s_i^2)), with +-2 SE "
        "bands: non-increasing in k (mfm/theorem-d.8-monotone-cost) and approaching W2^2, more slowly in "
        "higher d (mfm/theorem-4.2-cost-limit). c_1 and W2^2 are closed forms."
    )
    data = {"k": np.array(ks), "dims": np.array(dims), "mean": mean, "se": se, "w2": w2, "c1": c1}
    return FigureOutput(fig, data, {"batches": [batches(k) for k in ks]}, caption, seed)


@figure(
    "mfm/fig-gaussian-family",
    "Sandwich W2^2 <= C <= KE <= c(q) across the Gaussian coupling family",
    claims=("mfm/sandwich", "mfm/lemma-3.2-loss-decomposition", "mfm/gaussian-condot-is-ot"),
)
def fig_gaussian_family(ctx: FigureContext) -> FigureOutput:
    rhos = np.linspace(0.0, 1.0, 21)
    rows = {"minL": [], "KE": [], "C": [], "S": [], "cq": [], "W2": []}
    for rho in rhos:
        fam = GaussianCoupling(rho=float(rho))
        ke, c = fam.kinetic_energy(), fam.transport_cost()
        rows["minL"].append(fam.expected_spread())
        rows["KE"].append(ke)
        rows["C"].append(c)
        rows["S"].append(ke - c)
        rows["cq"].append(fam.coupling_cost())
        rows["W2"].append(fam.w2_squared())
    data = {"rho": rhos, **{k: np.array(v) for k, v in rows.items()}}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label in (
        ("cq", "coupling cost c(q)"),
        ("KE", "kinetic energy KE"),
        ("C", "transport cost C(psi_1)"),
        ("W2", "W2^2"),
    ):
        a1.plot(rhos, data[key], marker="o", ms=3, label=label)
    a1.set_xlabel("rho")
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    a2.plot(rhos, data["minL"], marker="o", ms=3, label="min L_JCFM = c(q) - KE")
    a2.plot(rhos, data["S"], marker="o", ms=3, label="straightness S = KE - C")
    a2.set_xlabel("rho")
    a2.legend(fontsize=8)
    a2.grid(alpha=0.3)
    fig.tight_layout()
    caption = (
        "Gaussian coupling family (phi = 0, mu = (2, -1), Sigma = [[1, .5], [.5, .5]]) from rho = 0 "
        "(independent) to rho = 1 (deterministic OT coupling): W2^2 = C <= KE <= c(q) (mfm/sandwich; C = W2^2 "
        "for every rho, mfm/gaussian-condot-is-ot); the minimal joint CFM loss falls to 0 at rho = 1 "
        "(mfm/lemma-3.2-loss-decomposition). Values by DOP853 and quad, no sampling."
    )
    return FigureOutput(fig, data, {"phi": 0.0}, caption, None)
