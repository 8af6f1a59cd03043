"""``mfm/lemma-3.1-gradient-equivalence``: the JCFM - FM cross term and gradient difference by Monte Carlo."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    FAMILY_3,
    MarginalField,
    condot_pairs,
    linear_features,
    marginal_field,
    section,
)
from numerics.gaussian_family import GaussianCoupling


# ---------------------------------------------------------------------------------------------
# mfm/lemma-3.1-gradient-equivalence
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradientEquivalenceSizes(Sizes):
    pairs: int = 200_000
    thetas: int = 5


LEMMA_31 = Tier.same(
    "mfm/lemma-3.1-gradient-equivalence", GradientEquivalenceSizes(), section("mfm/lemma-3.1-gradient-equivalence")
)


@dataclass(frozen=True)
class GradientEquivalence(Measurement):
    """Per family member: cross term / SE for each random Theta, and grad difference / SE per component."""

    members: tuple[tuple[float, float], ...]
    cross_z: np.ndarray
    grad_z: np.ndarray


def gradient_equivalence(run: RunSpec, field: MarginalField = marginal_field) -> GradientEquivalence:
    r"""Monte Carlo of :math:`\mathbb E[(v_\Theta-u_t)\cdot(u_t-D)]` and of :math:`\nabla_\Theta(\mathcal L_{\rm JCFM}-\mathcal L_{\rm FM})`.

    ``field(fam, x, t)`` is the FM field under test; the pairs are those of the family member.
    """
    sz = run.sizes(LEMMA_31)
    seed_theta = run.seed_list(40)
    thetas = np.random.default_rng(seed_theta).standard_normal((sz.thetas, 2, 6))
    cross_z, grad_z = [], []
    for ci, (rho, phi) in enumerate(FAMILY_3):
        fam = GaussianCoupling(rho=rho, phi=phi)
        t, xt, d = condot_pairs(fam, sz.pairs, np.random.default_rng([*seed_theta, 1, ci]), (0.01, 0.99))
        u = field(fam, xt, t)
        feats = linear_features(xt, t)
        zs = []
        for th in thetas:
            c = ((feats @ th.T - u) * (u - d)).sum(1)
            zs.append(c.mean() / (c.std(ddof=1) / np.sqrt(sz.pairs)))
        cross_z.append(zs)
        # gradient difference: 2 (u - D) phi^T per sample, independent of Theta
        gd = (2 * (u - d)[:, :, None] * feats[:, None, :]).reshape(sz.pairs, -1)
        grad_z.append(gd.mean(0) / (gd.std(0, ddof=1) / np.sqrt(sz.pairs)))
    return GradientEquivalence(
        FAMILY_3,
        np.array(cross_z),
        np.array(grad_z),
        seeds={"theta": run.seed_for(40), "mc": [*seed_theta, 1]},
        sizes=sz,
        settings={"times": "uniform in [0.01, 0.99]", "model": "linear in [1, x, t, t x]"},
    )
