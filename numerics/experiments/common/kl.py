"""Measurements of the ``common/gaussian-kl-*`` claims: the Gaussian KL against SymPy, Monte Carlo, its second-order expansion and mpmath."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.common._shared import SECTION, GaussianPairFn, random_pairs
from numerics.gaussians import gaussian_kl_mp, kl_monte_carlo, random_spd
from theory.gaussians import gaussian_kl_diagonal, spd_sqrt


@dataclass(frozen=True)
class KLDiagonalSizes(Sizes):
    dims: tuple[int, ...] = (1, 3, 7, 20)


KL_CLOSED_FORM = Tier.same("common/gaussian-kl-closed-form", KLDiagonalSizes(), SECTION)


@dataclass(frozen=True)
class KLClosedForm(Measurement):
    """The closed form under test and the lambdified SymPy form on the same random diagonal pairs."""

    numeric: np.ndarray
    sympy: np.ndarray


def kl_closed_form(run: RunSpec, kl: GaussianPairFn) -> KLClosedForm:
    """The closed form under test and the lambdified SymPy form on random diagonal pairs."""
    sz = run.sizes(KL_CLOSED_FORM)
    rng = run.rng(102)
    cases = [
        (rng.normal(size=d), rng.uniform(0.05, 5, d), rng.normal(size=d), rng.uniform(0.05, 5, d)) for d in sz.dims
    ]
    sym = np.array([gaussian_kl_diagonal(*c) for c in cases])
    num = np.array([kl(m0, np.diag(a), m1, np.diag(b)) for m0, a, m1, b in cases])
    return KLClosedForm(num, sym, seeds={"pairs": run.seed_for(102)}, sizes=sz)


@dataclass(frozen=True)
class KLMonteCarloSizes(Sizes):
    dims: tuple[int, ...] = (1, 3, 6)
    samples: int = 100_000


KL_MONTE_CARLO = Tier.same("common/gaussian-kl-monte-carlo", KLMonteCarloSizes(), SECTION)


@dataclass(frozen=True)
class KLMonteCarlo(Measurement):
    estimate: np.ndarray
    se: np.ndarray
    closed_form: np.ndarray

    @property
    def z(self) -> np.ndarray:
        return np.abs(self.estimate - self.closed_form) / self.se


def kl_monte_carlo_agreement(run: RunSpec, kl: GaussianPairFn) -> KLMonteCarlo:
    sz = run.sizes(KL_MONTE_CARLO)
    rng = run.rng(103)
    est, se, exact = [], [], []
    for m0, c0, m1, c1 in random_pairs(rng, sz.dims, cond=10.0):
        e, s = kl_monte_carlo(m0, c0, m1, c1, sz.samples, rng)
        est.append(e)
        se.append(s)
        exact.append(kl(m0, c0, m1, c1))
    return KLMonteCarlo(
        np.array(est), np.array(se), np.array(exact), seeds={"pairs and samples": run.seed_for(103)}, sizes=sz
    )


@dataclass(frozen=True)
class KLZeroSizes(Sizes):
    dims: tuple[int, ...] = (1, 2, 5, 10, 30)


KL_ZERO_IFF_EQUAL = Tier.same("common/gaussian-kl-zero-iff-equal", KLZeroSizes(), SECTION)


@dataclass(frozen=True)
class KLZeroIffEqual(Measurement):
    """KL(N, N) per pair (``same``) and KL(N0, perturbed N0) over its second-order expansion per pair (``ratios``)."""

    same: np.ndarray
    ratios: np.ndarray


def kl_zero_iff_equal(run: RunSpec, kl: GaussianPairFn) -> KLZeroIffEqual:
    """KL(N, N) per pair, and KL(N0, perturbed N0) over its second-order expansion per pair.

    The expansion :math:`\\tfrac12\\delta m^\\top\\Sigma^{-1}\\delta m+\\tfrac14\\operatorname{tr}((\\Sigma^{-1}\\delta\\Sigma)^2)`
    of a perturbation of size :math:`10^{-3}`: a formula that vanishes too early fails the ratio.
    """
    sz = run.sizes(KL_ZERO_IFF_EQUAL)
    rng = run.rng(104)
    pairs = random_pairs(rng, sz.dims, cond=10.0)
    same = np.array([kl(m0, c0, m0, c0) for m0, c0, _, _ in pairs])
    ratios = []
    for m0, c0, _, _ in pairs:
        d = m0.shape[0]
        dm = 1e-3 * rng.normal(size=d)
        e = rng.normal(size=(d, d))
        ds = 1e-3 * (e + e.T) / 2
        quad = 0.5 * dm @ np.linalg.solve(c0, dm) + 0.25 * np.trace(np.linalg.matrix_power(np.linalg.solve(c0, ds), 2))
        ratios.append(kl(m0, c0, m0 + dm, c0 + ds) / quad)
    return KLZeroIffEqual(same, np.array(ratios), seeds={"pairs and perturbations": run.seed_for(104)}, sizes=sz)


@dataclass(frozen=True)
class KLHighPrecisionSizes(Sizes):
    dims: tuple[int, ...] = (2, 4, 6, 8)
    condition: float = 1e8
    dps: int = 50


KL_HIGH_PRECISION = Tier.same("common/gaussian-kl-high-precision", KLHighPrecisionSizes(), SECTION)


@dataclass(frozen=True)
class KLHighPrecision(Measurement):
    """Relative errors against mpmath on two families of ill-conditioned pairs."""

    rel_independent: np.ndarray
    rel_whitened_close: np.ndarray

    @property
    def worst(self) -> float:
        return float(max(self.rel_independent.max(), self.rel_whitened_close.max()))


def kl_high_precision(run: RunSpec, kl: GaussianPairFn) -> KLHighPrecision:
    """Relative error of ``kl`` against a ``dps``-digit mpmath KL at condition number ``condition``.

    Two families: independent covariances (KL ~ cond, dominated by the trace term) and pairs
    close in the whitened sense, :math:`S_1=S_0^{1/2}WS_0^{1/2}` with cond(W) = 10 (KL ~ d; generated
    vs target covariances), where the trace and log-determinant terms cancel.
    """
    sz = run.sizes(KL_HIGH_PRECISION)
    rng = run.rng(105)
    independent = random_pairs(rng, sz.dims, cond=sz.condition)
    close = []
    for d in sz.dims:
        c0 = random_spd(d, rng, sz.condition)
        h = spd_sqrt(c0)
        c1 = h @ random_spd(d, rng, 10.0) @ h
        m0 = rng.normal(size=d)
        close.append((m0, c0, m0 + h @ rng.normal(size=d), (c1 + c1.T) / 2))

    def rel(p: tuple[np.ndarray, ...]) -> float:
        ref = float(gaussian_kl_mp(*p, dps=sz.dps))
        return abs(kl(*p) - ref) / ref

    return KLHighPrecision(
        np.array([rel(p) for p in independent]),
        np.array([rel(p) for p in close]),
        seeds={"pairs": run.seed_for(105)},
        sizes=sz,
        settings={"mpmath_dps": sz.dps},
    )
