r"""Symbolic derivations for linear diffusion models (Merger & Goldt setting).

The DDPM forward process :math:`x_t=\sqrt{\bar\alpha_t}x_0+\sqrt{1-\bar\alpha_t}\,\epsilon` with a
linear, centred denoiser :math:`\epsilon_\theta(x_t,t)=W_t(x_t-\sqrt{\bar\alpha_t}\hat\mu)+c_t`.
Every closed form used by the numerics is derived here with SymPy, proved where a proof is a
simplification to zero, and lambdified into NumPy:

- the noise-averaged loss depends on the data only through :math:`(\hat\mu,\hat\Sigma)`
  (:func:`loss_moment_residual`);
- the ridge optimum :math:`W^\star=\sqrt{1-\bar\alpha}\,(\bar\alpha\hat\Sigma+(1-\bar\alpha+\lambda)I)^{-1}`
  (:func:`ridge_gradient_residual`);
- gradient flow / gradient descent per eigenmode (:func:`gradient_flow_residuals`);
- the Bayes-optimal denoiser for Gaussian data (:func:`bayes_conditioning_residual`);
- the per-mode sampler recursion coefficient :math:`a_t`, its null-mode and unit-mode
  identities (:func:`null_mode_residual`, :func:`unit_mode_residual`);
- the per-mode Gaussian KL and its second-order expansion, and the Wishart moment
  :math:`\mathbb E\operatorname{tr}(S-I)^2=d(d+1)/N` (:func:`trace_moment_expr`).

Every expression uses :math:`s_t=1-\bar\alpha_t` rather than :math:`\bar\alpha_t` as the
variable: at :math:`t=1`, :math:`s_1\approx10^{-4}` and forming :math:`1-\bar\alpha_t` in
floating point would cost four digits, enough to spoil the exact null-mode identity
:math:`a_1=0`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import sympy as sp

# Shared scalar symbols: eigenvalue of the empirical covariance, s = 1 - alpha_bar_t,
# beta_t, ridge, learning rate times training time, number of GD steps.
lam, s, beta, ridge = sp.symbols("lambda_hat s beta ridge", nonnegative=True)
eta_tau, n_steps, eta = sp.symbols("eta_tau n eta", nonnegative=True)


def _curvature() -> sp.Expr:
    # Eigenvalue of C_hat_t + ridge: alpha_bar * lambda_hat + (1 - alpha_bar) + ridge.
    return (1 - s) * lam + s + ridge


@lru_cache(maxsize=1)
def optimal_mode_weight_expr() -> sp.Expr:
    r"""Eigenvalue of the ridge-optimal :math:`W_t^\star` on a mode of :math:`\hat\Sigma`.

    .. math::
        w^\star(\hat\lambda)=\frac{\sqrt{s_t}}{(1-s_t)\hat\lambda+s_t+\lambda},\qquad s_t=1-\bar\alpha_t .
    """
    return sp.sqrt(s) / _curvature()


@lru_cache(maxsize=1)
def gradient_flow_mode_weight_expr() -> sp.Expr:
    r"""Eigenvalue of :math:`W_t(\tau)` under gradient flow from :math:`W_t(0)=0`.

    .. math::
        w(\tau)=w^\star\big(1-e^{-2\eta\tau\,c}\big),\qquad c=(1-s_t)\hat\lambda+s_t+\lambda .
    """
    return optimal_mode_weight_expr() * (1 - sp.exp(-2 * eta_tau * _curvature()))


@lru_cache(maxsize=1)
def gradient_descent_mode_weight_expr() -> sp.Expr:
    r"""Eigenvalue of :math:`W_t` after ``n`` gradient-descent steps of size :math:`\eta` from 0.

    .. math:: w_n=w^\star\big[1-(1-2\eta c)^n\big].
    """
    return optimal_mode_weight_expr() * (1 - (1 - 2 * eta * _curvature()) ** n_steps)


@lru_cache(maxsize=1)
def sampler_coefficient_expr() -> sp.Expr:
    r"""Per-mode coefficient of one reverse step, :math:`y_{t-1}=a_t y_t+\sigma_t\epsilon_t`.

    .. math:: a_t=\frac1{\sqrt{\alpha_t}}\Big(1-\frac{\beta_t}{\sqrt{s_t}}\,w_t\Big),\qquad\alpha_t=1-\beta_t .

    The weight :math:`w` enters as a free symbol ``w``.
    """
    w = sp.Symbol("w", real=True)
    return (1 - beta / sp.sqrt(s) * w) / sp.sqrt(1 - beta)


@lru_cache(maxsize=1)
def null_mode_residual() -> sp.Expr:
    r"""Null-mode identity, simplified: must be 0.

    With :math:`\hat\lambda=0`, :math:`\lambda=0` and :math:`s_{t-1}=1-\bar\alpha_{t-1}`, where
    :math:`s_t=1-(1-s_{t-1})(1-\beta_t)`,

    .. math:: a_t-\sqrt{\alpha_t}\,\frac{s_{t-1}}{s_t}=0 ,

    so :math:`a_1=0` (since :math:`s_0=0`) and the generated null-mode variance is
    :math:`\sigma_1^2`.
    """
    s_prev = sp.Symbol("s_prev", nonnegative=True)
    s_t = 1 - (1 - s_prev) * (1 - beta)
    w = sp.Symbol("w", real=True)
    a = sampler_coefficient_expr().subs(w, optimal_mode_weight_expr().subs({lam: 0, ridge: 0}))
    a = a.subs(s, s_t)
    return sp.simplify(a - sp.sqrt(1 - beta) * s_prev / s_t)


@lru_cache(maxsize=1)
def unit_mode_residual() -> sp.Expr:
    r"""Unit-mode identity, simplified: must be 0.

    For :math:`\hat\lambda=1`, :math:`\lambda=0`: :math:`w^\star=\sqrt{s_t}`, hence
    :math:`a_t^2=\alpha_t` and :math:`a_t^2+\beta_t-1=0`: with :math:`\sigma_t^2=\beta_t` the
    variance recursion keeps :math:`v_t\equiv1`, so an isotropic unit target is reproduced
    exactly (zero population-optimum KL for :math:`k=0`).
    """
    w = sp.Symbol("w", real=True)
    a = sampler_coefficient_expr().subs(w, optimal_mode_weight_expr().subs({lam: 1, ridge: 0}))
    return sp.simplify(a**2 + beta - 1)


@lru_cache(maxsize=1)
def loss_moment_residual() -> sp.Expr:
    r"""Noise average of the empirical loss minus its closed form, :math:`d=2`, two data points.

    .. math::
        \Big\langle\|\epsilon-W(x_t-\sqrt{\bar\alpha}\hat\mu)-c\|^2\Big\rangle
        =\operatorname{tr}\big[I-2\sqrt{1-\bar\alpha}\,W+W\hat C W^\top\big]+\|c\|^2,
        \quad\hat C=\bar\alpha\hat\Sigma+(1-\bar\alpha)I .

    The expectation over :math:`\epsilon\sim\mathcal N(0,I_2)` is taken exactly by replacing
    monomials of :math:`\epsilon` with Gaussian moments. Returns the simplified difference (0).
    """
    ab = sp.Symbol("abar", positive=True)
    W = sp.Matrix(2, 2, sp.symbols("W11 W12 W21 W22", real=True))
    c = sp.Matrix(sp.symbols("c1 c2", real=True))
    xs = [sp.Matrix(sp.symbols(f"x{m}1 x{m}2", real=True)) for m in (1, 2)]
    e1, e2 = sp.symbols("e1 e2", real=True)
    eps = sp.Matrix([e1, e2])
    mu = (xs[0] + xs[1]) / 2
    cov = sum(((x - mu) * (x - mu).T for x in xs), sp.zeros(2, 2)) / 2
    total = 0
    for x in xs:
        xt = sp.sqrt(ab) * x + sp.sqrt(1 - ab) * eps
        r = eps - W * (xt - sp.sqrt(ab) * mu) - c
        total += sp.expand((r.T * r)[0, 0])
    total = total / 2
    # Gaussian moments of (e1, e2): E 1 = 1, E e_i = 0, E e_i^2 = 1, E e1 e2 = 0.
    poly = sp.Poly(total, e1, e2)
    moment = {(0, 0): 1, (1, 0): 0, (0, 1): 0, (2, 0): 1, (0, 2): 1, (1, 1): 0}
    averaged = sum(coef * moment[m] for m, coef in poly.terms())
    c_hat = ab * cov + (1 - ab) * sp.eye(2)
    closed = (sp.eye(2) - 2 * sp.sqrt(1 - ab) * W + W * c_hat * W.T).trace() + (c.T * c)[0, 0]
    return sp.simplify(sp.expand(averaged - closed))


@lru_cache(maxsize=1)
def ridge_gradient_residual() -> sp.Matrix:
    r"""Gradient of :math:`L_t+\lambda\|W\|_F^2+\|c\|^2` at :math:`(W^\star,0)`, :math:`d=2`: the zero matrix.

    Symbolic symmetric :math:`\hat\Sigma`, :math:`\bar\alpha` and :math:`\lambda`.
    """
    ab = sp.Symbol("abar", positive=True)
    a11, a12, a22 = sp.symbols("S11 S12 S22", real=True)
    sig = sp.Matrix([[a11, a12], [a12, a22]])
    W = sp.Matrix(2, 2, sp.symbols("W11 W12 W21 W22", real=True))
    c_hat = ab * sig + (1 - ab) * sp.eye(2)
    loss = (sp.eye(2) - 2 * sp.sqrt(1 - ab) * W + W * c_hat * W.T).trace() + ridge * sum(w**2 for w in W)
    grad = sp.Matrix(2, 2, lambda i, j: sp.diff(loss, W[i, j]))
    w_star = sp.sqrt(1 - ab) * (ab * sig + (1 - ab + ridge) * sp.eye(2)).inv()
    return sp.simplify(grad.subs(dict(zip(W, w_star))))


@lru_cache(maxsize=1)
def gradient_flow_residuals() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    r"""Residuals (all 0) proving the per-mode gradient-flow and gradient-descent formulas.

    With :math:`c=(1-s)\hat\lambda+s+\lambda` the per-mode loss is :math:`1-2\sqrt s\,w+c\,w^2`
    (up to :math:`w`-free terms), so gradient flow is :math:`\dot w=-\eta\,\partial_wL=2\eta(\sqrt s-cw)`.

    Returns
    -------
    (ode, initial, gd) : the ODE residual of :math:`w(\tau)`, :math:`w(0)`, and the GD one-step
        residual :math:`w_{n+1}-[w_n-\eta\,\partial_wL(w_n)]`.
    """
    c = _curvature()
    w_tau = gradient_flow_mode_weight_expr().subs(eta_tau, eta * sp.Symbol("tau", nonnegative=True))
    tau = sp.Symbol("tau", nonnegative=True)
    ode = sp.simplify(sp.diff(w_tau, tau) - 2 * eta * (sp.sqrt(s) - c * w_tau))
    initial = sp.simplify(w_tau.subs(tau, 0))
    w_n = gradient_descent_mode_weight_expr()
    w_next = w_n.subs(n_steps, n_steps + 1)
    gd = sp.simplify(sp.expand(w_next - (w_n - eta * 2 * (c * w_n - sp.sqrt(s)))))
    return ode, initial, gd


@lru_cache(maxsize=1)
def bayes_conditioning_residual() -> sp.Matrix:
    r"""Gaussian conditioning for :math:`d=2` (residual matrix, must be 0).

    For :math:`x\sim\mathcal N(\mu,\Sigma)`, :math:`x_t=\sqrt{\bar\alpha}x+\sqrt{1-\bar\alpha}\epsilon`, the
    joint law of :math:`(\epsilon,x_t)` is Gaussian with :math:`\mathrm{Cov}(\epsilon,x_t)=\sqrt{1-\bar\alpha}I`
    and :math:`\mathrm{Cov}(x_t)=C=\bar\alpha\Sigma+(1-\bar\alpha)I`, so
    :math:`\mathbb E[\epsilon\mid x_t]=\sqrt{1-\bar\alpha}\,C^{-1}(x_t-\sqrt{\bar\alpha}\mu)`: the Bayes
    denoiser is linear and equals :math:`W^\star` with population moments. The residual is the
    difference between the cross-covariance computed from the definition and
    :math:`\sqrt{1-\bar\alpha}I`, plus the difference of the posterior-covariance trace and the
    Bayes-error formula :math:`\sum_\nu\bar\alpha\lambda_\nu/(\bar\alpha\lambda_\nu+1-\bar\alpha)`
    (for diagonal :math:`\Sigma`).
    """
    ab = sp.Symbol("abar", positive=True)
    l1, l2 = sp.symbols("l1 l2", positive=True)
    sig = sp.diag(l1, l2)
    # Linear map from the independent (x - mu, eps) to (eps, x_t - sqrt(ab) mu).
    joint_cov = sp.diag(sig, sp.eye(2))
    lin = sp.Matrix(
        sp.BlockMatrix([[sp.zeros(2, 2), sp.eye(2)], [sp.sqrt(ab) * sp.eye(2), sp.sqrt(1 - ab) * sp.eye(2)]])
    )
    full = lin * joint_cov * lin.T
    cross = full[:2, 2:]
    cxx = full[2:, 2:]
    post_cov = sp.eye(2) - cross * cxx.inv() * cross.T
    bayes = sum(ab * li / (ab * li + 1 - ab) for li in (l1, l2))
    res = sp.Matrix.vstack(cross - sp.sqrt(1 - ab) * sp.eye(2), sp.Matrix([[sp.simplify(post_cov.trace() - bayes), 0]]))
    return sp.simplify(res)


@lru_cache(maxsize=1)
def kl_mode_expr() -> tuple[sp.Expr, sp.Symbol]:
    r"""Covariance part of the KL for one mode with variance ratio :math:`r`.

    .. math:: \mathrm{KL}=\tfrac12\,(r-1-\ln r),

    with :math:`r=f/\lambda` (generated over target, forward) or :math:`\lambda/f` (reverse).
    """
    r = sp.Symbol("r", positive=True)
    return (r - 1 - sp.log(r)) / 2, r


@lru_cache(maxsize=1)
def kl_second_order_expr() -> sp.Expr:
    r"""Second-order Taylor term of the mode KL around :math:`r=1`: :math:`(r-1)^2/4`.

    Summed over the eigenvalues of a white sample covariance :math:`S` this is
    :math:`\frac14\operatorname{tr}(S-I)^2`, in both directions (the reverse ratio
    :math:`1/r` has the same second-order term).
    """
    expr, r = kl_mode_expr()
    x = sp.Symbol("x", real=True)
    series = sp.series(expr.subs(r, 1 + x), x, 0, 3).removeO()
    return sp.simplify(series.subs(x, r - 1))


@lru_cache(maxsize=1)
def kl_reverse_second_order_expr() -> sp.Expr:
    """Second-order term of the reverse-direction mode KL (ratio :math:`1/r`) around :math:`r=1`."""
    expr, r = kl_mode_expr()
    x = sp.Symbol("x", real=True)
    series = sp.series(expr.subs(r, 1 / (1 + x)), x, 0, 3).removeO()
    return sp.simplify(series.subs(x, r - 1))


@lru_cache(maxsize=1)
def trace_moment_expr() -> sp.Expr:
    r""":math:`\mathbb E\operatorname{tr}(S-I)^2` for :math:`S=Z^\top Z/N`, :math:`Z_{\mu i}` i.i.d. standard normal.

    By Isserlis: :math:`\mathbb E S_{ii}^2=1+2/N` and :math:`\mathbb E S_{ij}^2=1/N` (:math:`i\ne j`),
    so :math:`\mathbb E\operatorname{tr}(S-I)^2=\sum_{ij}\mathbb E(S-I)_{ij}^2=d\cdot\frac2N+d(d-1)\cdot\frac1N`.
    The per-entry moments are themselves derived from :math:`\mathbb E z^4=3`, :math:`\mathbb E z^2=1`.
    """
    N, d = sp.symbols("N d", positive=True, integer=True)
    ez2, ez4 = sp.Integer(1), sp.Integer(3)
    # S_ii = (1/N) sum_mu z_mu^2: E S_ii^2 = (N E z^4 + N (N-1) (E z^2)^2) / N^2.
    e_sii2 = (N * ez4 + N * (N - 1) * ez2**2) / N**2
    # S_ij = (1/N) sum_mu z_mu w_mu: only mu = nu pairs survive, E = N (E z^2)^2 / N^2.
    e_sij2 = N * ez2**2 * ez2**2 / N**2
    diag_term = e_sii2 - 2 * ez2 + 1  # E (S_ii - 1)^2
    return sp.simplify(d * diag_term + d * (d - 1) * e_sij2)


# ---------------------------------------------------------------------------------------------
# Lambdified NumPy functions
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def optimal_mode_weight() -> Callable:
    """NumPy ``w(lambda_hat, s, ridge)`` of :func:`optimal_mode_weight_expr`."""
    return sp.lambdify((lam, s, ridge), optimal_mode_weight_expr(), "numpy")


@lru_cache(maxsize=1)
def gradient_flow_mode_weight() -> Callable:
    """NumPy ``w(lambda_hat, s, ridge, eta_tau)`` of :func:`gradient_flow_mode_weight_expr`."""
    return sp.lambdify((lam, s, ridge, eta_tau), gradient_flow_mode_weight_expr(), "numpy")


@lru_cache(maxsize=1)
def gradient_descent_mode_weight() -> Callable:
    """NumPy ``w(lambda_hat, s, ridge, eta, n)`` of :func:`gradient_descent_mode_weight_expr`."""
    return sp.lambdify((lam, s, ridge, eta, n_steps), gradient_descent_mode_weight_expr(), "numpy")


@lru_cache(maxsize=1)
def sampler_coefficient() -> Callable:
    """NumPy ``a(w, s, beta)`` of :func:`sampler_coefficient_expr`."""
    return sp.lambdify((sp.Symbol("w", real=True), s, beta), sampler_coefficient_expr(), "numpy")


@lru_cache(maxsize=1)
def kl_mode() -> Callable:
    """NumPy ``kl(r)`` of :func:`kl_mode_expr`."""
    expr, r = kl_mode_expr()
    return sp.lambdify(r, expr, "numpy")
