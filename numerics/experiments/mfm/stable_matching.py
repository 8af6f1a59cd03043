"""``mfm/stable-matching-properties``: Gale–Shapley stability, uniqueness and proposal count."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numerics.couplings import (
    gale_shapley,
    greedy_matching,
    is_permutation,
    squared_distances,
)
from numerics.datasets import sample_eight_gaussians
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    section,
)

# ---------------------------------------------------------------------------------------------
# mfm/stable-matching-properties
# ---------------------------------------------------------------------------------------------
Matcher = Callable[[np.ndarray], tuple[np.ndarray, int]]


def rows_propose(cost: np.ndarray) -> tuple[np.ndarray, int]:
    """Gale–Shapley with the ``x0`` (row) side proposing (the matcher under test)."""
    return gale_shapley(cost, "rows")


def blocking_pairs(cost: np.ndarray, j: np.ndarray) -> int:
    """Number of pairs ``(i, j')`` that both prefer each other to their partners (strictly)."""
    k = cost.shape[0]
    partner_of_col = np.empty(k, dtype=int)
    partner_of_col[j] = np.arange(k)
    row_cur = cost[np.arange(k), j][:, None]
    col_cur = cost[partner_of_col, np.arange(k)][None, :]
    return int(((cost < row_cur) & (cost < col_cur)).sum())


@dataclass(frozen=True)
class StableMatchingSizes(Sizes):
    ks: tuple[int, ...] = (8, 64, 256)
    batches: int = 100


STABLE_MATCHING = Tier.same(
    "mfm/stable-matching-properties", StableMatchingSizes(), section("mfm/stable-matching-properties")
)
STABLE_PROPERTIES = (
    "non-permutations",
    "blocking pairs",
    "!= global greedy",
    "!= cols-proposing result",
    "> k^2 proposals",
)


@dataclass(frozen=True)
class StableViolations(Measurement):
    """Per ``k``: counts over the batches of each violated property (:data:`STABLE_PROPERTIES`)."""

    per_k: dict[int, dict[str, int]]


def stable_matching_violations(run: RunSpec, matcher: Matcher = rows_propose) -> StableViolations:
    """Per ``k``: counts over the batches of each violated property (:data:`STABLE_PROPERTIES`) of ``matcher``."""
    sz = run.sizes(STABLE_MATCHING)
    rng = run.rng(48)
    out = {}
    for k in sz.ks:
        counts = dict.fromkeys(STABLE_PROPERTIES, 0)
        for _ in range(sz.batches):
            c = squared_distances(rng.standard_normal((k, 2)), sample_eight_gaussians(k, rng))
            j, props = matcher(c)
            counts["non-permutations"] += int(not is_permutation(j))
            counts["blocking pairs"] += blocking_pairs(c, j)
            counts["!= global greedy"] += int(not np.array_equal(j, greedy_matching(c)))
            counts["!= cols-proposing result"] += int(not np.array_equal(j, gale_shapley(c, "cols")[0]))
            counts["> k^2 proposals"] += int(props > k * k)
        out[k] = counts
    return StableViolations(out, seeds={"batches": run.seed_for(48)}, sizes=sz)
