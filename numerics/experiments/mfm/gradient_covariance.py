"""``mfm/lemma-3.2-gradient-covariance``: the per-(x, t) covariance of the minibatch gradient and its trace bound."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    linear_features,
    section,
)
from numerics.gaussian_family import GaussianCoupling


# ---------------------------------------------------------------------------------------------
# mfm/lemma-3.2-gradient-covariance
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradientCovarianceSizes(Sizes):
    points: int = 10
    samples: int = 100_000
    dense_jacobians: int = 10
    dense_samples: int = 2000


LEMMA_32_COV = Tier.same(
    "mfm/lemma-3.2-gradient-covariance", GradientCovarianceSizes(), section("mfm/lemma-3.2-gradient-covariance")
)
CovarianceFormula = Callable[[np.ndarray, np.ndarray], np.ndarray]


def gradient_covariance_formula(jac: np.ndarray, cond_cov: np.ndarray) -> np.ndarray:
    """:math:`\\mathrm{Cov}(g\\mid x,t)=4J^\\top\\mathrm{Cov}(u\\mid x)J` (spec §1.3, derived)."""
    return 4 * jac.T @ cond_cov @ jac


@dataclass(frozen=True)
class GradientCovariance(Measurement):
    """Relative Frobenius error of the sampled Cov(g) per point, the trace ratios to the bound."""

    rel_error: np.ndarray
    formula_over_bound: np.ndarray
    sampled_over_bound: np.ndarray
    dense_over_bound: float


def gradient_covariance(run: RunSpec, formula: CovarianceFormula = gradient_covariance_formula) -> GradientCovariance:
    r"""Sampled covariance of :math:`g=2J^\top(v-u)` at fixed :math:`(x,t)` against ``formula(J, Cov(u|x))``, and the trace bound.

    Linear model :math:`v=\Theta\varphi(x,t)` at ``points`` random :math:`(x,t)` (seed 41) of the
    :math:`\rho=0.5` family member. The draws of :math:`D\mid X_t=x` come from ``samples`` pairs
    :math:`(x_0,x_1)` sampled from the coupling itself, not from the conditional covariance the formula
    uses: in this family :math:`(X_t,D)` is jointly Gaussian, so the residuals of the least-squares
    regression of :math:`D` on :math:`(1,X_t)` are independent of :math:`X_t` with law
    :math:`\mathcal N(0,\mathrm{Cov}(D\mid X_t))`, and fitted mean plus residuals are draws of
    :math:`D\mid X_t=x` (rescaled to :math:`M-3` degrees of freedom). Then ``dense_jacobians`` random
    dense :math:`J` (seed 42) with the true and a sampled covariance.
    """
    sz = run.sizes(LEMMA_32_COV)
    rng = run.rng(41)
    fam = GaussianCoupling(rho=0.5)
    theta = rng.standard_normal((2, 6))
    errs, formula_ratio, sampled_ratio = [], [], []
    for _ in range(sz.points):
        x, tt = rng.standard_normal(2) * 1.5, float(rng.uniform(0.05, 0.95))
        cond = fam.conditional_cov(tt)
        x0, x1 = fam.sample(sz.samples, rng)
        design = np.column_stack([np.ones(sz.samples), (1 - tt) * x0 + tt * x1])
        coef, *_ = np.linalg.lstsq(design, x1 - x0, rcond=None)
        resid = (x1 - x0) - design @ coef
        d = np.r_[1.0, x] @ coef + resid * np.sqrt((sz.samples - 1) / (sz.samples - 3))
        feats = linear_features(x[None], np.array([tt]))[0]
        jac = np.kron(np.eye(2), feats[None, :])  # d v / d vec(Theta), shape (2, 12), row-major Theta
        g = 2 * (theta @ feats - d) @ jac
        s = np.cov(g, rowvar=False)
        pred = formula(jac, cond)
        bound = 4 * np.linalg.norm(jac, 2) ** 2 * np.trace(cond)
        errs.append(np.linalg.norm(s - pred) / np.linalg.norm(pred))
        formula_ratio.append(np.trace(pred) / bound)
        sampled_ratio.append(np.trace(s) / bound)
    rj = run.rng(42)
    worst = 0.0
    for _ in range(sz.dense_jacobians):
        jac = rj.standard_normal((2, 50))
        tt = float(rj.uniform(0.05, 0.95))
        cond = fam.conditional_cov(tt)
        s_u = np.cov(rj.standard_normal((sz.dense_samples, 2)) @ np.linalg.cholesky(cond).T, rowvar=False)
        for c in (cond, s_u):
            worst = max(worst, np.trace(formula(jac, c)) / (4 * np.linalg.norm(jac, 2) ** 2 * np.trace(c)))
    return GradientCovariance(
        np.array(errs),
        np.array(formula_ratio),
        np.array(sampled_ratio),
        float(worst),
        seeds={"points": run.seed_for(41), "dense_J": run.seed_for(42)},
        sizes=sz,
        settings={"member": "rho = 0.5", "D given x_t": "sampled coupling pairs, least-squares residuals"},
    )
