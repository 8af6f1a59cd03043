"""``mfm/batchot-permutation-optimal`` and ``mfm/batchot-1d-sorting``: the BatchOT assignment against brute force, the LP and order statistics."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import ot

from numerics.couplings import (
    Coupling,
    batch_ot_coupling,
    squared_distances,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    section,
)

# ---------------------------------------------------------------------------------------------
# mfm/batchot-permutation-optimal, mfm/batchot-1d-sorting
# ---------------------------------------------------------------------------------------------
PermutationSolver = Callable[[np.ndarray, np.ndarray], np.ndarray]


def scipy_assignment(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """BatchOT by SciPy's ``linear_sum_assignment`` (the solver under test)."""
    return batch_ot_coupling(x0, x1, solver="scipy")


@dataclass(frozen=True)
class PermutationOptimalSizes(Sizes):
    brute_force_ks: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)
    lp_ks: tuple[int, ...] = (16, 64, 256)
    batches: int = 100


PERMUTATION_OPTIMAL = Tier.same(
    "mfm/batchot-permutation-optimal", PermutationOptimalSizes(), section("mfm/batchot-permutation-optimal")
)


@functools.lru_cache(maxsize=8)
def _all_permutations(k: int) -> np.ndarray:
    return np.array(list(itertools.permutations(range(k))))


@dataclass(frozen=True)
class PermutationOptimality(Measurement):
    """Worst relative gaps of the solver's permutation to brute force, to POT's LP and POT's permutation; plan gap."""

    gap_brute_force: float
    gap_lp: float
    plan_gap: float
    gap_pot_permutation: float


def permutation_optimality(run: RunSpec, solver: PermutationSolver = scipy_assignment) -> PermutationOptimality:
    """Brute force over :math:`S_k` (small ``k``) and POT ``ot.emd`` (LP over plans) against ``solver``."""
    sz = run.sizes(PERMUTATION_OPTIMAL)
    rng = run.rng(44)
    worst_bf = worst_emd = worst_plan = worst_pot = 0.0
    for k in sz.brute_force_ks:
        perms = _all_permutations(k)
        for _ in range(sz.batches):
            x0, x1 = rng.standard_normal((k, 2)), rng.standard_normal((k, 2)) + 1.0
            c = squared_distances(x0, x1)
            best = c[np.arange(k), perms].sum(1).min()
            worst_bf = max(worst_bf, abs(c[np.arange(k), solver(x0, x1)].sum() - best) / best)
    for k in sz.lp_ks:
        u = np.full(k, 1.0 / k)
        for _ in range(sz.batches):
            x0, x1 = rng.standard_normal((k, 2)), rng.standard_normal((k, 2)) + 1.0
            c = squared_distances(x0, x1)
            j = solver(x0, x1)
            cost = c[np.arange(k), j].sum()
            plan = ot.emd(u, u, c)
            worst_emd = max(worst_emd, abs((plan * c).sum() * k - cost) / cost)
            perm_plan = np.zeros((k, k))
            perm_plan[np.arange(k), j] = 1.0 / k
            worst_plan = max(worst_plan, np.abs(plan - perm_plan).max())
            j2 = batch_ot_coupling(x0, x1, solver="pot")
            worst_pot = max(worst_pot, abs(c[np.arange(k), j2].sum() - cost) / cost)
    return PermutationOptimality(
        worst_bf, worst_emd, worst_plan, worst_pot, seeds={"batches": run.seed_for(44)}, sizes=sz
    )


@dataclass(frozen=True)
class SortingSizes(Sizes):
    ks: tuple[int, ...] = (8, 256)
    batches: int = 100


SORTING_1D = Tier.same("mfm/batchot-1d-sorting", SortingSizes(), section("mfm/batchot-1d-sorting"))


@dataclass(frozen=True)
class RankMismatches(Measurement):
    """Per ``k``: the 1-D batches whose permutation differs from the rank matching."""

    per_k: dict[int, int]


def rank_mismatches(run: RunSpec, coupling: Coupling = batch_ot_coupling) -> RankMismatches:
    """Per ``k``: 1-D batches whose ``coupling`` permutation differs from the rank (order-statistics) matching."""
    sz = run.sizes(SORTING_1D)
    rng = run.rng(45)
    out = {}
    for k in sz.ks:
        mismatches = 0
        for _ in range(sz.batches):
            x0, x1 = rng.standard_normal((k, 1)), 2 * rng.standard_normal((k, 1)) + 1
            rank = np.empty(k, dtype=int)
            rank[np.argsort(x0[:, 0])] = np.argsort(x1[:, 0])
            mismatches += int(not np.array_equal(coupling(x0, x1, None), rank))
        out[k] = mismatches
    return RankMismatches(out, seeds={"batches": run.seed_for(45)}, sizes=sz)
