r"""Judges of claim ``gao-li/cond-ot-field``: the conditional OT field in its three forms."""

from __future__ import annotations

from numerics.experiments import RunSpec
from numerics.experiments.gao_li.cond_ot_field import (
    COND_OT_CLOSED_FORM,
    COND_OT_FIELD,
    COND_OT_PATH_VELOCITY,
    cond_ot_field,
)
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import SYMPY
from proofs_checks.registry import Control, check
from theory import flow_matching as th

UNIT_COEFFICIENT_FIELD = (th.x1 - th.x) / th.sigma_expr()
"""The conditional field with coefficient 1 in place of :math:`1-\\sigma_{\\min}`."""


@check(
    "gao-li/cond-ot-field",
    title="OT conditional path and its field $u_t(x\\mid x_1)=(x_1-(1-\\sigma_{\\min})x)/\\sigma_t$",
    tag="reported",
    kinds=("symbolic",),
    tier=COND_OT_FIELD,
    controls={
        "unit-coefficient": Control(
            fault={"closed_form": UNIT_COEFFICIENT_FIELD},
            breaks="sigma'/sigma (x - mu) + mu' - closed form == 0",
            why="(x1 - x)/sigma_t: coefficient 1 instead of 1 - sigma_min",
        )
    },
)
def check_cond_ot_field(run: RunSpec, closed_form=COND_OT_CLOSED_FORM, path_velocity=COND_OT_PATH_VELOCITY) -> Verdict:
    """OT path velocity and the reduction of the Gaussian-path field to its closed form (SymPy).

    Control: the closed form with coefficient 1 instead of :math:`1-\\sigma_{\\min}`.
    """
    m = cond_ot_field(run, closed_form, path_velocity)
    ev = Evidence("spec gao_li.md §1.1 (OT path, Lipman et al. 2023)")
    for name, res, head in (
        ("d/dt (t x1 + sigma_t x0) - u == 0", m.path_velocity, False),
        ("sigma'/sigma (x - mu) + mu' - closed form == 0", m.closed_form, True),
        ("closed form at x = x_t equals the path velocity", m.on_path, False),
    ):
        ev.holds(name, res == 0, basis="theory", why=SYMPY, measured=str(res), expected="0", headline=head)
    ev.detail("derived_field", str(m.derived_field))
    return ev.verdict()
