"""Judge of ``mfm/condot-conditional-field``: the CondOT conditional field."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.mfm import conditional_field as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check
from theory.couplings import condot_field


def field_without_sigma_correction(x, x1, t, sigma_min):
    """:math:`(x_1-(1-\\sigma_{\\min})x)/(1-t)`: the denominator without its :math:`\\sigma_{\\min}` term."""
    return (x1 - (1 - sigma_min) * x) / (1 - t)


@check(
    "mfm/condot-conditional-field",
    title="CondOT conditional flow has constant velocity $x_1-(1-\\sigma_{\\min})x_0$",
    tag="reported",
    kinds=("symbolic",),
    tier=exp.CONDOT_FIELD,
    controls={
        "no-sigma-min-in-denominator": Control(
            fault={"field": field_without_sigma_correction},
            breaks="simplify(field_along_path residual) == 0",
            why="u = (x1 - (1 - s) x) / (1 - t): not constant along the path for s > 0",
        )
    },
)
def check_condot_conditional_field(run: RunSpec, field=condot_field) -> Verdict:
    """The CondOT conditional velocity equals :math:`x_1-(1-\\sigma_{\\min})x_0` along the path (SymPy, float64).

    Control: the field with :math:`1-t` for :math:`1-(1-\\sigma_{\\min})t`.
    """
    m = exp.condot_conditional_field(run, field)
    ev = Evidence("spec mfm.md §1.2 (CondOT conditional flow and field, Lipman et al. 2023)", m.seeds["points"])
    for name, expr in m.residuals.items():
        ev.holds(
            f"simplify({name} residual) == 0",
            expr == "0",
            measured=expr,
            expected="0",
            basis="theory",
            why="exact: SymPy",
        )
    ev.within(
        "max |u_t(psi_t) - (x1 - (1 - s) x0)|, float64",
        np.abs(m.along_path).max(),
        0.0,
        atol=1e-12,
        basis="numerical",
        why="float64 rounding of a few operations",
        headline=True,
    )
    return ev.verdict()
