"""``mfm/theorem-d.8-monotone-cost`` and ``mfm/theorem-4.2-cost-limit``: one sweep of the expected minibatch OT cost :math:`c_k`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from numerics.couplings import (
    optimal_assignment,
    squared_distances,
)
from numerics.datasets import minibatch_cost_target
from numerics.executor import sweep
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from theory.gaussians import gaussian_w2_squared

# ---------------------------------------------------------------------------------------------
# mfm/theorem-d.8-monotone-cost, mfm/theorem-4.2-cost-limit (and the cost-vs-batch-size figure)
# ---------------------------------------------------------------------------------------------
Matching = str  # "ot" (the claim), "identity" or "anti" (negative controls): picklable, cacheable


def minibatch_ot_costs(d: int, k: int, n_batches: int, seed: list[int], matcher: Matching = "ot") -> np.ndarray:
    """Per-batch optimal matching cost (1/k) min_sigma sum ||x0_i - x1_sigma(i)||^2 (module level, picklable).

    ``matcher``: ``"ot"`` (sorting in 1-D, exact assignment otherwise), ``"identity"``
    (independent pairs), ``"anti"`` (the cost-maximising permutation; negative controls).
    """
    rng = np.random.default_rng([*seed, d, k])
    mu, var = minibatch_cost_target(d)
    if d == 1 and matcher in ("ot", "anti"):
        # in 1-D the optimal matching is sorted, the cost-maximising one anti-sorted: vectorised
        # over batches, one draw of every batch's noise (the stream read in the order of the loop
        # below, batch by batch, x0 then x1), the same per-batch values
        z = rng.standard_normal((n_batches, 2, k))
        x0, x1 = np.sort(z[:, 0], axis=1), np.sort(mu + np.sqrt(var) * z[:, 1], axis=1)
        return ((x0 - (x1[:, ::-1] if matcher == "anti" else x1)) ** 2).mean(axis=1)
    out = np.empty(n_batches)
    for b in range(n_batches):
        x0 = rng.standard_normal((k, d))
        x1 = mu + np.sqrt(var) * rng.standard_normal((k, d))
        if matcher == "identity":
            out[b] = ((x0 - x1) ** 2).sum(1).mean()
        elif matcher == "anti":
            c = squared_distances(x0, x1)
            r, col = linear_sum_assignment(-c)
            out[b] = c[r, col].mean()
        else:
            c = squared_distances(x0, x1)
            out[b] = c[np.arange(k), optimal_assignment(c, d)].mean()
    return out


@dataclass(frozen=True)
class BatchPlan(Sizes):
    """Batch sizes :math:`k=1,2,4,\\dots,k_{\\max}` and :math:`B_k=\\max(\\text{min\\_batches},\\text{pair\\_budget}/k)` batches."""

    k_max: int = 1024
    min_batches: int = 200
    pair_budget: int = 2**17

    def ks(self) -> tuple[int, ...]:
        return tuple(2**n for n in range(self.k_max.bit_length()))

    def batches(self, k: int) -> int:
        return max(self.min_batches, self.pair_budget // k)


@dataclass(frozen=True)
class CostSweepSizes(Sizes):
    """Dimensions of the sweep; 1-D (sorting, cheap) and higher-dimensional (assignment) batch plans.

    ``shown_dims``: further dimensions measured for the figure (spec §4 figure 4 adds d = 128) and reported
    by the checks, never judged."""

    dims: tuple[int, ...] = (1, 2, 8, 32)
    shown_dims: tuple[int, ...] = (128,)
    one_d: BatchPlan = BatchPlan()
    multi_d: BatchPlan = BatchPlan()

    def plan(self, d: int) -> BatchPlan:
        return self.one_d if d == 1 else self.multi_d


_D8_SECTION = "spec mfm.md §3, rows mfm/theorem-d.8-monotone-cost and mfm/theorem-4.2-cost-limit (k <= 1024, B_k = max(200, 2^17/k))"
_D8_FAST = CostSweepSizes(multi_d=BatchPlan(k_max=256, min_batches=100, pair_budget=2**14))
THEOREM_D8 = Tier("mfm/theorem-d.8-monotone-cost", _D8_FAST, CostSweepSizes(), _D8_SECTION)
THEOREM_42_COST = Tier("mfm/theorem-4.2-cost-limit", _D8_FAST, CostSweepSizes(), _D8_SECTION)


@dataclass(frozen=True)
class CostCurve:
    r"""Mean per-point minibatch matching cost :math:`c_k` and its SE per ``k`` for one dimension, with the closed forms."""

    d: int
    ks: np.ndarray
    batches: tuple[int, ...]
    mean: np.ndarray
    se: np.ndarray
    w2: float
    c1_exact: float

    @property
    def normalised_gap(self) -> np.ndarray:
        r""":math:`g=(c_k-W_2^2)/(c_1-W_2^2)` with the exact :math:`c_1`."""
        return (self.mean - self.w2) / (self.c1_exact - self.w2)


def cost_curve(run: RunSpec, d: int, plan: BatchPlan, matcher: Matching = "ot") -> CostCurve:
    """:math:`c_k` for ``k`` in ``plan`` in dimension ``d`` (seed 49), once per process and disk cache (:func:`measured`)."""
    seed = run.seed_list(49)
    ks = plan.ks()
    nbs = tuple(plan.batches(k) for k in ks)

    def compute() -> CostCurve:
        tasks = [dict(d=d, k=k, n_batches=nb, seed=seed, matcher=matcher) for k, nb in zip(ks, nbs)]
        rs = sweep(run.executor, minibatch_ot_costs, tasks)
        mu, var = minibatch_cost_target(d)
        return CostCurve(
            d,
            np.array(ks),
            nbs,
            np.array([r.mean() for r in rs]),
            np.array([r.std(ddof=1) / np.sqrt(r.size) for r in rs]),
            gaussian_w2_squared(np.zeros(d), np.eye(d), mu, np.diag(var)),
            float(mu @ mu + d + var.sum()),
        )

    params = {"d": d, "plan": plan.as_dict(), "seed": seed, "matcher": matcher}
    return measured(run, "mfm-minibatch-ot-cost", params, compute)


@dataclass(frozen=True)
class CostSweep(Measurement):
    """The :class:`CostCurve` of every judged dimension (``curves``) and of every ``shown`` one."""

    curves: dict[int, CostCurve]
    shown: dict[int, CostCurve]


def cost_sweep(run: RunSpec, tier: Tier[CostSweepSizes], matcher: Matching = "ot") -> CostSweep:
    """The :func:`cost_curve` of every dimension of ``tier``, judged and shown (Theorems D.8 and 4.2 share it)."""
    sz = run.sizes(tier)
    return CostSweep(
        {d: cost_curve(run, d, sz.plan(d), matcher) for d in sz.dims},
        {d: cost_curve(run, d, sz.plan(d), matcher) for d in sz.shown_dims},
        seeds={"batches": run.seed_for(49)},
        sizes=sz,
        settings={"matcher": matcher, "assignment": "sorting in 1-D, exact assignment otherwise"},
    )
