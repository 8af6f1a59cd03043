"""``mfm/lemma-3.2-loss-decomposition``: the optimal joint CFM loss against the conditional spread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import quad

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    MeanSE,
    condot_pairs,
    linear_features,
    marginal_field,
    section,
)
from numerics.gaussian_family import GaussianCoupling


# ---------------------------------------------------------------------------------------------
# mfm/lemma-3.2-loss-decomposition
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LossDecompositionSizes(Sizes):
    rhos: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
    pairs: int = 200_000


LEMMA_32_LOSS = Tier.same(
    "mfm/lemma-3.2-loss-decomposition", LossDecompositionSizes(), section("mfm/lemma-3.2-loss-decomposition")
)
Spread = Callable[[GaussianCoupling, float], float]


def conditional_spread(fam: GaussianCoupling, t: float) -> float:
    """:math:`\\sigma_t^2` of the family member (trace of the conditional covariance of ``D`` given ``X_t``)."""
    return fam.spread(t)


@dataclass(frozen=True)
class LossDecomposition(Measurement):
    """Per rho: quad of the spread, MC loss of the exact field, MC of L_JCFM - L_FM for a fixed Theta."""

    rhos: tuple[float, ...]
    quad: np.ndarray
    min_loss: list[MeanSE]
    jcfm_minus_fm: list[MeanSE]


def loss_decomposition(run: RunSpec, spread: Spread = conditional_spread) -> LossDecomposition:
    r""":math:`\int_0^1\sigma_t^2dt` by ``quad`` (``spread`` under test) and by Monte Carlo on ``pairs`` pairs per :math:`\rho`."""
    sz = run.sizes(LEMMA_32_LOSS)
    seed = [*run.seed_list(40), 2]
    theta = np.random.default_rng(run.seed_list(40)).standard_normal((2, 6))
    quads, losses, diffs = [], [], []
    for n, rho in enumerate(sz.rhos):
        fam = GaussianCoupling(rho=rho)
        quads.append(quad(lambda tt, fam=fam: spread(fam, tt), 0.0, 1.0, epsabs=1e-12, epsrel=1e-12, limit=200)[0])
        t, xt, d = condot_pairs(fam, sz.pairs, np.random.default_rng([*seed, n]))
        u = marginal_field(fam, xt, t)
        losses.append(MeanSE.of(((u - d) ** 2).sum(1)))
        v = linear_features(xt, t) @ theta.T
        diffs.append(MeanSE.of(((v - d) ** 2).sum(1) - ((v - u) ** 2).sum(1)))
    return LossDecomposition(
        sz.rhos,
        np.array(quads),
        losses,
        diffs,
        seeds={"mc": seed, "theta": run.seed_list(40)},
        sizes=sz,
        settings={"quad": "epsabs 1e-12, epsrel 1e-12"},
    )
