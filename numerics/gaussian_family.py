r"""The Gaussian coupling family of spec ``mfm.md`` §1.5, its affine marginal field and flow.

.. math::

    x_0\sim\mathcal N(0,I_d),\quad\xi\sim\mathcal N(0,I_d),\quad
    x_1=\mu+\Sigma^{1/2}\big(\rho R_\phi x_0+\sqrt{1-\rho^2}\,\xi\big),\qquad\rho\in[0,1].

Both marginals are fixed for every :math:`(\rho,\phi)`; :math:`\rho=0` is the independent
coupling. With :math:`D=x_1-x_0` and :math:`X_t=(1-t)x_0+tx_1` (CondOT path, :math:`\sigma_{\min}=0`)
the pair :math:`(X_t,D)` is jointly Gaussian, so the marginal field is affine,
:math:`u_t(x)=A_tx+b_t`, and the conditional spread :math:`\sigma_t^2` is constant in :math:`x`.
Its flow is :math:`\psi_t(x)=M(t)x+m(t)` with :math:`\dot M=A_tM`, :math:`\dot m=A_tm+b_t`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.integrate import quad, solve_ivp
from scipy.linalg import sqrtm

from numerics.integrators import check_tolerances
from theory.gaussians import gaussian_w2_squared
from theory.validation import integer, real_array, real_scalar

DEFAULT_MU = np.array([2.0, -1.0])
DEFAULT_SIGMA = np.array([[1.0, 0.5], [0.5, 0.5]])


def rotation(d: int, phi: float) -> np.ndarray:
    """Rotation by ``phi`` in the first two coordinates (identity for ``d = 1``)."""
    d, phi = integer(d, "d", 1), real_scalar(phi, "phi")
    r = np.eye(d)
    if d >= 2:
        c, s = np.cos(phi), np.sin(phi)
        r[:2, :2] = [[c, -s], [s, c]]
    return r


def sym_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigendecomposition).

    Raises
    ------
    ValueError
        A matrix that is not symmetric, has a negative eigenvalue, or whose entries overflow.
    """
    m = _square(sigma, "sigma")
    scale = float(np.abs(m).max())
    if not np.allclose(m, m.T, rtol=0, atol=1e-12 * scale):
        raise ValueError("sigma must be symmetric (its square root is defined by the eigendecomposition)")
    w, v = np.linalg.eigh(0.5 * m + 0.5 * m.T)  # halves first: m + m.T may overflow
    if not np.isfinite(w).all():
        raise ValueError("sigma's eigenvalues overflow float64; rescale it")
    if w.min() < -1e-12 * max(scale, 1e-300):
        raise ValueError(f"sigma must be positive semi-definite, got the eigenvalue {w.min():.3g}")
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _square(a: np.ndarray, name: str) -> np.ndarray:
    m = real_array(a, name, ndim=2)
    if m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {m.shape}")
    return m


@dataclass(frozen=True)
class GaussianCoupling:
    """One member of the family.

    Parameters
    ----------
    mu : ndarray, shape (d,)
    sigma : ndarray, shape (d, d)
        SPD target covariance.
    rho : float in [0, 1]
    phi : float
        Rotation angle (ignored for ``d = 1``).
    """

    mu: np.ndarray = field(default_factory=lambda: DEFAULT_MU.copy())
    sigma: np.ndarray = field(default_factory=lambda: DEFAULT_SIGMA.copy())
    rho: float = 0.0
    phi: float = 0.0

    def __post_init__(self) -> None:
        mu = np.atleast_1d(real_array(self.mu, "mu"))
        sig = np.atleast_2d(real_array(self.sigma, "sigma"))
        d = mu.size
        if mu.ndim != 1 or d == 0 or sig.shape != (d, d):
            raise ValueError(f"mu must be (d,) and sigma (d, d); got {mu.shape} and {sig.shape}")
        if not np.allclose(sig, sig.T) or np.linalg.eigvalsh(sig).min() <= 0:
            raise ValueError("sigma must be symmetric positive definite")
        real_scalar(self.rho, "rho", 0.0, 1.0)
        real_scalar(self.phi, "phi")
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "sigma", sig)

    @property
    def d(self) -> int:
        return self.mu.size

    @cached_property
    def sqrt_sigma(self) -> np.ndarray:
        return sym_sqrt(self.sigma)

    @cached_property
    def cross(self) -> np.ndarray:
        r""":math:`K=\mathrm{Cov}(x_1,x_0)=\rho\Sigma^{1/2}R_\phi`."""
        return self.rho * self.sqrt_sigma @ rotation(self.d, self.phi)

    # ---- sampling ----------------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` coupled pairs ``(x0, x1)``."""
        n = integer(n, "n", 1)
        x0 = rng.standard_normal((n, self.d))
        xi = rng.standard_normal((n, self.d))
        z = self.rho * x0 @ rotation(self.d, self.phi).T + np.sqrt(1.0 - self.rho**2) * xi
        return x0, self.mu + z @ self.sqrt_sigma.T

    # ---- covariance blocks -------------------------------------------------------------------
    def blocks(self, t: float | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""``(Cov X_t, Cov(D, X_t), Cov D)`` (see :func:`theory.couplings.gaussian_family_blocks_symbolic`).

        ``t`` is a time in [0, 1], or an array of times shaped to broadcast against ``(d, d)``
        matrices (e.g. ``(n, 1, 1)`` for one block per row).
        """
        if np.ndim(t) == 0:
            t = real_scalar(t, "t", 0.0, 1.0)
        else:
            t = real_array(t, "t")
            if np.any(t < 0) or np.any(t > 1):
                raise ValueError(f"t must lie in [0, 1], got values in [{t.min()}, {t.max()}]")
        eye = np.eye(self.d)
        k = self.cross
        cov_x = (1 - t) ** 2 * eye + t**2 * self.sigma + t * (1 - t) * (k + k.T)
        cov_dx = (1 - t) * k + t * self.sigma - (1 - t) * eye - t * k.T
        cov_d = self.sigma + eye - k - k.T
        return cov_x, cov_dx, cov_d

    def field_coefficients(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        r"""``(A_t, b_t)`` with :math:`u_t(x)=A_tx+b_t`, :math:`A_t=\mathrm{Cov}(D,X_t)\mathrm{Cov}(X_t)^{-1}`."""
        cov_x, cov_dx, _ = self.blocks(t)
        a = np.linalg.solve(cov_x.T, cov_dx.T).T
        return a, self.mu - a @ (t * self.mu)

    def velocity(self, x: np.ndarray, t: float) -> np.ndarray:
        """The marginal field on a batch ``x`` of shape ``(n, d)``."""
        a, b = self.field_coefficients(t)
        return real_array(x, "x") @ a.T + b

    def spread(self, t: float) -> float:
        r""":math:`\sigma_t^2=\operatorname{tr}[\mathrm{Cov}D-\mathrm{Cov}(D,X_t)\mathrm{Cov}(X_t)^{-1}\mathrm{Cov}(X_t,D)]`."""
        cov_x, cov_dx, cov_d = self.blocks(t)
        return float(np.trace(cov_d - cov_dx @ np.linalg.solve(cov_x, cov_dx.T)))

    def conditional_cov(self, t: float) -> np.ndarray:
        """Covariance of ``D`` given ``X_t = x`` (the same for every ``x``)."""
        cov_x, cov_dx, cov_d = self.blocks(t)
        c = cov_d - cov_dx @ np.linalg.solve(cov_x, cov_dx.T)
        return 0.5 * (c + c.T)

    # ---- flow and reference values -----------------------------------------------------------
    def flow(self, ts: np.ndarray, rtol: float = 1e-12, atol: float = 1e-14) -> tuple[np.ndarray, np.ndarray]:
        r"""``(M(t), m(t))`` at times ``ts`` by DOP853 on :math:`\dot M=A_tM`, :math:`\dot m=A_tm+b_t`."""
        d = self.d
        ts = np.atleast_1d(real_array(ts, "ts"))
        rtol, atol, _ = check_tolerances(rtol, atol)
        if ts.ndim != 1 or ts.size == 0 or np.any(ts < 0):
            raise ValueError(f"ts must be a non-empty 1-D array of times >= 0, got shape {ts.shape}")

        def rhs(tt: float, y: np.ndarray) -> np.ndarray:
            a, b = self.field_coefficients(tt)
            mm = y[: d * d].reshape(d, d)
            return np.concatenate([(a @ mm).ravel(), a @ y[d * d :] + b])

        y0 = np.concatenate([np.eye(d).ravel(), np.zeros(d)])
        sol = solve_ivp(
            rhs,
            (0.0, float(ts.max())),
            y0,
            method="DOP853",
            rtol=rtol,
            atol=atol,
            t_eval=np.sort(ts),
            dense_output=False,
        )
        if not sol.success:
            raise RuntimeError(f"affine flow integration failed: {sol.message}")
        order = np.argsort(ts)
        ys = np.empty((ts.size, y0.size))
        ys[order] = sol.y.T
        return ys[:, : d * d].reshape(-1, d, d), ys[:, d * d :]

    def w2_squared(self) -> float:
        r""":math:`W_2^2(\mathcal N(0,I),\mathcal N(\mu,\Sigma))` (closed form)."""
        return gaussian_w2_squared(np.zeros(self.d), np.eye(self.d), self.mu, self.sigma)

    def coupling_cost(self) -> float:
        r""":math:`c(q)=\mathbb E\|x_1-x_0\|^2=\|\mu\|^2+\operatorname{tr}\mathrm{Cov}D`."""
        return float(self.mu @ self.mu + np.trace(self.blocks(0.0)[2]))

    def transport_cost(self) -> float:
        r""":math:`C(\psi_1)=\|m(1)\|^2+\|M(1)-I\|_F^2` from the affine flow."""
        mm, m = self.flow(np.array([1.0]))
        return float(m[0] @ m[0] + np.sum((mm[0] - np.eye(self.d)) ** 2))

    def kinetic_energy(self, epsabs: float = 1e-13) -> float:
        r""":math:`\mathrm{KE}=\int_0^1\|\mu\|^2+\operatorname{tr}(A_t\mathrm{Cov}(X_t)A_t^\top)dt` by ``quad``."""
        epsabs = real_scalar(epsabs, "epsabs", 0.0, lo_open=True)

        def integrand(tt: float) -> float:
            cov_x, cov_dx, _ = self.blocks(tt)
            return float(self.mu @ self.mu + np.trace(cov_dx @ np.linalg.solve(cov_x, cov_dx.T)))

        return float(quad(integrand, 0.0, 1.0, epsabs=epsabs, epsrel=1e-13, limit=200)[0])

    def expected_spread(self, epsabs: float = 1e-12) -> float:
        r""":math:`\int_0^1\sigma_t^2dt` by ``quad`` (the minimum of the joint CFM loss)."""
        epsabs = real_scalar(epsabs, "epsabs", 0.0, lo_open=True)
        return float(quad(self.spread, 0.0, 1.0, epsabs=epsabs, epsrel=1e-12, limit=200)[0])


def sqrtm_check(sigma: np.ndarray) -> np.ndarray:
    """SciPy's principal square root (independent of :func:`sym_sqrt`, for cross-checks)."""
    return np.real(sqrtm(_square(sigma, "sigma")))
