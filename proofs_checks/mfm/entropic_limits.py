"""Judge of ``mfm/batcheot-limits``: entropic plans between OT and uniform."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.mfm import entropic_limits as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


def uniform_plan(x0: np.ndarray, x1: np.ndarray, eps_rel: float) -> np.ndarray:
    """A plan that ignores :math:`\\varepsilon` (always uniform)."""
    return np.full((len(x0), len(x0)), 1.0 / len(x0))


@check(
    "mfm/batcheot-limits",
    title="entropic OT interpolates between BatchOT ($\\varepsilon\\to0$) and uniform ($\\varepsilon\\to\\infty$); excess ≤ $\\varepsilon\\ln k$",
    tag="derived",
    kinds=("symbolic",),
    tier=exp.EOT_LIMITS,
    controls={
        "eps-ignored": Control(
            fault={"plan": uniform_plan},
            breaks="eps_rel=1e-4: max relative gap to OT",
            why="a uniform plan for every eps",
        )
    },
)
def check_batcheot_limits(run: RunSpec, plan=exp.sinkhorn_plan) -> Verdict:
    """Entropic plans interpolate between BatchOT (eps -> 0) and the uniform plan (eps -> inf); excess <= eps ln k.

    Control: a plan that ignores eps.
    """
    m = exp.entropic_limits(run, plan)
    ev = Evidence("spec mfm.md §1.6, §3 (derived: entropy bounds H(P) <= 2 ln k, H(perm) = ln k)", m.seeds["batches"])
    ev.at_least(
        "min excess <P_eps, C> - OT",
        m.excess.min(),
        -1e-8,
        basis="theory",
        why="OT is the minimum over plans; Sinkhorn tol",
    )
    ev.at_most(
        "max of excess - eps ln k",
        (m.excess - m.bound).max(),
        1e-8,
        basis="theory",
        why="exact entropy bound; slack 1e-8",
    )
    ev.at_most(
        "eps_rel=1e-4: max relative gap to OT",
        (m.excess[:, 0] / m.ot_cost).max(),
        1e-3,
        basis="spec",
        why="spec §3 criterion",
        headline=True,
    )
    ev.at_most(
        "eps_rel=1e6: max over batches of |k pi_ij - 1| / (e^{2 osc(C)/eps} - 1)",
        (m.uniform_error / m.uniform_bound).max(),
        1.0,
        basis="theory",
        why="derived bound: the Sinkhorn potentials confine (f_i + g_j - C_ij)/eps to [-2 osc C/eps, 2 osc C/eps]",
    )
    ev.report(
        "eps_rel=1e6: max |k pi_ij - 1| (spec tolerance 1e-6 is below the exact plan's first-order"
        " deviation for this data; see the derived bound)",
        float(m.uniform_error.max()),
    )
    ev.at_most("plan row/col sum error", m.marginal_error, 1e-9, basis="numerical", why="Sinkhorn tolerance 1e-10")
    mean_excess = m.excess.mean(0)
    ev.at_least(
        "min over consecutive eps of the increase of the expected cost",
        np.diff(mean_excess).min(),
        -1e-9,
        basis="theory",
        why="derived monotonicity; Sinkhorn slack 1e-9",
    )
    ev.report("expected excess cost by eps_rel", dict(zip(map(str, m.eps_rel), mean_excess.tolist())))
    return ev.verdict()
