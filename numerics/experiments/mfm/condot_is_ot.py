"""``mfm/gaussian-condot-is-ot``: the affine flow map at ``t = 1`` against the Brenier map."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    section,
)
from numerics.gaussian_family import GaussianCoupling


@dataclass(frozen=True)
class RhoGridSizes(Sizes):
    rhos: tuple[float, ...] = (0.0, 0.5, 0.9)


CONDOT_IS_OT = Tier.same(
    "mfm/gaussian-condot-is-ot",
    RhoGridSizes(),
    section("mfm/gaussian-condot-is-ot", "affine flow of the pushforward row"),
)


@dataclass(frozen=True)
class FlowMapAtOne(Measurement):
    """Per rho: ||M(1) - Sigma^1/2||, ||m(1) - mu|| and C(psi_1) - W2^2."""

    rhos: tuple[float, ...]
    map_error: np.ndarray
    shift_error: np.ndarray
    cost_minus_w2: np.ndarray


def flow_map_at_one(run: RunSpec, phi: float = 0.0) -> FlowMapAtOne:
    """The affine flow map at ``t = 1`` of the family members ``(rho, phi)`` against the Brenier map."""
    rhos = run.sizes(CONDOT_IS_OT).rhos
    rows = []
    for rho in rhos:
        fam = GaussianCoupling(rho=rho, phi=phi)
        mm, m = fam.flow(np.array([1.0]))
        c = float(m[0] @ m[0] + np.sum((mm[0] - np.eye(2)) ** 2))
        rows.append((np.linalg.norm(mm[0] - fam.sqrt_sigma), np.linalg.norm(m[0] - fam.mu), c - fam.w2_squared()))
    cols = np.array(rows).T
    return FlowMapAtOne(rhos, *cols, sizes=run.sizes(CONDOT_IS_OT), settings={"phi": phi, "flow": "DOP853 rtol 1e-12"})
