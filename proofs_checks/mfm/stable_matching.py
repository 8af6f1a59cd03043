"""Judge of ``mfm/stable-matching-properties``: Gale–Shapley."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from numerics.experiments import RunSpec
from numerics.experiments.mfm import stable_matching as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


def assignment_matcher(cost: np.ndarray) -> tuple[np.ndarray, int]:
    """The cost-optimal assignment in place of the stable matching (not stable in general)."""
    r, col = linear_sum_assignment(cost)
    return col[np.argsort(r)], 0


@check(
    "mfm/stable-matching-properties",
    title="Gale–Shapley output is stable, unique, equal to global greedy",
    tag="derived",
    kinds=("symbolic",),
    tier=exp.STABLE_MATCHING,
    controls={
        "assignment-matcher": Control(
            fault={"matcher": assignment_matcher},
            breaks="blocking pairs over all batches",
            why="the cost-optimal assignment is not stable in general",
        )
    },
)
def check_stable_matching(run: RunSpec, matcher=exp.rows_propose) -> Verdict:
    """Gale–Shapley: permutation, no blocking pair, equals global greedy, proposer side irrelevant, <= k^2 proposals.

    Control: the optimal assignment in place of the stable matching.
    """
    m = exp.stable_matching_violations(run, matcher)
    ev = Evidence("spec mfm.md §1.6 (Gale–Shapley; derived uniqueness = greedy)", m.seeds["batches"])
    for prop in exp.STABLE_PROPERTIES:
        per_k = {k: c[prop] for k, c in m.per_k.items()}
        ev.holds(
            f"{prop} over all batches",
            sum(per_k.values()) == 0,
            measured=per_k,
            expected=0,
            basis="theory",
            why="exact",
            headline=prop == "blocking pairs",
        )
    return ev.verdict()
