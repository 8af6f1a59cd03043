r"""Independent computations for the Gaussian closed forms of :mod:`theory.gaussians`.

- :func:`random_spd`: seeded SPD matrices with a prescribed condition number;
- :func:`gaussian_kl_mp`: the KL at arbitrary precision with mpmath (slow reference);
- :func:`kl_monte_carlo`: :math:`\mathbb E_{\mathcal N_0}[\ln p_0-\ln p_1]` by sampling, with its standard error;
- :func:`sorted_matching_cost`: empirical OT cost between two 1-D samples (sorted matching);
- :func:`expected_sorted_matching_cost`: its exact expectation for Gaussian samples, through the
  expectations of normal order statistics.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
from scipy import special, stats

from theory.validation import dense_guard, integer, real_array, real_scalar


def random_spd(d: int, rng: np.random.Generator, cond: float = 10.0, scale: float = 1.0) -> np.ndarray:
    """Random SPD matrix :math:`Q\\,\\mathrm{diag}(\\lambda)Q^\\top` with Haar :math:`Q` and
    log-uniformly spaced eigenvalues from ``scale`` to ``scale * cond`` (exact condition number)."""
    d = integer(d, "d", 1)
    cond, scale = real_scalar(cond, "cond", 1.0), real_scalar(scale, "scale", 0.0, lo_open=True)
    dense_guard((d, d), "random SPD matrix", copies=4)
    q = stats.special_ortho_group.rvs(d, random_state=rng) if d > 1 else np.ones((1, 1))
    lam = scale * np.geomspace(1.0, cond, d) if d > 1 else np.array([scale])
    c = (q * lam) @ q.T
    return (c + c.T) / 2


def _check_spd(c: np.ndarray, name: str) -> None:
    """Refuse a covariance that is not symmetric positive definite (the KL is undefined, not a number)."""
    if not np.allclose(c, c.T, rtol=0, atol=1e-12 * float(np.abs(c).max())):
        raise ValueError(f"{name} must be symmetric")
    try:
        np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite") from None


def gaussian_kl_mp(mean0, cov0, mean1, cov1, dps: int = 50) -> mp.mpf:
    """KL(N0 || N1) evaluated with mpmath at ``dps`` digits (explicit inverse and determinants,
    which is fine at that precision)."""
    mean0, mean1 = real_array(mean0, "mean0", ndim=1), real_array(mean1, "mean1", ndim=1)
    cov0, cov1 = real_array(cov0, "cov0", ndim=2), real_array(cov1, "cov1", ndim=2)
    d = mean0.size
    if d == 0 or mean1.shape != (d,) or cov0.shape != (d, d) or cov1.shape != (d, d):
        raise ValueError(
            f"shapes do not match: means {mean0.shape}, {mean1.shape}, covariances {cov0.shape}, {cov1.shape}"
        )
    dps = integer(dps, "dps", 15)
    for name, c in (("cov0", cov0), ("cov1", cov1)):
        _check_spd(c, name)
    with mp.workdps(dps):
        m0, m1 = mp.matrix(list(map(float, mean0))), mp.matrix(list(map(float, mean1)))
        c0 = mp.matrix([[float(v) for v in row] for row in cov0])
        c1 = mp.matrix([[float(v) for v in row] for row in cov1])
        d = c0.rows
        c1inv = mp.inverse(c1)
        tr = sum((c1inv * c0)[i, i] for i in range(d))
        dm = m1 - m0
        maha = (dm.T * c1inv * dm)[0, 0]
        return (tr - d + maha + mp.log(mp.det(c1)) - mp.log(mp.det(c0))) / 2


def kl_monte_carlo(mean0, cov0, mean1, cov1, n: int, rng: np.random.Generator) -> tuple[float, float]:
    """Monte Carlo estimate of KL(N0 || N1) and its standard error from ``n`` draws of N0."""
    mean0, mean1 = real_array(mean0, "mean0", ndim=1), real_array(mean1, "mean1", ndim=1)
    cov0, cov1 = real_array(cov0, "cov0", ndim=2), real_array(cov1, "cov1", ndim=2)
    n = integer(n, "n", 2)
    dense_guard((n, mean0.size), "Monte Carlo draws", copies=3)
    x = rng.multivariate_normal(mean0, cov0, size=n)
    r = stats.multivariate_normal(mean0, cov0).logpdf(x) - stats.multivariate_normal(mean1, cov1).logpdf(x)
    return float(r.mean()), float(r.std(ddof=1) / np.sqrt(n))


def sorted_matching_cost(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-point optimal matching cost between equal-size 1-D samples along the last axis.

    In 1-D the optimal assignment for a convex cost matches order statistics, so the empirical
    :math:`W_2^2` is the mean of squared differences of the sorted samples.
    """
    x, y = real_array(x, "x"), real_array(y, "y")
    if x.ndim < 1 or x.shape[-1] == 0:
        raise ValueError(f"samples must have at least one point along the last axis, got shape {x.shape}")
    if x.shape != y.shape:
        raise ValueError(f"samples must have the same shape, got {x.shape} and {y.shape}")
    return np.mean((np.sort(x, axis=-1) - np.sort(y, axis=-1)) ** 2, axis=-1)


def normal_order_statistic_means(n: int, grid: int = 40001, half_width: float = 12.0) -> np.ndarray:
    r"""Expectations :math:`\mathbb E Z_{(i:n)}` of standard normal order statistics.

    .. math::
        \mathbb E Z_{(i:n)} = \int z\,\frac{n!}{(i-1)!(n-i)!}\Phi(z)^{i-1}(1-\Phi(z))^{n-i}\varphi(z)\,dz,

    by Simpson's rule on a fine grid (log-space densities; error far below 1e-10 for n ≤ 10^4).
    """
    from scipy.integrate import simpson

    n, grid = integer(n, "n", 1), integer(grid, "grid", 3)
    half_width = real_scalar(half_width, "half_width", 0.0, lo_open=True)
    dense_guard((n, grid), "order-statistic densities", copies=4)
    z = np.linspace(-half_width, half_width, grid)
    logphi, logcdf, logsf = stats.norm.logpdf(z), special.log_ndtr(z), special.log_ndtr(-z)
    i = np.arange(1, n + 1)[:, None]
    logc = special.gammaln(n + 1) - special.gammaln(i) - special.gammaln(n - i + 1)
    dens = np.exp(logc + (i - 1) * logcdf + (n - i) * logsf + logphi)
    return simpson(dens * z, x=z, axis=1)


def expected_sorted_matching_cost(m0: float, s0: float, m1: float, s1: float, n: int) -> float:
    r"""Exact :math:`\mathbb E` of :func:`sorted_matching_cost` for independent samples of size ``n``.

    With :math:`x_{(i)}=m_0+s_0Z_{(i)}`, :math:`y_{(i)}=m_1+s_1Z'_{(i)}` and independent order
    statistics, :math:`\mathbb E[Z_{(i)}Z'_{(i)}]=\mu_{i:n}^2`, hence

    .. math::
        \mathbb E\,\hat c_n = (m_0-m_1)^2 + (s_0-s_1)^2 + 2s_0s_1\Big(1-\frac1n\sum_i\mu_{i:n}^2\Big),

    i.e. the Gaussian :math:`W_2^2` plus a finite-sample bias that vanishes as :math:`n\to\infty`.
    """
    m0, s0, m1, s1 = (real_scalar(v, name) for v, name in ((m0, "m0"), (s0, "s0"), (m1, "m1"), (s1, "s1")))
    if s0 < 0 or s1 < 0:
        raise ValueError(f"standard deviations must be >= 0, got {s0}, {s1}")
    mu = normal_order_statistic_means(n)
    return (m0 - m1) ** 2 + (s0 - s1) ** 2 + 2 * s0 * s1 * (1.0 - float(np.mean(mu**2)))
