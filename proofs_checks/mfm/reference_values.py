"""Judge of ``mfm/condot-gaussian-reference-values``: 1-D independent-coupling reference values."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.mfm import reference_values as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.mfm._common import DOP853, FOUR_SE
from proofs_checks.registry import Control, check


def closed_forms_variance_difference(m: float, s: float) -> exp.ClosedForms:
    """The closed forms with :math:`C=m^2+s^2-1` (variances subtracted) in place of :math:`m^2+(s-1)^2`."""
    c = exp.symbolic_closed_forms(m, s)
    return exp.ClosedForms(c.kinetic_energy, c.min_loss, m * m + s * s - 1.0, c.coupling_cost)


OTHER_COUPLING_RHO = 0.5  # the field of the rho = 0.5 member integrated against the independent coupling


@check(
    "mfm/condot-gaussian-reference-values",
    title="1-D Gaussian, independent coupling: min loss, KE, $C$, $S$ computed symbolically, by quadrature, ODE and Monte Carlo, all agreeing",
    tag="derived",
    kinds=("symbolic", "monte-carlo"),
    tier=exp.REFERENCE_VALUES,
    controls={
        "field-of-another-coupling": Control(
            fault={"field_rho": OTHER_COUPLING_RHO},
            breaks="KE: quad of the NumPy blocks vs closed form",
            sizes={"starts": 5000, "pairs": 5000},
            why="the marginal field of the rho = 0.5 member in place of the independent coupling's",
        ),
        "wrong-transport-cost-closed-form": Control(
            fault={"closed_forms": closed_forms_variance_difference},
            breaks="C(psi_1): DOP853 affine flow vs closed form",
            sizes={"starts": 5000, "pairs": 5000},
            why="C = m^2 + s^2 - 1 (variances subtracted) in place of m^2 + (s - 1)^2",
        ),
    },
)
def check_gaussian_reference_values(
    run: RunSpec, field_rho: float = 0.0, closed_forms=exp.symbolic_closed_forms
) -> Verdict:
    """1-D independent coupling, :math:`q_1=\\mathcal N(m,s^2)`: closed forms against quad, the DOP853 affine flow and Monte Carlo.

    :math:`C` is the transport cost of the DOP853 affine flow (:meth:`GaussianCoupling.transport_cost`),
    :math:`\\min\\mathcal L` the quadrature of the conditional spread of the NumPy blocks, KE the
    quadrature of :math:`\\|\\mu\\|^2+\\operatorname{tr}A_t\\mathrm{Cov}X_tA_t^\\top`; each against SymPy's closed form.
    Controls: the field of another coupling; a wrong closed form of :math:`C`.
    """
    m = exp.reference_values(run, field_rho, closed_forms)
    cases = m.cases
    ev = Evidence("spec mfm.md §1.5, §3 (derived closed forms)", m.seeds["mc"])
    col = {
        name: np.array([getattr(c, name) for c in cases])
        for name in (
            "quad_kinetic_energy",
            "quad_min_loss",
            "flow_transport_cost",
            "blocks_kinetic_energy",
            "blocks_min_loss",
            "w2",
        )
    }
    closed = {
        name: np.array([getattr(c.closed, name) for c in cases])
        for name in ("kinetic_energy", "min_loss", "transport_cost", "coupling_cost")
    }
    quad_tol = "quad rtol 1e-12"
    values = {**closed, **col, "blocks_total": col["blocks_kinetic_energy"] + col["blocks_min_loss"]}
    # SymPy's closed forms against quad of the *same* SymPy integrands check SymPy's integration only:
    # reported; the asserted routes below are independent (NumPy blocks, the DOP853 flow, ODE + Monte Carlo)
    for name, closed_key, quad_key in (
        ("KE: SymPy closed form vs quad of the SymPy integrand", "kinetic_energy", "quad_kinetic_energy"),
        ("min L: SymPy closed form vs quad of the SymPy spread", "min_loss", "quad_min_loss"),
    ):
        ev.report(
            f"{name}: max |difference|",
            float(np.max(np.abs(values[closed_key] - values[quad_key]))),
            "same integrand both ways (SymPy's integration only)",
        )
    for name, measured, expected, atol, why in (
        ("C(psi_1): DOP853 affine flow vs closed form", "flow_transport_cost", "transport_cost", 1e-9, DOP853),
        ("KE: quad of the NumPy blocks vs closed form", "blocks_kinetic_energy", "kinetic_energy", 1e-9, quad_tol),
        ("min L: quad of the NumPy spread vs closed form", "blocks_min_loss", "min_loss", 1e-9, quad_tol),
        ("c(q) vs KE + min L (NumPy blocks)", "coupling_cost", "blocks_total", 1e-9, quad_tol),
        ("closed-form C vs Bures W2^2", "transport_cost", "w2", 1e-12, "derived: the flow map is the Brenier map"),
    ):
        ev.within(
            name,
            values[measured],
            values[expected],
            atol=atol,
            why=why,
            basis="numerical",
            headline=name.startswith("C(psi_1)"),
        )
    straight = closed["kinetic_energy"] - closed["transport_cost"]
    for key, ref in (
        ("kinetic_energy", closed["kinetic_energy"]),
        ("transport_cost", closed["transport_cost"]),
        ("straightness", straight),
    ):
        est = np.array([c.ode[key].mean for c in cases])
        se = np.array([c.ode[key].se for c in cases])
        ev.at_most(
            f"ODE+MC {key}: |mean - closed form| - 1e-8, in SE",
            np.maximum(np.abs(est - ref) - 1e-8, 0.0) / se,
            4.0,
            basis="statistical",
            why=FOUR_SE + " (+1e-8 for RK4 error O(h^4))",
        )
    loss = np.array([c.loss.mean for c in cases])
    ev.at_most(
        "MC JCFM loss of the field: |mean - closed-form min L| / SE",
        np.abs(loss - closed["min_loss"]) / np.array([c.loss.se for c in cases]),
        4.0,
        basis="statistical",
        why=FOUR_SE,
    )
    for c in cases:
        ev.report(
            f"(m,s)=({c.m},{c.s}): min L, KE, C, S",
            [
                c.closed.min_loss,
                c.closed.kinetic_energy,
                c.closed.transport_cost,
                c.closed.kinetic_energy - c.closed.transport_cost,
            ],
        )
    for name, text in exp.reference_closed_form_text().items():
        ev.detail(f"closed form {name}", text)
    return ev.verdict()
