"""Judge of ``mfm/sandwich``: the sandwich of the Gaussian coupling family."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.mfm import sandwich as exp
from numerics.gaussian_family import GaussianCoupling
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.mfm._common import tag
from proofs_checks.registry import Control, check


def independent_cost_as_w2(fam: GaussianCoupling) -> float:
    """The independent-coupling cost :math:`\\|\\mu\\|^2+d+\\operatorname{tr}\\Sigma` in place of :math:`W_2^2`."""
    return float(fam.mu @ fam.mu + fam.d + np.trace(fam.sigma))


@check(
    "mfm/sandwich",
    title="$W_2^2\\le C(\\psi_1)\\le\\mathrm{KE}\\le$ coupling cost for exact marginal fields",
    tag="derived",
    kinds=("high-precision-ode",),
    tier=exp.SANDWICH,
    controls={
        "independent-cost-as-w2": Control(
            fault={"w2": independent_cost_as_w2},
            breaks="min over members of (C - W2^2, KE - C, c(q) - KE)",
            why="the independent-coupling cost in place of W2^2",
        )
    },
)
def check_sandwich(run: RunSpec, w2=exp.bures_w2) -> Verdict:
    """:math:`W_2^2\\le C(\\psi_1)\\le\\mathrm{KE}\\le c(q)` for exact marginal fields; equalities at the deterministic couplings.

    Control: the independent-coupling cost in place of :math:`W_2^2`.
    """
    measurement = exp.sandwich(run, w2)
    m = measurement.members
    ev = Evidence("spec mfm.md §1.4 sandwich (derived), §1.5 closed forms, §3")  # no random draw: no seed
    chain = np.stack([m.transport_cost - m.w2, m.kinetic_energy - m.transport_cost, m.coupling_cost - m.kinetic_energy])
    quad_tol = "DOP853 rtol 1e-12, quad 1e-13"
    ev.at_least(
        "min over members of (C - W2^2, KE - C, c(q) - KE)",
        chain.min(),
        -1e-9,
        basis="numerical",
        why=quad_tol,
        headline=True,
    )
    curve = measurement.curve
    ev.at_least(
        f"rho in [0, 1] ({len(curve.members)} members, phi = 0): min of (C - W2^2, KE - C, c(q) - KE)",
        np.stack(
            [
                curve.transport_cost - curve.w2,
                curve.kinetic_energy - curve.transport_cost,
                curve.coupling_cost - curve.kinetic_energy,
            ]
        ).min(),
        -1e-9,
        basis="numerical",
        why=quad_tol,
    )
    ev.within(
        "min L_JCFM = c(q) - KE per member",
        m.min_loss,
        m.coupling_cost - m.kinetic_energy,
        atol=1e-9,
        basis="numerical",
        why="quad tolerances",
    )
    for n, (rho, phi) in enumerate(m.members):
        vals = [m.w2[n], m.transport_cost[n], m.kinetic_energy[n], m.coupling_cost[n]]
        if (rho, phi) == (1.0, 0.0):
            ev.within(
                f"{tag(rho, phi)}: C, KE, c(q) vs W2^2",
                vals[1:],
                vals[0],
                atol=1e-9,
                basis="theory",
                why="deterministic OT coupling",
            )
        if (rho, phi) == (1.0, np.pi / 3):
            ev.within(
                f"{tag(rho, phi)}: C, KE vs c(q)",
                vals[1:3],
                vals[3],
                atol=1e-9,
                basis="theory",
                why="straight non-crossing lines",
            )
            ev.at_least(
                f"{tag(rho, phi)}: c(q) - W2^2",
                vals[3] - vals[0],
                1e-3,
                basis="theory",
                why="not the OT map (rotation)",
            )
        ev.report(f"{tag(rho, phi)}: W2^2, C, KE, c(q)", vals)
    return ev.verdict()
