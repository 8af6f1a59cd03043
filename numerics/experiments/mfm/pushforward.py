"""``mfm/marginal-field-pushforward``: the moments of the DOP853 affine flow of the marginal field."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    FAMILY_3,
    section,
)
from numerics.gaussian_family import GaussianCoupling
from theory.couplings import (
    gaussian_family_blocks_numeric,
)


# ---------------------------------------------------------------------------------------------
# mfm/marginal-field-pushforward, mfm/gaussian-condot-is-ot
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PushforwardSizes(Sizes):
    times: tuple[float, ...] = (0.25, 0.5, 1.0)
    block_times: tuple[float, ...] = (0.1, 0.5, 0.9)


PUSHFORWARD = Tier.same(
    "mfm/marginal-field-pushforward",
    PushforwardSizes(),
    section("mfm/marginal-field-pushforward", "DOP853 rtol 1e-12"),
)


@dataclass(frozen=True)
class Pushforward(Measurement):
    """Per family member: max |SymPy - NumPy| of the covariance blocks, and the moment error of the flow per time."""

    members: tuple[tuple[float, float], ...]
    times: tuple[float, ...]
    blocks_gap: np.ndarray
    moment_error: np.ndarray


def marginal_pushforward(run: RunSpec, family: type[GaussianCoupling] = GaussianCoupling) -> Pushforward:
    r"""Mean and covariance of the DOP853 affine flow :math:`M(t)x_0+m(t)` of the marginal field vs those of :math:`X_t`.

    ``family`` builds the coupling whose field is integrated (a subclass with another field is
    the negative control); the moments compared are those of :class:`GaussianCoupling`.
    """
    sz = run.sizes(PUSHFORWARD)
    blocks_sym = gaussian_family_blocks_numeric(2)
    gaps, errs = [], []
    for rho, phi in FAMILY_3:
        fam = GaussianCoupling(rho=rho, phi=phi)
        el = fam.sqrt_sigma
        gaps.append(
            max(
                np.abs(a - b).max()
                for tt in sz.block_times
                for a, b in zip(blocks_sym(tt, rho, phi, el[0, 0], el[0, 1], el[1, 1]), fam.blocks(tt))
            )
        )
        mm, m = family(rho=rho, phi=phi).flow(np.array(sz.times))
        errs.append(
            [
                max(np.abs(m[n] - tt * fam.mu).max(), np.abs(mm[n] @ mm[n].T - fam.blocks(tt)[0]).max())
                for n, tt in enumerate(sz.times)
            ]
        )
    return Pushforward(
        FAMILY_3, sz.times, np.array(gaps), np.array(errs), sizes=sz, settings={"flow": "DOP853 rtol 1e-12"}
    )
