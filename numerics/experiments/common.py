r"""Measurements of the shared Gaussian closed forms (``common/`` claims): W2 and KL.

Each function draws its cases from the run's seed, evaluates the closed form under test (passed
in, so a negative control can pass a wrong one) and an independent computation (POT, Monte
Carlo, mpmath at 50 digits, a second-order expansion), and returns both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import ot

from numerics.experiments import RunSpec, Sizes, Tier
from numerics.gaussians import (
    expected_sorted_matching_cost,
    gaussian_kl_mp,
    kl_monte_carlo,
    random_spd,
    sorted_matching_cost,
)
from theory.gaussians import gaussian_kl_diagonal, gaussian_w2_squared_diagonal, spd_sqrt

GaussianPairFn = Callable[..., float]
SECTION = "spec README (shared Gaussian closed forms; sizes of this project's common/ claims)"


def random_pairs(rng: np.random.Generator, dims: tuple[int, ...], cond: float) -> list[tuple[np.ndarray, ...]]:
    """``(m0, S0, m1, S1)`` per dimension: Gaussian means, Haar-rotated SPD covariances of condition ``cond``."""
    return [(rng.normal(size=d), random_spd(d, rng, cond), rng.normal(size=d), random_spd(d, rng, cond)) for d in dims]


# ---------------------------------------------------------------------------------------- W2
@dataclass(frozen=True)
class W2Sizes(Sizes):
    dims: tuple[int, ...] = (1, 2, 3, 5, 8, 16, 1, 2, 3, 5, 8, 16)
    diagonal_dims: tuple[int, ...] = (1, 4, 9)


W2_CLOSED_FORM = Tier.same("common/gaussian-w2-closed-form", W2Sizes(), SECTION)


@dataclass(frozen=True)
class W2ClosedForm:
    """Closed form vs POT on random pairs, and the general form vs the SymPy diagonal form."""

    ours: np.ndarray
    pot: np.ndarray
    diagonal_general: np.ndarray
    diagonal_sympy: np.ndarray


def w2_closed_form(run: RunSpec, w2: GaussianPairFn) -> W2ClosedForm:
    sz = run.sizes(W2_CLOSED_FORM)
    rng = run.rng(100)
    pairs = random_pairs(rng, sz.dims, cond=100.0)
    ours = np.array([w2(*p) for p in pairs])
    pot = np.array([ot.gaussian.bures_wasserstein_distance(m0, m1, c0, c1) ** 2 for m0, c0, m1, c1 in pairs])
    diag = [
        (rng.normal(size=d), rng.uniform(0.1, 4.0, d), rng.normal(size=d), rng.uniform(0.1, 4.0, d))
        for d in sz.diagonal_dims
    ]
    sym = np.array([gaussian_w2_squared_diagonal(*p) for p in diag])
    num = np.array([w2(m0, np.diag(a), m1, np.diag(b)) for m0, a, m1, b in diag])
    return W2ClosedForm(ours, pot, num, sym)


@dataclass(frozen=True)
class W2Empirical1dSizes(Sizes):
    n: int = 200
    replicates: int = 2000


W2_EMPIRICAL_1D = Tier.same("common/gaussian-w2-empirical-1d", W2Empirical1dSizes(), SECTION)
W2_1D_CASES = ((0.0, 1.0, 2.0, 0.5), (1.0, 2.0, -0.5, 0.7), (0.0, 1.0, 0.0, 3.0))


@dataclass(frozen=True)
class W2Empirical1d:
    """Mean sorted-matching cost per case, its SE, and the closed form plus the exact finite-n bias."""

    mean_cost: np.ndarray
    se: np.ndarray
    expected: np.ndarray

    @property
    def z(self) -> np.ndarray:
        return np.abs(self.mean_cost - self.expected) / self.se


def w2_empirical_1d(run: RunSpec, w2: GaussianPairFn) -> W2Empirical1d:
    sz = run.sizes(W2_EMPIRICAL_1D)
    rng = run.rng(101)
    means, ses, expected = [], [], []
    for m0, s0, m1, s1 in W2_1D_CASES:
        costs = sorted_matching_cost(
            rng.normal(m0, s0, (sz.replicates, sz.n)), rng.normal(m1, s1, (sz.replicates, sz.n))
        )
        # E[cost] = W2^2 + finite-sample bias 2 s0 s1 (1 - mean mu_{i:n}^2); the bias is exact,
        # the W2^2 part comes from the closed form under test.
        bias = expected_sorted_matching_cost(m0, s0, m1, s1, sz.n) - ((m0 - m1) ** 2 + (s0 - s1) ** 2)
        expected.append(w2([m0], [[s0**2]], [m1], [[s1**2]]) + bias)
        means.append(costs.mean())
        ses.append(costs.std(ddof=1) / np.sqrt(sz.replicates))
    return W2Empirical1d(np.array(means), np.array(ses), np.array(expected))


# ---------------------------------------------------------------------------------------- KL
@dataclass(frozen=True)
class KLDiagonalSizes(Sizes):
    dims: tuple[int, ...] = (1, 3, 7, 20)


KL_CLOSED_FORM = Tier.same("common/gaussian-kl-closed-form", KLDiagonalSizes(), SECTION)


def kl_closed_form(run: RunSpec, kl: GaussianPairFn) -> tuple[np.ndarray, np.ndarray]:
    """``(closed form under test, lambdified SymPy form)`` on random diagonal pairs."""
    rng = run.rng(102)
    cases = [
        (rng.normal(size=d), rng.uniform(0.05, 5, d), rng.normal(size=d), rng.uniform(0.05, 5, d))
        for d in run.sizes(KL_CLOSED_FORM).dims
    ]
    sym = np.array([gaussian_kl_diagonal(*c) for c in cases])
    num = np.array([kl(m0, np.diag(a), m1, np.diag(b)) for m0, a, m1, b in cases])
    return num, sym


@dataclass(frozen=True)
class KLMonteCarloSizes(Sizes):
    dims: tuple[int, ...] = (1, 3, 6)
    samples: int = 100_000


KL_MONTE_CARLO = Tier.same("common/gaussian-kl-monte-carlo", KLMonteCarloSizes(), SECTION)


@dataclass(frozen=True)
class KLMonteCarlo:
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
    return KLMonteCarlo(np.array(est), np.array(se), np.array(exact))


@dataclass(frozen=True)
class KLZeroSizes(Sizes):
    dims: tuple[int, ...] = (1, 2, 5, 10, 30)


KL_ZERO_IFF_EQUAL = Tier.same("common/gaussian-kl-zero-iff-equal", KLZeroSizes(), SECTION)


def kl_zero_iff_equal(run: RunSpec, kl: GaussianPairFn) -> tuple[np.ndarray, np.ndarray]:
    """``(KL(N, N) per pair, KL(N0, perturbed N0) / its second-order expansion per pair)``.

    The expansion :math:`\\tfrac12\\delta m^\\top\\Sigma^{-1}\\delta m+\\tfrac14\\operatorname{tr}((\\Sigma^{-1}\\delta\\Sigma)^2)`
    of a perturbation of size :math:`10^{-3}`: a formula that vanishes too early fails the ratio.
    """
    rng = run.rng(104)
    pairs = random_pairs(rng, run.sizes(KL_ZERO_IFF_EQUAL).dims, cond=10.0)
    same = np.array([kl(m0, c0, m0, c0) for m0, c0, _, _ in pairs])
    ratios = []
    for m0, c0, _, _ in pairs:
        d = m0.shape[0]
        dm = 1e-3 * rng.normal(size=d)
        e = rng.normal(size=(d, d))
        ds = 1e-3 * (e + e.T) / 2
        quad = 0.5 * dm @ np.linalg.solve(c0, dm) + 0.25 * np.trace(np.linalg.matrix_power(np.linalg.solve(c0, ds), 2))
        ratios.append(kl(m0, c0, m0 + dm, c0 + ds) / quad)
    return same, np.array(ratios)


@dataclass(frozen=True)
class KLHighPrecisionSizes(Sizes):
    dims: tuple[int, ...] = (2, 4, 6, 8)
    condition: float = 1e8
    dps: int = 50


KL_HIGH_PRECISION = Tier.same("common/gaussian-kl-high-precision", KLHighPrecisionSizes(), SECTION)


@dataclass(frozen=True)
class KLHighPrecision:
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

    return KLHighPrecision(np.array([rel(p) for p in independent]), np.array([rel(p) for p in close]))
