"""``mfm/sandwich``: :math:`W_2^2\\le C(\\psi_1)\\le\\mathrm{KE}\\le c(q)` across the Gaussian coupling family."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    SANDWICH_FAMILY,
    section,
)
from numerics.gaussian_family import GaussianCoupling

# ---------------------------------------------------------------------------------------------
# mfm/sandwich (and the Gaussian-family figure)
# ---------------------------------------------------------------------------------------------
W2Form = Callable[[GaussianCoupling], float]


def bures_w2(fam: GaussianCoupling) -> float:
    """:math:`W_2^2(q_0,q_1)` by the Bures closed form (the formula under test)."""
    return fam.w2_squared()


@dataclass(frozen=True)
class FamilySizes(Sizes):
    """``members``: the spec's five members; ``curve``: the members ``(rho, 0)`` on a grid of ``rho`` from the
    independent (0) to the deterministic OT coupling (1), the sandwich along the family (its figure)."""

    members: tuple[tuple[float, float], ...] = SANDWICH_FAMILY
    curve: tuple[tuple[float, float], ...] = tuple((n / 20, 0.0) for n in range(21))


SANDWICH = Tier.same("mfm/sandwich", FamilySizes(), section("mfm/sandwich", "DOP853 and quad, no sampling"))


@dataclass(frozen=True)
class FamilyValues:
    r"""Per member :math:`(\rho,\phi)`: :math:`W_2^2`, :math:`C(\psi_1)`, KE, :math:`c(q)` and :math:`\min\mathcal L_{\rm JCFM}`."""

    members: tuple[tuple[float, float], ...]
    w2: np.ndarray
    transport_cost: np.ndarray
    kinetic_energy: np.ndarray
    coupling_cost: np.ndarray
    min_loss: np.ndarray

    @property
    def straightness(self) -> np.ndarray:
        return self.kinetic_energy - self.transport_cost


def family_values(members: tuple[tuple[float, float], ...], w2: W2Form = bures_w2) -> FamilyValues:
    """The sandwich quantities of each family member: DOP853 affine flow, ``quad`` and closed forms."""
    rows = []
    for rho, phi in members:
        fam = GaussianCoupling(rho=rho, phi=phi)
        rows.append((w2(fam), fam.transport_cost(), fam.kinetic_energy(), fam.coupling_cost(), fam.expected_spread()))
    return FamilyValues(tuple(members), *np.array(rows).T)


@dataclass(frozen=True)
class Sandwich(Measurement):
    """The sandwich quantities of the spec's ``members`` and along the ``curve`` of the family (no sampling)."""

    members: FamilyValues
    curve: FamilyValues


def sandwich(run: RunSpec, w2: W2Form = bures_w2) -> Sandwich:
    """:func:`family_values` of the spec's five members and of the ``rho`` curve, with ``w2`` under test."""
    sz = run.sizes(SANDWICH)
    return Sandwich(
        family_values(sz.members, w2),
        family_values(sz.curve, w2),
        sizes=sz,
        settings={"flow": "DOP853 rtol 1e-12", "quadrature": "quad 1e-13"},
    )
