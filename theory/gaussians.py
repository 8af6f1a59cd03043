r"""Closed forms for Gaussians shared by the couplings and linear-diffusion papers.

Two quantities, each derived symbolically in the commuting (diagonal) case and evaluated
numerically in general:

- the squared 2-Wasserstein (Bures–Wasserstein) distance [1]_

  .. math::
      W_2^2(\mathcal N(m_0,\Sigma_0),\mathcal N(m_1,\Sigma_1)) = \|m_0-m_1\|^2
      + \operatorname{tr}\big(\Sigma_0+\Sigma_1-2(\Sigma_1^{1/2}\Sigma_0\Sigma_1^{1/2})^{1/2}\big);

- the Kullback–Leibler divergence [2]_

  .. math::
      \mathrm{KL}(\mathcal N_0\|\mathcal N_1) = \tfrac12\Big[\operatorname{tr}(\Sigma_1^{-1}\Sigma_0) - d
      + (m_1-m_0)^\top\Sigma_1^{-1}(m_1-m_0) + \ln\frac{\det\Sigma_1}{\det\Sigma_0}\Big].

The KL is evaluated with Cholesky factors only (no explicit inverse or determinant),
one refinement step with an extended-precision residual:
with :math:`\Sigma_i = L_iL_i^\top`, :math:`\operatorname{tr}(\Sigma_1^{-1}\Sigma_0)=\|L_1^{-1}L_0\|_F^2`,
the Mahalanobis term is :math:`\|L_1^{-1}(m_1-m_0)\|^2` and
:math:`\ln\det\Sigma_i = 2\sum_k\ln (L_i)_{kk}`.

References
----------
.. [1] D. C. Dowson, B. V. Landau, "The Fréchet distance between multivariate normal
   distributions", J. Multivariate Anal. 12 (1982).
.. [2] S. Kullback, "Information Theory and Statistics", Wiley (1959).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.linalg as sla
import sympy as sp

from theory.validation import real_array

# ---------------------------------------------------------------------------------------------
# Symbolic derivations (commuting / diagonal case), built once
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def w2_squared_1d_expr() -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    r"""Per-coordinate :math:`W_2^2` for commuting covariances, derived from the Bures formula.

    For diagonal :math:`\Sigma_0=\mathrm{diag}(a)`, :math:`\Sigma_1=\mathrm{diag}(b)` the matrix
    square roots act entrywise, so each coordinate contributes
    :math:`(m_0-m_1)^2 + a + b - 2\sqrt{\sqrt b\,a\sqrt b}`, which SymPy simplifies to
    :math:`(m_0-m_1)^2+(\sqrt a-\sqrt b)^2`.
    """
    m0, m1 = sp.symbols("m0 m1", real=True)
    a, b = sp.symbols("a b", positive=True)
    bures = a + b - 2 * sp.sqrt(sp.sqrt(b) * a * sp.sqrt(b))
    expr = sp.simplify((m0 - m1) ** 2 + bures)
    return expr, (m0, a, m1, b)


@lru_cache(maxsize=1)
def kl_1d_expr() -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    r"""Per-coordinate KL of two 1-D Gaussians, derived by integrating the log-density ratio.

    .. math::
        \mathrm{KL} = \int \mathcal N(x;m_0,a)\,\big[\ln\mathcal N(x;m_0,a)-\ln\mathcal N(x;m_1,b)\big]\,dx ,

    with variances :math:`a,b>0`. For diagonal covariances the KL is the sum over coordinates.
    """
    x, m0, m1 = sp.symbols("x m0 m1", real=True)
    a, b = sp.symbols("a b", positive=True)

    def logpdf(m: sp.Expr, v: sp.Expr) -> sp.Expr:
        return -((x - m) ** 2) / (2 * v) - sp.log(2 * sp.pi * v) / 2

    p0 = sp.exp(logpdf(m0, a))
    # Expand the log-ratio into moments of x under p0 (a polynomial of degree 2 in x), which
    # SymPy integrates exactly; a direct integral of p0*log-ratio is slower but gives the same.
    ratio = sp.expand(logpdf(m0, a) - logpdf(m1, b))
    poly = sp.Poly(ratio, x)
    moments = [sp.integrate(x**k * p0, (x, -sp.oo, sp.oo)) for k in range(3)]
    expr = sum(coef * moments[k] for (k,), coef in poly.terms())
    # expand_log keeps the lambdified form free of b**b (which overflows for large variances)
    return sp.expand(sp.expand_log(sp.simplify(expr), force=True)), (m0, a, m1, b)


@lru_cache(maxsize=1)
def _lambdified() -> tuple:
    w2e, w2s = w2_squared_1d_expr()
    kle, kls = kl_1d_expr()
    return sp.lambdify(w2s, w2e, "numpy"), sp.lambdify(kls, kle, "numpy")


def _diagonal_pair(mean0, var0, mean1, var1, positive: bool) -> tuple[np.ndarray, ...]:
    """Validated means and variances of two diagonal Gaussians (broadcast against each other)."""
    arrays = tuple(real_array(v, n) for v, n in ((mean0, "mean0"), (var0, "var0"), (mean1, "mean1"), (var1, "var1")))
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise ValueError(f"means and variances do not broadcast: {[a.shape for a in arrays]}") from None
    for name, v in (("var0", arrays[1]), ("var1", arrays[3])):
        if np.any(v <= 0) if positive else np.any(v < 0):
            raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}")
    return arrays


def gaussian_w2_squared_diagonal(mean0, var0, mean1, var1) -> float:
    """:math:`W_2^2` between Gaussians with diagonal covariances (lambdified SymPy form; variances >= 0)."""
    m0, a, m1, b = _diagonal_pair(mean0, var0, mean1, var1, positive=False)
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite_result(float(np.sum(_lambdified()[0](m0, a, m1, b))), "W2^2")


def gaussian_kl_diagonal(mean0, var0, mean1, var1) -> float:
    """KL between Gaussians with diagonal covariances (lambdified SymPy form; variances > 0)."""
    m0, a, m1, b = _diagonal_pair(mean0, var0, mean1, var1, positive=True)
    with np.errstate(over="ignore", invalid="ignore"):
        return _finite_result(float(np.sum(_lambdified()[1](m0, a, m1, b))), "KL")


# ---------------------------------------------------------------------------------------------
# General case (float64)
# ---------------------------------------------------------------------------------------------


def _check_pair(mean0, cov0, mean1, cov1) -> tuple[np.ndarray, ...]:
    m0 = np.atleast_1d(real_array(mean0, "mean0", finite=False))
    m1 = np.atleast_1d(real_array(mean1, "mean1", finite=False))
    c0 = np.atleast_2d(real_array(cov0, "cov0", finite=False))
    c1 = np.atleast_2d(real_array(cov1, "cov1", finite=False))
    d = m0.shape[0]
    if m0.ndim != 1 or d == 0 or m1.shape != (d,):
        raise ValueError(f"means must be vectors of the same length, got shapes {m0.shape} and {m1.shape}")
    for name, c in (("cov0", c0), ("cov1", c1)):
        if c.shape != (d, d):
            raise ValueError(f"{name} must have shape ({d}, {d}) to match the means, got {c.shape}")
    for name, v in (("mean0", m0), ("mean1", m1), ("cov0", c0), ("cov1", c1)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} contains NaN or inf")
    for name, c in (("cov0", c0), ("cov1", c1)):
        if not np.allclose(c, c.T, rtol=1e-12, atol=1e-14 * np.abs(c).max()):
            raise ValueError(f"{name} is not symmetric")
    return m0, c0, m1, c1


def _finite_result(value: float, what: str) -> float:
    """``value``, or ``ValueError`` when the closed form overflowed float64 (inputs at extreme scales)."""
    if not np.isfinite(value):
        raise ValueError(f"{what} overflows float64 for inputs at this scale (got {value}); rescale them")
    return value


def _cholesky(c: np.ndarray, name: str) -> np.ndarray:
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} is not symmetric positive definite (Cholesky failed)") from None


def spd_sqrt(c: np.ndarray, name: str = "covariance") -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix via ``eigh``."""
    c = real_array(c, name, ndim=2)
    if c.shape[0] != c.shape[1] or c.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {c.shape}")
    lam, v = np.linalg.eigh((c + c.T) / 2)
    if lam.min() < -1e-12 * max(abs(lam.max()), 1.0):
        raise ValueError(f"{name} is not positive semi-definite (eigenvalue {lam.min():.3g})")
    return (v * np.sqrt(np.clip(lam, 0.0, None))) @ v.T


def gaussian_w2_squared(mean0, cov0, mean1, cov1) -> float:
    r"""Squared 2-Wasserstein distance between two Gaussians (Bures–Wasserstein).

    .. math::
        W_2^2 = \|m_0-m_1\|^2 + \operatorname{tr}\Sigma_0 + \operatorname{tr}\Sigma_1
        - 2\operatorname{tr}\big(\Sigma_1^{1/2}\Sigma_0\Sigma_1^{1/2}\big)^{1/2}

    Square roots are taken by symmetric eigendecomposition (stable for SPD input; the inner
    matrix is symmetrised before its root). Covariances may be singular (PSD).

    Raises
    ------
    ValueError
        On NaN/inf, shape mismatch, asymmetric or indefinite covariances.
    """
    m0, c0, m1, c1 = _check_pair(mean0, cov0, mean1, cov1)
    s1 = spd_sqrt(c1, "cov1")
    spd_sqrt(c0, "cov0")  # validates cov0
    cross = spd_sqrt(s1 @ c0 @ s1, "inner Bures matrix")
    val = float(np.sum((m0 - m1) ** 2) + np.trace(c0) + np.trace(c1) - 2.0 * np.trace(cross))
    return max(_finite_result(val, "W2^2"), 0.0)


def _refined_cho_solve(l: np.ndarray, c: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``c x = b`` with the Cholesky factor ``l`` and iterative refinement whose
    residuals are formed in extended precision (``np.longdouble``); returns ``longdouble``.

    A backward-stable Cholesky solve has forward error ~ cond(c)·eps; each refinement step
    with a more precise residual multiplies it by ~cond(c)·eps (< 1e-7 for cond 1e8).
    Where ``longdouble`` is plain double the steps are harmless and gain nothing.
    """
    x = sla.cho_solve((l, True), b).astype(np.longdouble)
    c_ext, b_ext = c.astype(np.longdouble), b.astype(np.longdouble)
    # Kept in extended precision, two steps: each contracts the error by ~cond·eps, and the
    # dot products that follow can amplify a normwise error by up to cond (mixed signs).
    for _ in range(2):
        x = x + sla.cho_solve((l, True), (b_ext - c_ext @ x).astype(np.float64)).astype(np.longdouble)
    return x


def _refined_logdet(l: np.ndarray, c: np.ndarray) -> float:
    r""":math:`\ln\det c` from its Cholesky factor, corrected to first order for the factor's
    backward error :math:`E = LL^\top - c`: :math:`\ln\det c = \ln\det LL^\top - \operatorname{tr}((LL^\top)^{-1}E) + O(\|E\|^2)`."""
    e = (l.astype(np.longdouble) @ l.T.astype(np.longdouble) - c.astype(np.longdouble)).astype(np.float64)
    return float(2.0 * np.sum(np.log(np.diag(l))) - np.trace(sla.cho_solve((l, True), e)))


def gaussian_kl(mean0, cov0, mean1, cov1) -> float:
    r"""KL divergence :math:`\mathrm{KL}(\mathcal N(m_0,\Sigma_0)\,\|\,\mathcal N(m_1,\Sigma_1))`.

    Evaluated with Cholesky factors and triangular solves only (no explicit inverse or
    determinant), each solve and log-determinant refined once with an extended-precision
    residual, so that ill-conditioned covariances (condition number up to ~1e10) keep a
    relative accuracy near machine precision when the KL is not itself a cancellation of
    nearly equal terms.

    Raises
    ------
    ValueError
        On NaN/inf, shape mismatch, or a covariance that is not SPD.
    """
    m0, c0, m1, c1 = _check_pair(mean0, cov0, mean1, cov1)
    l0, l1 = _cholesky(c0, "cov0"), _cholesky(c1, "cov1")
    dm = m1 - m0
    # tr(S1^-1 S0) = sum_i l0_i' S1^-1 l0_i - tr(S1^-1 E0) with L0 L0' = S0 + E0: a sum of
    # positive terms (no cancellation) plus the first-order correction for L0's backward error.
    y = _refined_cho_solve(l1, c1, l0)
    e0 = (l0.astype(np.longdouble) @ l0.T.astype(np.longdouble) - c0.astype(np.longdouble)).astype(np.float64)
    positive = np.sum(l0.astype(np.longdouble) * y, axis=0)
    trace_term = float(np.sum(np.sort(positive)) - np.trace(sla.cho_solve((l1, True), e0)))
    maha = float(dm.astype(np.longdouble) @ _refined_cho_solve(l1, c1, dm))
    logdet_ratio = _refined_logdet(l1, c1) - _refined_logdet(l0, c0)
    return _finite_result(0.5 * (trace_term - m0.shape[0] + maha + logdet_ratio), "KL")
