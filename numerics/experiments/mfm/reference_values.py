"""``mfm/condot-gaussian-reference-values``: 1-D independent-coupling values four ways."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import quad

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    MeanSE,
    condot_pairs,
    section,
)
from numerics.flow_metrics import flow_metrics
from numerics.gaussian_family import GaussianCoupling
from theory.couplings import (
    gaussian_1d_reference_numeric,
    gaussian_1d_reference_symbolic,
)
from theory.gaussians import gaussian_w2_squared


# ---------------------------------------------------------------------------------------------
# mfm/condot-gaussian-reference-values
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClosedForms:
    """Closed-form 1-D reference values of the independent coupling for :math:`q_1=\\mathcal N(m,s^2)`."""

    kinetic_energy: float
    min_loss: float
    transport_cost: float
    coupling_cost: float


ClosedFormFn = Callable[[float, float], ClosedForms]


def symbolic_closed_forms(m: float, s: float) -> ClosedForms:
    r"""SymPy's :math:`t`-integrals for :math:`\rho=0` (KE, :math:`\min\mathcal L`), :math:`C=m^2+(s-1)^2` (Brenier map :math:`x\mapsto m+sx`), :math:`c(q)=m^2+1+s^2`."""
    num = gaussian_1d_reference_numeric()
    return ClosedForms(
        float(num["ke_rho0"](m, s)),
        float(num["loss_rho0"](m, s)),
        float(num["transport_cost"](m, s)),
        float(num["coupling_cost"](m, s, 0.0)),
    )


@dataclass(frozen=True)
class ReferenceSizes(Sizes):
    cases: tuple[tuple[float, float], ...] = ((0.0, 1.0), (0.0, 2.0), (2.0, 0.5))
    starts: int = 100_000
    pairs: int = 100_000
    rk4_steps: int = 100


REFERENCE_VALUES = Tier.same(
    "mfm/condot-gaussian-reference-values", ReferenceSizes(), section("mfm/condot-gaussian-reference-values")
)


@dataclass(frozen=True)
class ReferenceCase:
    """One case ``(m, s)``: closed forms, the SymPy integrands by ``quad``, the NumPy-block routes and Monte Carlo."""

    m: float
    s: float
    closed: ClosedForms
    w2: float
    quad_kinetic_energy: float
    quad_min_loss: float
    flow_transport_cost: float
    blocks_kinetic_energy: float
    blocks_min_loss: float
    ode: dict[str, MeanSE]
    loss: MeanSE


@dataclass(frozen=True)
class ReferenceValues(Measurement):
    """The :class:`ReferenceCase` of every ``(m, s)``."""

    cases: list[ReferenceCase]


def reference_values(
    run: RunSpec, field_rho: float = 0.0, closed_forms: ClosedFormFn = symbolic_closed_forms
) -> ReferenceValues:
    r"""The 1-D independent-coupling values four ways (spec §3): closed forms, ``quad`` of the SymPy
    integrands, the NumPy covariance blocks (DOP853 affine flow for :math:`C`, ``quad`` of
    :math:`\sigma_t^2` and of the KE integrand), and Monte Carlo (RK4 flow from ``starts`` noises;
    the JCFM loss on ``pairs`` independent pairs).

    ``field_rho`` selects the family member whose marginal field is integrated and evaluated (0:
    the independent coupling; another value is the wrong-field control); ``closed_forms`` the
    closed forms under test.
    """
    sz = run.sizes(REFERENCE_VALUES)
    num = gaussian_1d_reference_numeric()
    seed = run.seed_list(51)
    out = []
    for ci, (m, s) in enumerate(sz.cases):
        fam = GaussianCoupling(mu=[m], sigma=[[s * s]], rho=field_rho)
        rng = np.random.default_rng([*seed, ci])
        x0 = rng.standard_normal((sz.starts, 1))
        fm = flow_metrics(fam.velocity, x0, sz.rk4_steps, error_estimate=False, return_samples=True)
        ode = {key: MeanSE.of(fm["samples"][key]) for key in ("kinetic_energy", "transport_cost", "straightness")}
        t, xt, d = condot_pairs(GaussianCoupling(mu=[m], sigma=[[s * s]]), sz.pairs, rng)
        u = num["A"](t, m, s, field_rho)[:, None] * xt + num["b"](t, m, s, field_rho)[:, None]
        out.append(
            ReferenceCase(
                m,
                s,
                closed_forms(m, s),
                gaussian_w2_squared([0.0], [[1.0]], [m], [[s * s]]),
                _quad01(lambda tt, m=m, s=s: num["ke_integrand"](tt, m, s, field_rho)),
                _quad01(lambda tt, m=m, s=s: num["spread"](tt, m, s, field_rho)),
                fam.transport_cost(),
                fam.kinetic_energy(),
                fam.expected_spread(),
                ode,
                MeanSE.of(((u - d) ** 2).sum(1)),
            )
        )
    return ReferenceValues(
        out,
        seeds={"mc": run.seed_for(51)},
        sizes=sz,
        settings={"field_rho": field_rho, "ode": f"RK4 {sz.rk4_steps} steps", "quad": "epsabs 1e-13, epsrel 1e-12"},
    )


def _quad01(f: Callable[[float], float]) -> float:
    return float(quad(f, 0, 1, epsabs=1e-13, epsrel=1e-12)[0])


@functools.cache
def reference_closed_form_text() -> dict[str, str]:
    """SymPy's closed forms of KE and min L for the independent coupling (for the report)."""
    sym = gaussian_1d_reference_symbolic()
    return {"KE (rho = 0)": str(sym["ke_rho0"]), "min L_JCFM (rho = 0)": str(sym["loss_rho0"])}
