"""``mfm/lemma-4.1-marginals``: pooled pairs of every minibatch coupling against the exact marginals."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from numerics.couplings import (
    COUPLINGS,
    Coupling,
    DeferredBatchEOT,
    batch_eot_coupling,
    batch_ot_coupling,
    entropic_plan,
    pair_indices,
    plan_from_pairing,
    squared_distances,
)
from numerics.datasets import FlowTarget, sample_eight_gaussians
from numerics.executor import sweep
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    section,
)
from numerics.gaussian_family import GaussianCoupling


# ---------------------------------------------------------------------------------------------
# mfm/lemma-4.1-marginals
# ---------------------------------------------------------------------------------------------
def nearest_neighbour_pairing(x0: Any, x1: Any, rng: Any = None) -> np.ndarray:
    """Not a coupling of the marginals: each ``x0`` takes its nearest ``x1`` (with replacement)."""
    return squared_distances(x0, x1).argmin(1)


MARGINAL_COUPLINGS: dict[str, Coupling] = {
    **COUPLINGS,
    "batcheot-plan": functools.partial(batch_eot_coupling, sampling="plan"),
}
MARGINAL_TARGETS = ("gaussian", "8gaussians")


@dataclass(frozen=True)
class MarginalsSizes(Sizes):
    couplings: tuple[str, ...] = ("condot", "batchot", "batcheot", "stable", "batcheot-plan")
    k: int = 16
    batches: int = 4000


LEMMA_41 = Tier(
    "mfm/lemma-4.1-marginals",
    MarginalsSizes(couplings=("condot", "batchot", "batcheot", "stable")),
    MarginalsSizes(),
    section("mfm/lemma-4.1-marginals", "the eot_sampling = 'plan' variant of spec §6 at spec tier"),
)


@dataclass(frozen=True)
class PooledPairs:
    """One uniformly chosen pair per minibatch (i.i.d. pairs of the induced joint) and the plan's sum error."""

    x0: np.ndarray
    x1: np.ndarray
    plan_error: float


def pooled_pairs(
    coupling: Coupling, entropic: bool, target: str, k: int, n_batches: int, seed: list[int]
) -> PooledPairs:
    """Pool one uniformly chosen pair per minibatch; plan row/column sums on the first 50 batches (picklable task)."""
    rng = np.random.default_rng(seed)
    fam = GaussianCoupling()
    x0s, x1s, plan_err = np.empty((n_batches, 2)), np.empty((n_batches, 2)), 0.0
    # BatchEOT: every batch's plan is solved in one batched call after the loop, its pairs drawn
    # from the generator's state where the loop met it (the same pairs, DeferredBatchEOT)
    deferred = DeferredBatchEOT.of(coupling, device="cpu") if entropic else None
    kept: list[tuple[np.ndarray, np.ndarray, int]] = []
    for b in range(n_batches):
        x0 = rng.standard_normal((k, 2))
        x1 = fam.sample(k, rng)[1] if target == "gaussian" else sample_eight_gaussians(k, rng)
        if deferred is not None:
            deferred.defer(x0, x1, rng)
            kept.append((x0, x1, int(rng.integers(k))))  # k pairs for either sampling
        else:
            idx = coupling(x0, x1, rng)
            i, j = pair_indices(idx, k)
            n = rng.integers(i.size)
            x0s[b], x1s[b] = x0[i[n]], x1[j[n]]
        if b < 50:
            pi = entropic_plan(x0, x1) if entropic else plan_from_pairing(idx, k)
            plan_err = max(plan_err, np.abs(pi.sum(0) - 1).max(), np.abs(pi.sum(1) - 1).max())
    if deferred is not None:
        for b, ((x0, x1, n), idx) in enumerate(zip(kept, deferred.pairings())):
            i, j = pair_indices(idx, k)
            x0s[b], x1s[b] = x0[i[n]], x1[j[n]]
    return PooledPairs(x0s, x1s, plan_err)


@dataclass(frozen=True)
class MarginalTest:
    """KS p-values on 3 projections of x0 and x1, moment z-scores, plan error and dependence z of one (coupling, target)."""

    coupling: str
    target: str
    ks_p: np.ndarray
    moment_z: dict[str, float]
    plan_error: float
    dependence_z: float


@dataclass(frozen=True)
class MarginalTests(Measurement):
    """The :class:`MarginalTest` of every (coupling, target)."""

    tests: list[MarginalTest]


def marginal_tests(run: RunSpec, batchot: Coupling = batch_ot_coupling) -> MarginalTests:
    """Lemma 4.1 on every coupling and target (spec §3): pooled pairs against the exact marginals.

    ``batchot`` is the pairing run under the name BatchOT (a non-coupling is the negative control).
    """
    sz = run.sizes(LEMMA_41)
    seed = run.seed_list(43)
    pairings = {**MARGINAL_COUPLINGS, "batchot": batchot}
    tasks = [
        dict(
            coupling=pairings[c],
            entropic=c.startswith("batcheot"),
            target=tg,
            k=sz.k,
            n_batches=sz.batches,
            seed=[*seed, ci, ti],
        )
        for ci, c in enumerate(sz.couplings)
        for ti, tg in enumerate(MARGINAL_TARGETS)
    ]
    fam = GaussianCoupling()
    eight = FlowTarget()
    dirs = (np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0]) / np.sqrt(2))
    out = []
    for (c, tg), r in zip(itertools.product(sz.couplings, MARGINAL_TARGETS), sweep(run.executor, pooled_pairs, tasks)):
        ps = []
        for u in dirs:
            ps.append(stats.kstest(r.x0 @ u, stats.norm.cdf).pvalue)
            if tg == "gaussian":
                mu_u, sd_u = fam.mu @ u, np.sqrt(u @ fam.sigma @ u)
                ps.append(stats.kstest(r.x1 @ u, lambda z, a=mu_u, s=sd_u: stats.norm.cdf(z, a, s)).pvalue)
            else:
                ps.append(stats.kstest(r.x1 @ u, lambda z, u=u: eight.cdf(z, u)).pvalue)
        mu1 = fam.mu if tg == "gaussian" else np.zeros(2)
        cov1 = fam.sigma if tg == "gaussian" else (eight.std**2 + 8.0) * np.eye(2)
        zs = {}
        for name, x, mu, cov in (("x0", r.x0, np.zeros(2), np.eye(2)), ("x1", r.x1, mu1, cov1)):
            zm = (x.mean(0) - mu) / (x.std(0, ddof=1) / np.sqrt(sz.batches))
            dev = x - mu
            prods = np.stack([dev[:, 0] ** 2, dev[:, 0] * dev[:, 1], dev[:, 1] ** 2], 1)
            target_c = np.array([cov[0, 0], cov[0, 1], cov[1, 1]])
            zc = (prods.mean(0) - target_c) / (prods.std(0, ddof=1) / np.sqrt(sz.batches))
            zs[name] = float(np.abs(np.r_[zm, zc]).max())
        dep = (r.x0 * (r.x1 - mu1)).sum(1)
        out.append(
            MarginalTest(
                c, tg, np.array(ps), zs, r.plan_error, float(dep.mean() / (dep.std(ddof=1) / np.sqrt(sz.batches)))
            )
        )
    return MarginalTests(out, seeds={"batches": run.seed_for(43)}, sizes=sz, settings={"targets": MARGINAL_TARGETS})
