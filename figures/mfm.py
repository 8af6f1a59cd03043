"""Figures of the `mfm/` claims that need no training (couplings, minibatch OT cost, Gaussian family).

Each figure plots the measurements of :mod:`numerics.experiments.mfm` that its claims judge (the
minibatch-cost sweep is the very :func:`~numerics.experiments.measured` sweep of the two
theorems, from the memo or the disk cache when the checks made it).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments import mfm as exp

_LABELS = {
    "condot": "CondOT (independent)",
    "batchot": "BatchOT",
    "batcheot": "BatchEOT (eps_rel 0.05)",
    "stable": "Stable (Gale–Shapley)",
}
EXTRA_DIMS = (128,)  # spec §4 figure 4 adds d = 128 to the dimensions of the claims


@figure(
    "mfm/fig-coupling-pairs",
    "One minibatch (k = 64) of 8-Gaussians paired by each coupling",
    claims=("mfm/coupling-cost-ordering", "mfm/lemma-4.1-marginals"),
)
def fig_coupling_pairs(run: RunSpec) -> FigureOutput:
    k = 64
    ex = exp.coupling_example(run, k)
    fig, axes = plt.subplots(1, len(ex.pairs), figsize=(16, 4.2), sharex=True, sharey=True)
    data: dict[str, np.ndarray] = {"x0": ex.x0, "x1": ex.x1}
    for ax, (name, (i, j)) in zip(axes, ex.pairs.items()):
        data[f"pairs_{name}"] = np.stack([i, j])
        for a, b in zip(i, j):
            ax.plot([ex.x0[a, 0], ex.x1[b, 0]], [ex.x0[a, 1], ex.x1[b, 1]], color="0.6", lw=0.7, zorder=1)
        ax.scatter(*ex.x0.T, s=10, c="tab:blue", label="noise x0", zorder=2)
        ax.scatter(*ex.x1.T, s=10, c="tab:red", label="data x1", zorder=2)
        ax.set_title(f"{_LABELS[name]}\ncost {ex.cost[name]:.2f}", fontsize=10)
        ax.set_aspect("equal")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    caption = (
        "One batch of k = 64 noise points and 8-Gaussians data points; segments join the pairs chosen by "
        "each coupling, with the mean squared pair length. BatchOT has the lowest cost "
        "(mfm/coupling-cost-ordering); every coupling uses each noise point once and exact couplings use "
        "each data point once (mfm/lemma-4.1-marginals)."
    )
    return FigureOutput(fig, data, {"k": k, "eps_rel": 0.05}, caption, run.seed_for(46))


@figure(
    "mfm/fig-cost-vs-batch-size",
    "Expected minibatch OT cost against batch size",
    claims=("mfm/theorem-d.8-monotone-cost", "mfm/theorem-4.2-cost-limit"),
)
def fig_cost_vs_batch_size(run: RunSpec) -> FigureOutput:
    sz = run.sizes(exp.THEOREM_D8)
    curves = exp.cost_sweep(run, exp.THEOREM_D8)
    curves.update({d: exp.cost_curve(run, d, sz.multi_d) for d in EXTRA_DIMS})
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    data: dict[str, np.ndarray] = {"dims": np.array(list(curves))}
    for d, q in curves.items():
        r1, s1 = q.mean / q.c1_exact, q.se / q.c1_exact
        r2, s2 = q.normalised_gap, q.se / (q.c1_exact - q.w2)
        for ax, r, s in ((a1, r1, s1), (a2, r2, s2)):
            (line,) = ax.plot(q.ks, r, marker="o", ms=3, label=f"d = {d}")
            ax.fill_between(q.ks, r - 2 * s, r + 2 * s, color=line.get_color(), alpha=0.2)
        data.update(
            {
                f"d{d}_k": q.ks,
                f"d{d}_mean": q.mean,
                f"d{d}_se": q.se,
                f"d{d}_w2": np.array(q.w2),
                f"d{d}_c1": np.array(q.c1_exact),
            }
        )
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
        "higher d (mfm/theorem-4.2-cost-limit). c_1 and W2^2 are closed forms; d <= 32 are the claims' sweeps."
    )
    params = {"sizes": sz.as_dict(), "extra_dims": list(EXTRA_DIMS)}
    return FigureOutput(fig, data, params, caption, run.seed_for(49))


@figure(
    "mfm/fig-gaussian-family",
    "Sandwich W2^2 <= C <= KE <= c(q) across the Gaussian coupling family",
    claims=("mfm/sandwich", "mfm/lemma-3.2-loss-decomposition", "mfm/gaussian-condot-is-ot"),
)
def fig_gaussian_family(run: RunSpec) -> FigureOutput:
    rhos = np.linspace(0.0, 1.0, 21)
    v = exp.family_values(tuple((float(r), 0.0) for r in rhos))
    data = {
        "rho": rhos,
        "minL": v.min_loss,
        "KE": v.kinetic_energy,
        "C": v.transport_cost,
        "S": v.straightness,
        "cq": v.coupling_cost,
        "W2": v.w2,
    }
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
        "(mfm/lemma-3.2-loss-decomposition). Values by DOP853 and quad (the sandwich check's computation), no sampling."
    )
    return FigureOutput(fig, data, {"phi": 0.0}, caption, None)
