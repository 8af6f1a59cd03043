r"""Judges of claim ``gao-li/continuity-equation``: the continuity equation of the optimal field."""

from __future__ import annotations

import numpy as np

from numerics.empirical_field import optimal_velocity
from numerics.experiments import RunSpec
from numerics.experiments.gao_li import SIGMA_MINS
from numerics.experiments.gao_li.continuity import CONTINUITY, continuity
from numerics.paths import NumericPath
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import SYMPY, per_path
from proofs_checks.registry import Control, check


def scaled_field(x: np.ndarray, t, data: np.ndarray, path: NumericPath) -> np.ndarray:
    """The optimal field times 1.05."""
    return 1.05 * optimal_velocity(x, t, data, path)


@check(
    "gao-li/continuity-equation",
    title="the Gaussian-mixture path and $v^*$ satisfy the continuity equation",
    tag="derived",
    kinds=("symbolic",),
    tier=CONTINUITY,
    controls={
        "scaled-field": Control(
            fault={"field": scaled_field},
            breaks="finite-difference relative residual*",
            sizes={"fd_points": 10},
            why="1.05 v*: transports p_t too fast",
        )
    },
    follows_path=True,
)
def check_continuity(run: RunSpec, field=optimal_velocity) -> Verdict:
    """The mixture path :math:`p_t` and :math:`v^*` satisfy the continuity equation.

    (i) SymPy residual in 1-D evaluated in mpmath; (ii) central differences of the field under
    test on ``tiny``. Control: the field scaled by 1.05.
    """
    m = continuity(run, field)
    ev = Evidence.of("continuity equation for the mixture path p_t and v* (spec gao_li.md §2, derived)", m)
    ev.holds(
        "symbolic residual simplifies to 0 (d=1, N=2, any alpha_t, sigma_t)",
        m.symbolic_zero,
        basis="theory",
        why=SYMPY,
        measured="0",
    )
    ev.at_most(
        "mpmath |res| / (|d_t p| + |d_x(p v)|), dps 40, " + per_path(run, f"per sigma_min in {SIGMA_MINS}"),
        m.mp,
        1e-30,
        basis="numerical",
        why="40-digit evaluation of an exact identity (spec: 1e-30)",
    )
    ev.at_most(
        "finite-difference relative residual, h = 1e-4 sigma_t, " + per_path(run, f"per sigma_min in {SIGMA_MINS}"),
        m.fd,
        1e-6,
        basis="numerical",
        why="central differences: truncation (h/sigma_t)^2 ~ 1e-8, rounding eps/h ~ 1e-12",
        headline=True,
    )
    ev.report(
        "same with the spec's fixed h = 1e-4",
        m.fd_fixed_step,
        "truncation ~ (1e-4/sigma_t)^2 exceeds 1e-6 once sigma_t < ~0.1 (finding)",
    )
    return ev.verdict()
