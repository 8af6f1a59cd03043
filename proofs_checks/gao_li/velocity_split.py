r"""Judges of claim ``gao-li/velocity-orthogonal-split``: the optimal field splits into in- and off-subspace parts."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.gao_li.velocity_split import VELOCITY_SPLIT, off_subspace_rate, velocity_split
from numerics.paths import NumericPath
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import SYMPY, per_path
from proofs_checks.registry import Control, check


def unit_coefficient(path: NumericPath, t: np.ndarray) -> float:
    """Coefficient 1 in place of :math:`-\\dot\\sigma_t` (:math:`1-\\sigma_{\\min}` on the OT path)."""
    return 1.0


@check(
    "gao-li/velocity-orthogonal-split",
    title="$P_\\perp v^*=-(1-\\sigma_{\\min})x_\\perp/\\sigma_t$; in/off-subspace dynamics decouple",
    tag="derived",
    kinds=("symbolic",),
    tier=VELOCITY_SPLIT,
    controls={
        "unit-coefficient": Control(
            fault={"off_coefficient": unit_coefficient},
            breaks="max |P_perp v_Bayes + c x_perp/sigma_t| / |v|*",
            sizes={"points": 50},
            why="-x_perp/sigma_t: coefficient 1 instead of 1 - sigma_min",
        )
    },
    follows_path=True,
)
def check_velocity_split(run: RunSpec, off_coefficient=off_subspace_rate) -> Verdict:
    """Fact (b): :math:`P_\\perp v^*=(\\dot\\sigma_t/\\sigma_t)x_\\perp` (:math:`-(1-\\sigma_{\\min})x_\\perp/\\sigma_t` on the OT
    path); the in-subspace part depends on :math:`x_\\parallel` only.

    The off part comes from the Bayes posterior mean of the conditional fields (SciPy normalised
    densities), not from the closed form. Control: coefficient 1 instead of :math:`1-\\sigma_{\\min}`.
    """
    m = velocity_split(run, off_coefficient)
    ev = Evidence.of("fact (b), spec gao_li.md §2 (derived)", m)
    ev.holds("dw_i/dx_3 == 0 (symbolic)", m.weights_blind_symbolic, basis="theory", why=SYMPY, measured="0")
    ev.holds(
        "v_3 - (sigma_t'/sigma_t) x_3 == 0 (symbolic, any path)",
        m.off_symbolic,
        basis="theory",
        why=SYMPY,
        measured="0",
    )
    ev.holds(
        "in-plane field depends on x_par only (symbolic)",
        m.in_symbolic,
        basis="theory",
        why=SYMPY,
        measured="residual 0",
    )
    sigma_mins = run.sizes(VELOCITY_SPLIT).sigma_mins
    ev.at_most(
        "max |P_perp v_Bayes + c x_perp/sigma_t| / |v|, c = -sigma_t' (1 - sigma_min on OT), "
        + per_path(run, f"per sigma_min in {sigma_mins}"),
        m.off_error,
        1e-12,
        basis="numerical",
        why="float64 rounding of normalised Gaussian densities and one projection (spec: 1e-12)",
        headline=True,
    )
    ev.at_most(
        "max |P v - u_t(x_par | xbar_w(x_par))| / |v| " + per_path(run, f"per sigma_min in {sigma_mins}"),
        m.in_error,
        1e-12,
        basis="numerical",
        why="float64 rounding (spec: 1e-12)",
    )
    return ev.verdict()
