"""Judges of the learned-flow (training) claims of Multisample Flow Matching: what they share.

The measurements (:mod:`numerics.experiments.mfm.trained_arms`) train every arm (a coupling, a block
size, a dimension) with several seeds, seed ``s`` of every arm on the same data, noise,
initialisation and time streams, and evaluate all models on the same starts and pairs. An
ordering claimed by the paper is judged on the per-seed differences by a one-sided paired t-test
(:meth:`~proofs_checks.evidence.Evidence.ordering`), its level set by Holm's procedure over the
claim's orderings at family-wise α = 0.01; a non-significant ordering is *not shown*
(inconclusive, with the seeds its effect would need), never "fails". Seed counts come from the
power analyses in :data:`numerics.experiments.mfm.trained_arms.PILOTS`.

A transport cost :math:`C(\\psi_1)` is compared only between maps that transport alike: the
precondition of each cost ordering is that the lower-cost arm's transport error
:math:`W_2^2(\\psi_1\\#q_0,q_1)` (POT, exact, on 500 endpoints against 500 fresh data points)
is not significantly larger than the other arm's (one-sided paired t-test, p >= 0.01): a lower
cost bought by landing elsewhere shows nothing.

Controls are real single faults, never a copy of the other arm: BatchOT's pairing read one row off
(:func:`numerics.couplings.off_by_one_pairing`: ``x0[i]`` with the partner of ``x0[i+1]``) and Stable's
partners handed out in a random order (:func:`numerics.couplings.shuffled_pairing`); both keep the
marginals and train models of their own.
"""

from __future__ import annotations

import numpy as np

from numerics.experiments.mfm.trained_arms import paired
from proofs_checks.evidence import Evidence
from proofs_checks.statistics import FAMILY_ALPHA, paired_t

SRC = "Pooladian et al. 2023 (MFM)"
PAIRED = (
    "one-sided paired t-test over training seeds (same data, noise, init and time streams and the same "
    "evaluation draws in both arms), Holm over the claim's orderings at family-wise α = 0.01"
)
FAULTY = {"batchot": "batchot-off-by-one", "stable": "stable-shuffled"}  # the controls' faulty couplings


def condot_vs(batchot_coupling: str = "batchot") -> dict[str, str]:
    """The two arms of a claim that compares BatchOT (or a control's faulty coupling) with CondOT, by label."""
    return {"condot": "condot", "batchot": batchot_coupling}


def report_arm(ev: Evidence, name: str, values: np.ndarray) -> None:
    """Report an arm's mean, SE over seeds and every seed's value."""
    v = np.asarray(values, dtype=np.float64)
    ev.report(name, {"mean": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(v.size)), "per seed": v.tolist()})


def transport_precondition(ev: Evidence, name: str, lower: np.ndarray, other: np.ndarray, floor: float) -> None:
    """Precondition of a cost ordering: the lower-cost arm's maps do not transport worse than the other's."""
    test = paired_t(paired(lower, other))
    ev.p_value(
        f"transport error {name}: p of W2^2 larger for the lower-cost arm",
        test.p,
        alpha=FAMILY_ALPHA,
        why="precondition: a cost compared only between maps that transport alike (one-sided paired t-test of "
        "W2^2(psi_1#q0, q1), 500 endpoints vs 500 fresh data points, POT exact)",
        role="precondition",
    )
    ev.report(
        f"transport error {name}: mean W2^2 / two-sample floor (lower-cost arm, other arm)",
        [float(np.mean(lower) / floor), float(np.mean(other) / floor)],
        f"floor {floor:.4g} = mean W2^2 between two 500-point data samples",
    )
