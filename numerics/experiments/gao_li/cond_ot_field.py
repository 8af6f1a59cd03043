r"""The conditional OT field in its three forms (claim ``gao-li/cond-ot-field``)."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from numerics.experiments import Measurement, RunSpec, Tier
from numerics.experiments.gao_li._shared import SymbolicSizes, spec_row
from theory import flow_matching as th

COND_OT_FIELD = Tier.same("gao-li/cond-ot-field", SymbolicSizes(), spec_row("cond-ot-field"))
COND_OT_CLOSED_FORM = (th.x1 - (1 - th.smin) * th.x) / th.sigma_expr()
"""Spec §1.1: :math:`u_t(x\\mid x_1)=(x_1-(1-\\sigma_{\\min})x)/\\sigma_t`."""
COND_OT_PATH_VELOCITY = th.x1 - (1 - th.smin) * th.x0
"""Spec §1.1: :math:`u_t(x_t\\mid x_1)=x_1-(1-\\sigma_{\\min})x_0`."""


@dataclass(frozen=True)
class CondOTField(Measurement):
    """Simplified residuals of the three forms of the conditional OT field (each must be 0)."""

    path_velocity: sp.Expr
    closed_form: sp.Expr
    on_path: sp.Expr
    derived_field: sp.Expr


def cond_ot_field(
    run: RunSpec, closed_form: sp.Expr = COND_OT_CLOSED_FORM, path_velocity: sp.Expr = COND_OT_PATH_VELOCITY
) -> CondOTField:
    r""":math:`\frac{d}{dt}(tx_1+\sigma_tx_0)-u`, :math:`\frac{\sigma_t'}{\sigma_t}(x-\mu_t)+\mu_t'-u_t(x\mid x_1)`
    and :math:`u_t(x_t\mid x_1)-u` in SymPy, for the forms under test."""
    t, x, x0, x1 = th.t, th.x, th.x0, th.x1
    sig = th.sigma_expr()
    derived = th.conditional_field()["field"]
    return CondOTField(
        path_velocity=sp.simplify(sp.diff(t * x1 + sig * x0, t) - path_velocity),
        closed_form=sp.simplify(derived - closed_form),
        on_path=sp.simplify(closed_form.subs(x, t * x1 + sig * x0) - path_velocity),
        derived_field=derived,
        sizes=run.sizes(COND_OT_FIELD),
    )
