"""Judge of ``mfm/batchot-permutation-optimal`` and ``mfm/batchot-1d-sorting``: the BatchOT assignment."""

from __future__ import annotations

import numpy as np

from numerics.couplings import batch_ot_coupling, independent_coupling, stable_coupling
from numerics.experiments import RunSpec
from numerics.experiments.mfm import batch_ot as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


def stable_solver(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """Gale–Shapley in place of the assignment solver (stable, not cost-optimal)."""
    return stable_coupling(x0, x1)


@check(
    "mfm/batchot-permutation-optimal",
    title="minibatch OT optimum is a permutation; solvers agree",
    tag="derived",
    kinds=("symbolic",),
    tier=exp.PERMUTATION_OPTIMAL,
    controls={
        "stable-matching-solver": Control(
            fault={"solver": stable_solver},
            breaks="k=2..8: max relative gap to the brute-force optimum over S_k",
            why="Gale–Shapley (stable, not optimal) as the BatchOT solver",
        )
    },
)
def check_batchot_permutation_optimal(run: RunSpec, solver=exp.scipy_assignment) -> Verdict:
    """Brute force over :math:`S_k` and POT's LP over plans agree with the assignment solver; the LP optimum is the permutation.

    Control: a stable-matching solver.
    """
    m = exp.permutation_optimality(run, solver)
    ev = Evidence("spec mfm.md §1.6 (Birkhoff–von Neumann), §3", m.seeds["batches"])
    ev.at_most(
        "k=2..8: max relative gap to the brute-force optimum over S_k",
        m.gap_brute_force,
        1e-9,
        basis="numerical",
        why="float64 rounding of sums of k terms",
    )
    ev.at_most(
        "k=16,64,256: max relative gap to POT ot.emd (LP over doubly stochastic plans)",
        m.gap_lp,
        1e-9,
        basis="numerical",
        why="float64 rounding (two exact solvers)",
        headline=True,
    )
    ev.at_most(
        "k=16,64,256: max |ot.emd plan - P_sigma / k|",
        m.plan_gap,
        1e-12,
        basis="numerical",
        why="generic data: the LP optimum is unique and is the permutation vertex",
    )
    ev.at_most(
        "k=16,64,256: POT network-simplex permutation vs the solver, relative cost gap",
        m.gap_pot_permutation,
        1e-9,
        basis="numerical",
        why="float64 rounding",
    )
    return ev.verdict()


@check(
    "mfm/batchot-1d-sorting",
    title="in 1-D BatchOT matches order statistics",
    tag="derived",
    kinds=("symbolic",),
    tier=exp.SORTING_1D,
    controls={
        "independent-pairs": Control(
            fault={"coupling": independent_coupling},
            breaks="batches whose permutation != rank matching",
            why="the identity pairing",
        )
    },
)
def check_batchot_1d_sorting(run: RunSpec, coupling=batch_ot_coupling) -> Verdict:
    """In 1-D the BatchOT permutation matches order statistics. Control: the independent (identity) pairing."""
    m = exp.rank_mismatches(run, coupling)
    ev = Evidence("spec mfm.md §2 (derived: monotone rearrangement is optimal for convex cost)", m.seeds["batches"])
    ev.holds(
        "batches whose permutation != rank matching",
        sum(m.per_k.values()) == 0,
        measured=m.per_k,
        expected=0,
        basis="theory",
        why="exact (continuous data, no ties)",
        headline=True,
    )
    return ev.verdict()
