r"""Linear diffusion models: schedule, data, optimal and trained linear denoisers, the generated
Gaussian, KL divergences, test/train errors and their deterministic equivalents.

Time runs as in DDPM: step :math:`t=1..T`, data at :math:`t=0`, noise at :math:`t=T`. Arrays
indexed by the step hold step :math:`t` at index ``t - 1``.

With a linear centred denoiser :math:`\epsilon_\theta(x_t,t)=W_t(x_t-\sqrt{\bar\alpha_t}\hat\mu)`
whose :math:`W_t` is a function of :math:`\hat\Sigma=U\mathrm{diag}(\hat\lambda)U^\top`, the reverse
chain acts on each eigenmode separately:

.. math::
    y_{t-1}=a_ty_t+\sigma_t\epsilon_t,\qquad
    a_t=\frac1{\sqrt{\alpha_t}}\Big(1-\frac{\beta_t}{\sqrt{1-\bar\alpha_t}}w_t(\hat\lambda)\Big),\qquad
    v_{t-1}=a_t^2v_t+\sigma_t^2,\ v_T=1,

and the generated law is :math:`\mathcal N(\mu_{\rm gen},U\mathrm{diag}(v_0)U^\top)`. The recursion
costs :math:`O(Td)` per training set and is vectorised over any leading axes (seeds, spectra).
The per-mode weights and coefficients are the lambdified forms of :mod:`theory.linear_diffusion`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from numerics.datasets import power_law_covariance, power_law_spectrum, white_samples  # noqa: F401  (re-exported)
from theory import linear_diffusion as sym
from theory.validation import check_range, dense_guard, integer, real_array, real_scalar

SAMPLER_SIGMAS = ("beta", "beta_tilde")
KL_DIRECTIONS = ("forward", "reverse")
NULL_MODE_RTOL = 1e-12


# ---------------------------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    r"""Linear DDPM schedule; entry ``t - 1`` belongs to step ``t``.

    Attributes
    ----------
    beta, alpha : :math:`\beta_t`, :math:`\alpha_t=1-\beta_t`.
    abar : :math:`\bar\alpha_t=\prod_{s\le t}\alpha_s`.
    one_minus_abar : :math:`1-\bar\alpha_t`, computed as ``-expm1(cumsum(log1p(-beta)))`` so that it
        keeps full relative precision at small ``t``.
    """

    T: int
    beta: np.ndarray
    alpha: np.ndarray
    abar: np.ndarray
    one_minus_abar: np.ndarray

    @property
    def one_minus_abar_prev(self) -> np.ndarray:
        """:math:`1-\\bar\\alpha_{t-1}` (0 at :math:`t=1`, since :math:`\\bar\\alpha_0=1`)."""
        return np.concatenate([[0.0], self.one_minus_abar[:-1]])

    def sampler_variance(self, kind: str = "beta", final_noise: bool = True) -> np.ndarray:
        r"""Variances :math:`\sigma_t^2` of the sampler noise.

        ``kind="beta"``: :math:`\sigma_t^2=\beta_t`; ``"beta_tilde"``:
        :math:`\tilde\beta_t=\beta_t(1-\bar\alpha_{t-1})/(1-\bar\alpha_t)`. Without ``final_noise``
        the last step adds none (Ho et al.'s Algorithm 2).
        """
        if kind == "beta":
            var = self.beta.copy()
        elif kind == "beta_tilde":
            var = self.beta * self.one_minus_abar_prev / self.one_minus_abar
        else:
            raise ValueError(f"sampler_sigma must be one of {SAMPLER_SIGMAS}, got {kind!r}")
        if not final_noise:
            var[0] = 0.0
        return var


def _check_schedule(schedule: Schedule) -> None:
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule (see beta_schedule), got {type(schedule).__name__}")


def beta_schedule(T: int = 1000, beta_min: float = 1e-4, beta_max: float = 1e-2) -> Schedule:
    r"""Linear schedule of the spec.

    .. math::
        \beta_t=\frac{\beta_{\max}-\beta_{\min}}{T}\,t+\beta_{\min},\quad t=1..T .

    Raises
    ------
    ValueError
        If ``T`` is not an integer >= 1, the betas are not finite or leave :math:`(0,1)`.
    """
    T = integer(T, "T", 1)
    beta_min, beta_max = real_scalar(beta_min, "beta_min"), real_scalar(beta_max, "beta_max")
    dense_guard((T,), "schedule", copies=6)
    t = np.arange(1, T + 1, dtype=np.float64)
    beta = (beta_max - beta_min) / T * t + beta_min
    if not (np.all(beta > 0) and np.all(beta < 1)):
        raise ValueError(f"betas must lie in (0, 1), got range [{beta.min()}, {beta.max()}]")
    log_abar = np.cumsum(np.log1p(-beta))
    return Schedule(T, beta, 1.0 - beta, np.exp(log_abar), -np.expm1(log_abar))


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def _training_set(x: np.ndarray) -> np.ndarray:
    """A finite real ``(N, d)`` training set with ``N, d >= 1``."""
    x = real_array(x, "training set")
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"training set must be an (N, d) array with N, d >= 1, got shape {x.shape}")
    return x


def _check_noise_level(one_minus_abar: np.ndarray | float) -> np.ndarray:
    r""":math:`s_t=1-\bar\alpha_t` as a float64 array in :math:`(0,1]` (every step of a schedule adds noise)."""
    s = real_array(one_minus_abar, "one_minus_abar")
    check_range(s, "one_minus_abar", 0.0, 1.0, lo_open=True)
    return s


def _noise_level_scalar(one_minus_abar: float) -> float:
    return real_scalar(one_minus_abar, "one_minus_abar", 0.0, 1.0, lo_open=True)


def _check_eigenvalues(lam: np.ndarray, name: str, positive: bool = False) -> np.ndarray:
    lam = real_array(lam, name)
    check_range(lam, name, 0.0, lo_open=positive)
    return lam


def empirical_moments(
    x: np.ndarray, mean: str = "estimated", mu: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Empirical mean and covariance with the :math:`1/N` factor forced by the empirical loss.

    ``mean="estimated"``: :math:`\hat\mu=\bar x`, :math:`\hat\Sigma=\frac1N\sum(x-\hat\mu)(x-\hat\mu)^\top`;
    ``mean="known"``: :math:`\hat\mu=\mu` (default 0), :math:`\hat\Sigma=\frac1N\sum(x-\mu)(x-\mu)^\top`.
    """
    x = _training_set(x)
    if mean == "estimated":
        mu_hat = x.mean(axis=0)
    elif mean == "known":
        mu_hat = np.zeros(x.shape[1]) if mu is None else real_array(mu, "mu")
        if mu_hat.shape != (x.shape[1],):
            raise ValueError(f"mu must have shape ({x.shape[1]},), got {mu_hat.shape}")
    else:
        raise ValueError(f"mean must be 'estimated' or 'known', got {mean!r}")
    xc = x - mu_hat
    return mu_hat, xc.T @ xc / x.shape[0]


def eigen_modes(cov: np.ndarray, rel_cut: float = NULL_MODE_RTOL) -> tuple[np.ndarray, np.ndarray]:
    r"""Eigenvalues (descending) and eigenvectors of a PSD matrix; values below ``rel_cut`` × max set to 0.

    Works on stacks ``(..., d, d)``.

    Raises
    ------
    ValueError
        On NaN/inf, non-square input, asymmetry, or a clearly negative eigenvalue.
    """
    c = real_array(cov, "covariance")
    rel_cut = real_scalar(rel_cut, "rel_cut", 0.0)
    if c.ndim < 2 or c.shape[-1] != c.shape[-2] or c.shape[-1] == 0:
        raise ValueError(f"covariance must be square, got shape {c.shape}")
    scale = max(float(np.abs(c).max()), 1e-300)
    if not np.allclose(c, np.swapaxes(c, -1, -2), rtol=0, atol=1e-12 * scale):
        raise ValueError("covariance is not symmetric")
    lam, u = np.linalg.eigh(0.5 * c + 0.5 * np.swapaxes(c, -1, -2))  # halves first: c + c.T may overflow
    if not np.isfinite(lam).all():
        raise ValueError("covariance eigenvalues overflow float64; rescale the data")
    lam, u = lam[..., ::-1], u[..., ::-1]
    top = lam[..., :1]
    if np.any(lam < -1e-8 * np.maximum(top, 1e-300)):
        raise ValueError(f"covariance is not positive semi-definite (eigenvalue {lam.min():.3g})")
    lam = np.where(lam < rel_cut * top, 0.0, lam)
    return lam, u


def null_mode_count(lam_hat: np.ndarray) -> np.ndarray:
    """Number of zero (null) eigenvalues along the last axis."""
    return np.sum(real_array(lam_hat, "lam_hat") == 0.0, axis=-1)


# ---------------------------------------------------------------------------------------------
# Denoiser weights (per eigenmode) and the dense matrices
# ---------------------------------------------------------------------------------------------


def _check_ridge(ridge: float) -> float:
    return real_scalar(ridge, "ridge", 0.0)


def _check_training(
    ridge: float, train_time: np.ndarray | float | None, lr: float, gd_steps: int | None, ridge_scaling: str
) -> tuple[float, np.ndarray | None, float, int | None]:
    """Validated training controls of :func:`mode_weights` (before any work)."""
    ridge = _check_ridge(ridge)
    lr = real_scalar(lr, "lr", 0.0, lo_open=True)
    if ridge_scaling not in ("constant", "noise"):
        raise ValueError(f"ridge_scaling must be 'constant' or 'noise', got {ridge_scaling!r}")
    if train_time is not None and gd_steps is not None:
        raise ValueError("give train_time (gradient flow) or gd_steps (gradient descent), not both")
    if train_time is not None:
        train_time = real_array(train_time, "train_time")
        check_range(train_time, "train_time", 0.0)
    if gd_steps is not None:
        gd_steps = integer(gd_steps, "gd_steps", 0)
    return ridge, train_time, lr, gd_steps


def mode_weights(
    lam_hat: np.ndarray,
    one_minus_abar: np.ndarray | float,
    ridge: float = 0.0,
    train_time: float | None = None,
    lr: float = 1.0,
    gd_steps: int | None = None,
    loss_half: bool = False,
    ridge_scaling: str = "constant",
) -> np.ndarray:
    r"""Eigenvalues :math:`w_t(\hat\lambda)` of the linear denoiser on the modes of :math:`\hat\Sigma`.

    .. math::
        w^\star=\frac{\sqrt{s_t}}{(1-s_t)\hat\lambda+s_t+\lambda_t},\qquad
        w(\tau)=w^\star\big(1-e^{-2\eta\tau c}\big),\qquad w_n=w^\star[1-(1-2\eta c)^n],

    with :math:`s_t=1-\bar\alpha_t`, :math:`c=(1-s_t)\hat\lambda+s_t+\lambda_t` and
    :math:`\lambda_t=\lambda` (``ridge_scaling="constant"``) or :math:`\lambda s_t` (``"noise"``).
    ``train_time`` (scalar or an array broadcasting against ``lam_hat``) selects gradient flow
    (:math:`\eta\tau` = ``lr * train_time``), ``gd_steps``
    gradient descent with step ``lr``; neither gives the optimum. ``loss_half`` halves the rate
    (a loss with a factor 1/2). Broadcasts ``lam_hat`` against ``one_minus_abar``.

    Raises
    ------
    TypeError
        Complex or non-numeric input.
    ValueError
        Before any work: ``lam_hat`` not finite and >= 0, ``one_minus_abar`` outside (0, 1],
        ``ridge`` not finite and >= 0, ``lr`` not positive and finite, ``train_time`` not finite
        and >= 0, ``gd_steps`` not an integer >= 0, both ``train_time`` and ``gd_steps``, or an
        unknown ``ridge_scaling``.
    """
    lam_hat = _check_eigenvalues(lam_hat, "lam_hat")
    s = _check_noise_level(one_minus_abar)
    ridge, train_time, lr, gd_steps = _check_training(ridge, train_time, lr, gd_steps, ridge_scaling)
    try:
        np.broadcast_shapes(lam_hat.shape, np.shape(s), np.shape(train_time))
    except ValueError:
        raise ValueError(
            f"lam_hat {lam_hat.shape}, one_minus_abar {np.shape(s)} and train_time {np.shape(train_time)} "
            "do not broadcast together"
        ) from None
    with np.errstate(over="ignore", invalid="ignore"):
        w = _mode_weights(lam_hat, s, ridge, train_time, lr, gd_steps, loss_half, ridge_scaling)
    if not np.isfinite(w).all():
        raise ValueError(
            f"gradient descent with lr = {lr:g} diverges over {gd_steps} steps on a mode whose curvature "
            "(1 - s) lam_hat + s + ridge exceeds 1/lr (|1 - 2 lr c| > 1); lower lr or the ridge"
        )
    return w


def _mode_weights(
    lam_hat: np.ndarray,
    s: np.ndarray | float,
    ridge: float,
    train_time: np.ndarray | None,
    lr: float,
    gd_steps: int | None,
    loss_half: bool,
    ridge_scaling: str,
) -> np.ndarray:
    """:func:`mode_weights` on validated input (the per-step kernel of the sampler recursions)."""
    rt = ridge if ridge_scaling == "constant" else ridge * s
    rate = 0.5 if loss_half else 1.0
    if train_time is not None:
        return sym.gradient_flow_mode_weight()(lam_hat, s, rt, rate * lr * train_time)
    if gd_steps is not None:
        return sym.gradient_descent_mode_weight()(lam_hat, s, rt, rate * lr, gd_steps)
    return sym.optimal_mode_weight()(lam_hat, s, rt)


def linear_denoiser_weights(
    cov_hat: np.ndarray,
    schedule: Schedule,
    t: int,
    ridge: float = 0.0,
    train_time: float | None = None,
    lr: float = 1.0,
) -> np.ndarray:
    r"""Dense :math:`W_t=U\mathrm{diag}(w_t(\hat\lambda))U^\top` (optimal, or gradient flow at ``train_time``).

    At the optimum :math:`W_t^\star=\sqrt{1-\bar\alpha_t}\,(\bar\alpha_t\hat\Sigma+(1-\bar\alpha_t+\lambda)I)^{-1}`.
    """
    _check_schedule(schedule)
    t = integer(t, "step t", 1, schedule.T)
    lam_hat, u = eigen_modes(cov_hat, rel_cut=0.0)
    lam_hat = np.clip(lam_hat, 0.0, None)
    w = mode_weights(lam_hat, schedule.one_minus_abar[t - 1], ridge, train_time, lr)
    return (u * w) @ u.T


# ---------------------------------------------------------------------------------------------
# Generated distribution
# ---------------------------------------------------------------------------------------------


@dataclass
class GeneratedModes:
    """Per-mode outcome of the sampler recursion: variances ``f`` and the product of the ``a_t``."""

    f: np.ndarray
    prod_a: np.ndarray


def mode_recursion(
    lam_hat: np.ndarray,
    schedule: Schedule,
    ridge: float = 0.0,
    sampler_sigma: str = "beta",
    final_noise: bool = True,
    train_time: float | None = None,
    lr: float = 1.0,
    ridge_scaling: str = "constant",
    loss_half: bool = False,
    coefficient=None,
) -> GeneratedModes:
    r"""Run :math:`v_{t-1}=a_t^2v_t+\sigma_t^2` from :math:`v_T=1` per mode (any array shape).

    Returns :math:`f(\hat\lambda)=v_0` and :math:`\prod_ta_t` (for the generated mean).
    ``coefficient(w, s, beta)`` replaces :math:`a_t` (default: the lambdified SymPy form); it is
    the injection point for deliberately wrong recursions in negative controls.
    """
    lam_hat = _check_eigenvalues(lam_hat, "eigenvalues")
    _check_schedule(schedule)
    ridge, train_time, lr, _ = _check_training(ridge, train_time, lr, None, ridge_scaling)
    var = schedule.sampler_variance(sampler_sigma, final_noise)
    coef = sym.sampler_coefficient() if coefficient is None else coefficient
    v = np.ones_like(lam_hat)
    prod_a = np.ones_like(lam_hat)
    for i in range(schedule.T - 1, -1, -1):
        s = schedule.one_minus_abar[i]
        w = _mode_weights(lam_hat, np.asarray(s), ridge, train_time, lr, None, loss_half, ridge_scaling)
        a = coef(w, s, schedule.beta[i])
        v = a * a * v + var[i]
        prod_a = prod_a * a
    return GeneratedModes(v, prod_a)


def generated_mean(
    mu_hat: np.ndarray, u: np.ndarray, prod_a: np.ndarray, schedule: Schedule, u_T_mean: str = "zero"
) -> np.ndarray:
    r""":math:`\mu_{\rm gen}=\hat\mu-U\mathrm{diag}(\prod_ta_t)U^\top\sqrt{\bar\alpha_T}\hat\mu` (``u_T_mean="zero"``) or :math:`\hat\mu` (``"shifted"``)."""
    mu_hat = real_array(mu_hat, "mu_hat")
    if u_T_mean == "shifted":
        return mu_hat.copy()
    if u_T_mean != "zero":
        raise ValueError(f"u_T_mean must be 'zero' or 'shifted', got {u_T_mean!r}")
    _check_schedule(schedule)
    u, prod_a = real_array(u, "U"), real_array(prod_a, "prod_a")
    proj = np.einsum("...ji,...j->...i", u, mu_hat)
    return mu_hat - np.sqrt(schedule.abar[-1]) * np.einsum("...ij,...j->...i", u, prod_a * proj)


def generated_covariance(
    emp_cov: np.ndarray,
    schedule: Schedule,
    ridge: float = 0.0,
    sampler_sigma: str = "beta",
    final_noise: bool = True,
    train_time: float | None = None,
    lr: float = 1.0,
) -> np.ndarray:
    r"""Generated covariance :math:`\Sigma_{\rm gen}=U\mathrm{diag}(f(\hat\lambda))U^\top` of the linear sampler.

    The per-mode variances :math:`f` and the eigenbasis are :func:`mode_recursion` of
    :func:`eigen_modes` (use those where the modes themselves are needed).
    """
    lam_hat, u = eigen_modes(emp_cov)
    modes = mode_recursion(lam_hat, schedule, ridge, sampler_sigma, final_noise, train_time, lr)
    return (u * modes.f[..., None, :]) @ np.swapaxes(u, -1, -2)


# ---------------------------------------------------------------------------------------------
# KL divergence between the generated Gaussian and a diagonal target
# ---------------------------------------------------------------------------------------------


def kl_divergence(
    f: np.ndarray,
    u: np.ndarray,
    lam: np.ndarray,
    mean_gen: np.ndarray | None = None,
    mean_target: np.ndarray | None = None,
    direction: str = "forward",
    part: str = "cov",
    norm: str = "per_dim",
) -> np.ndarray:
    r"""KL between :math:`\mathcal N_g=\mathcal N(\mu_{\rm gen},U\mathrm{diag}(f)U^\top)` and :math:`\mathcal N_\star=\mathcal N(\mu,\mathrm{diag}(\lambda))`.

    .. math::
        D(\mathcal N_g\|\mathcal N_\star)=\tfrac12\Big[\sum_{i\nu}\frac{f_iU_{\nu i}^2}{\lambda_\nu}-d
        -\sum_i\ln f_i+\sum_\nu\ln\lambda_\nu+(\mu_{\rm gen}-\mu)^\top\Sigma^{-1}(\mu_{\rm gen}-\mu)\Big]

    (``direction="forward"``) and the same with the roles swapped (``"reverse"``); both use
    only the eigen-decomposition (cost :math:`O(d^2)` per set, vectorised over leading axes).
    ``part="cov"`` omits the mean term, ``"full"`` keeps it; ``norm="per_dim"`` divides by
    :math:`d`, ``"total"`` does not. A zero generated variance gives ``+inf``; variances so small
    (or target eigenvalues so small) that their reciprocal overflows give the true value or
    ``+inf``, never NaN.

    Raises
    ------
    TypeError
        Complex or non-numeric input.
    ValueError
        Shape mismatch, ``d = 0``, ``U`` not orthogonal, non-SPD target, generated variances not
        finite and >= 0, non-finite means, or an unknown variant.
    """
    f = real_array(f, "f", finite=False)
    u = real_array(u, "U")
    lam = real_array(lam, "target eigenvalues", finite=False)
    if f.ndim < 1 or f.shape[-1] == 0:
        raise ValueError(f"f must hold d >= 1 generated variances along its last axis, got shape {f.shape}")
    d = f.shape[-1]
    if u.ndim < 2 or u.shape[-2:] != (d, d) or lam.ndim < 1 or lam.shape[-1] != d:
        raise ValueError(f"shape mismatch: f {f.shape}, U {u.shape}, target eigenvalues {lam.shape}")
    if np.any(lam <= 0) or not np.all(np.isfinite(lam)):
        raise ValueError("target covariance must be SPD (positive finite eigenvalues)")
    if np.any(f < 0) or not np.all(np.isfinite(f)):
        raise ValueError("generated variances must be finite and >= 0")
    if direction not in KL_DIRECTIONS or part not in ("cov", "full") or norm not in ("per_dim", "total"):
        raise ValueError(f"bad variant: direction={direction!r}, part={part!r}, norm={norm!r}")
    u2 = u * u  # u2[..., nu, i] = U_{nu i}^2
    # The eigenvectors must be orthonormal: every row and column of U has unit norm (an O(d^2) test
    # that catches a matrix that is not an eigenbasis, e.g. ones((d, d)), whose KL would be wrong).
    if not (
        np.allclose(u2.sum(axis=-1), 1.0, rtol=0, atol=1e-6) and np.allclose(u2.sum(axis=-2), 1.0, rtol=0, atol=1e-6)
    ):
        raise ValueError("U must be orthogonal (the eigenvectors of the generated covariance, as columns)")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = np.sum(np.log(lam), axis=-1) - np.sum(np.log(f), axis=-1)  # ln det Sigma - ln det Sigma_gen
        if direction == "forward":
            tr = _weighted_trace(u2, f, lam, "...vi,...i,...v->...", "...vi,...i->...v")
            kl = 0.5 * (tr - d + log_ratio)
        else:
            tr = _weighted_trace(u2, lam, f, "...vi,...v,...i->...", "...vi,...v->...i")
            kl = 0.5 * (tr - d - log_ratio)
        if part == "full":
            mg = np.zeros(f.shape) if mean_gen is None else real_array(mean_gen, "mean_gen")
            mt = np.zeros(f.shape) if mean_target is None else real_array(mean_target, "mean_target")
            diff = mg - mt
            if direction == "forward":
                kl = kl + 0.5 * np.sum(diff**2 / lam, axis=-1)
            else:
                proj = np.einsum("...vi,...v->...i", u, diff)
                kl = kl + 0.5 * np.sum(proj**2 / f, axis=-1)
    kl = np.where(np.any(f == 0, axis=-1), np.inf, kl)
    return kl / d if norm == "per_dim" else kl


def _weighted_trace(u2: np.ndarray, num: np.ndarray, den: np.ndarray, spec: str, partial: str) -> np.ndarray:
    r""":math:`\sum U^2\cdot\mathrm{num}/\mathrm{den}` over both mode axes, as the einsum ``spec``.

    When a reciprocal :math:`1/\mathrm{den}` overflows (a subnormal denominator), the product
    with a zero :math:`U^2` entry would be NaN: then the sum is formed as ``einsum(partial)``
    (``u2`` against ``num`` first) divided by ``den``, which is exact in those entries and gives
    the true value or ``+inf``. For ordinary input the original einsum is kept bit for bit.
    """
    inv = 1.0 / den
    if np.all(np.isfinite(inv)):
        return np.einsum(spec, u2, num, inv)
    return np.sum(np.einsum(partial, u2, num) / den, axis=-1)


def population_optimum_kl(
    lam: np.ndarray,
    schedule: Schedule,
    sampler_sigma: str = "beta",
    final_noise: bool = True,
    direction: str = "forward",
    norm: str = "per_dim",
) -> float:
    r"""KL of the sampler run with the exact moments (:math:`\hat\Sigma=\Sigma`, :math:`\hat\mu=\mu=0`)."""
    lam = _check_eigenvalues(lam, "lam", positive=True)
    f = mode_recursion(lam, schedule, sampler_sigma=sampler_sigma, final_noise=final_noise).f
    return float(kl_divergence(f, np.eye(lam.size), lam, direction=direction, norm=norm))


# ---------------------------------------------------------------------------------------------
# Monte Carlo sampler (dense matrices; for checks only)
# ---------------------------------------------------------------------------------------------


def ddpm_sample(
    eps_fn,
    schedule: Schedule,
    n_samples: int,
    d: int,
    seed,
    sampler_sigma: str = "beta",
    final_noise: bool = True,
    u_T_start: np.ndarray | None = None,
    chunk: int | None = None,
) -> np.ndarray:
    r"""Run the DDPM sampler :math:`u_{t-1}=\alpha_t^{-1/2}(u_t-\beta_t(1-\bar\alpha_t)^{-1/2}\epsilon_\theta(u_t,t))+\sigma_t\epsilon_t`.

    ``eps_fn(u, t)`` returns the predicted noise for a batch ``u`` (``(M, d)``, float64) at step
    ``t``; ``u_T_start`` is the mean of :math:`u_T` (default 0). Noise comes from one seeded
    generator; ``n_samples`` rows are processed together.
    """
    if not callable(eps_fn):
        raise TypeError(f"eps_fn must be callable, got {type(eps_fn).__name__}")
    _check_schedule(schedule)
    n_samples, d = integer(n_samples, "n_samples", 1), integer(d, "d", 1)
    dense_guard((n_samples, d), "DDPM samples", copies=4)
    start = None if u_T_start is None else real_array(u_T_start, "u_T_start")
    rng = np.random.default_rng(seed)
    var = schedule.sampler_variance(sampler_sigma, final_noise)
    u = rng.standard_normal((n_samples, d))
    if start is not None:
        u += start
    for t in range(schedule.T, 0, -1):
        i = t - 1
        eps = eps_fn(u, t)
        u = (u - schedule.beta[i] / np.sqrt(schedule.one_minus_abar[i]) * eps) / np.sqrt(schedule.alpha[i])
        if var[i] > 0:
            u += np.sqrt(var[i]) * rng.standard_normal((n_samples, d))
    return u


def linear_eps_fn(mu_hat: np.ndarray, cov_hat: np.ndarray, schedule: Schedule, ridge: float = 0.0):
    r"""The optimal centred linear denoiser as an ``eps_fn(u, t)`` for :func:`ddpm_sample`."""
    lam_hat, u = eigen_modes(cov_hat)
    mu_hat = real_array(mu_hat, "mu_hat")
    _check_schedule(schedule)
    ridge = _check_ridge(ridge)

    def eps(x: np.ndarray, t: int) -> np.ndarray:
        w = sym.optimal_mode_weight()(lam_hat, np.asarray(schedule.one_minus_abar[t - 1]), ridge)
        wmat = (u * w) @ u.T
        return (x - np.sqrt(schedule.abar[t - 1]) * mu_hat) @ wmat.T

    return eps


# ---------------------------------------------------------------------------------------------
# Denoising errors
# ---------------------------------------------------------------------------------------------


def denoising_error(
    w: np.ndarray, u: np.ndarray, lam: np.ndarray, one_minus_abar: float, mean_offset: np.ndarray | None = None
) -> np.ndarray:
    r"""Per-dimension error of :math:`W=U\mathrm{diag}(w)U^\top` on data with diagonal covariance :math:`\mathrm{diag}(\lambda)`.

    .. math::
        E_t(W)=\frac1d\Big\{\operatorname{tr}\big[I-2\sqrt{1-\bar\alpha_t}W+WC_tW^\top\big]
        +\bar\alpha_t\|W\,\delta\|^2\Big\},\quad C_t=\bar\alpha_t\Sigma+(1-\bar\alpha_t)I,

    with :math:`\delta=\mu-\hat\mu` (``mean_offset``). With :math:`(\Sigma,\mu)` the population
    moments this is :math:`E^{\rm test}`; with :math:`\lambda=\hat\lambda`, ``u`` the identity
    and :math:`\delta=0` it is :math:`E^{\rm train}`. Vectorised over leading axes.
    """
    s = _noise_level_scalar(one_minus_abar)
    w = real_array(w, "w")
    u = real_array(u, "U")
    if w.ndim < 1 or w.shape[-1] == 0:
        raise ValueError(f"w must hold d >= 1 mode weights along its last axis, got shape {w.shape}")
    d = w.shape[-1]
    c_diag = (1.0 - s) * _check_eigenvalues(lam, "lam") + s
    cw = np.einsum("...vi,...v->...i", u * u, c_diag)  # (U^T C U)_ii
    err = d - 2.0 * np.sqrt(s) * w.sum(-1) + np.sum(w * w * cw, axis=-1)
    if mean_offset is not None:
        proj = np.einsum("...vi,...v->...i", u, real_array(mean_offset, "mean_offset"))
        err = err + (1.0 - s) * np.sum((w * proj) ** 2, axis=-1)
    return err / d


def train_error(w: np.ndarray, lam_hat: np.ndarray, one_minus_abar: float) -> np.ndarray:
    r""":math:`E^{\rm train}_t=\frac1d\sum_i[1-2\sqrt{s}\,w_i+w_i^2((1-s)\hat\lambda_i+s)]`."""
    s = _noise_level_scalar(one_minus_abar)
    w = real_array(w, "w")
    c = (1.0 - s) * _check_eigenvalues(lam_hat, "lam_hat") + s
    return np.mean(1.0 - 2.0 * np.sqrt(s) * w + w * w * c, axis=-1)


def bayes_error(lam: np.ndarray, one_minus_abar: float) -> float:
    r"""Bayes error per dimension :math:`\frac1d\sum_\nu\frac{\bar\alpha\lambda_\nu}{\bar\alpha\lambda_\nu+1-\bar\alpha}`."""
    s = _noise_level_scalar(one_minus_abar)
    lam = _check_eigenvalues(lam, "lam")
    return float(np.mean((1 - s) * lam / ((1 - s) * lam + s)))


# ---------------------------------------------------------------------------------------------
# Deterministic equivalent (known mean, optimal ridge denoiser)
# ---------------------------------------------------------------------------------------------


def effective_regularisation(lam: np.ndarray, n: int, z: float) -> float:
    r"""Root :math:`\kappa>z` of :math:`\kappa-z=\frac{\kappa}{N}\sum_\nu\frac{\lambda_\nu}{\lambda_\nu+\kappa}` (brentq)."""
    lam = _check_eigenvalues(lam, "lam")
    n = integer(n, "N", 1)
    z = real_scalar(z, "z", 0.0, lo_open=True)

    def g(kappa: float) -> float:
        return kappa - z - kappa / n * float(np.sum(lam / (lam + kappa)))

    hi = max(1e6, 10.0 * (z + lam.sum()))
    return brentq(g, z, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)


def deterministic_equivalent_test_error(lam: np.ndarray, n: int, one_minus_abar: float, ridge: float = 0.0) -> float:
    r"""Deterministic equivalent of :math:`E^{\rm test}_t(W^\star)` (known mean), spec §1.5.

    With :math:`z=(1-\bar\alpha+\lambda)/\bar\alpha`, :math:`R=(\Sigma+\kappa)^{-1}`,
    :math:`\mathrm{df}_2=\operatorname{tr}\Sigma^2R^2`:

    .. math::
        \operatorname{tr}G\asymp\frac{\kappa}{z\bar\alpha}\sum_\nu\frac1{\lambda_\nu+\kappa},\quad
        \operatorname{tr}GCG\asymp\frac{\kappa^2}{z^2\bar\alpha^2}\Big[\sum_\nu\frac{C_\nu}{(\lambda_\nu+\kappa)^2}
        +\frac{\frac1N\sum_\nu\frac{C_\nu\lambda_\nu}{(\lambda_\nu+\kappa)^2}}{1-\mathrm{df}_2/N}
        \sum_\nu\frac{\lambda_\nu}{(\lambda_\nu+\kappa)^2}\Big],

    and :math:`E=\frac1d\{d-2(1-\bar\alpha)\operatorname{tr}G+(1-\bar\alpha)\operatorname{tr}GCG\}`.
    """
    ridge = _check_ridge(ridge)
    lam = _check_eigenvalues(lam, "lam")
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"lam must be a non-empty 1-D array of eigenvalues, got shape {lam.shape}")
    n = integer(n, "n", 1)
    s = _noise_level_scalar(one_minus_abar)
    if s == 1.0:
        raise ValueError("one_minus_abar must be < 1 here (the data signal abar vanishes at 1)")
    ab = 1.0 - s
    z = (s + ridge) / ab
    kappa = effective_regularisation(lam, n, z)
    r = 1.0 / (lam + kappa)
    c = ab * lam + s
    df2 = float(np.sum(lam**2 * r**2))
    tr_g = kappa / (z * ab) * float(np.sum(r))
    tr_gcg = (
        kappa**2
        / (z * ab) ** 2
        * (float(np.sum(c * r**2)) + float(np.sum(c * lam * r**2)) / n / (1.0 - df2 / n) * float(np.sum(lam * r**2)))
    )
    d = lam.size
    return (d - 2.0 * s * tr_g + s * tr_gcg) / d


# ---------------------------------------------------------------------------------------------
# White sample covariances (Wishart draws)
# ---------------------------------------------------------------------------------------------


def wishart_white_covariance(d: int, n: int, n_draws: int, seed) -> np.ndarray:
    r"""Draws of :math:`S=Z^\top Z/N` (:math:`Z` standard normal, known mean) via the Bartlett decomposition.

    :math:`NS\sim W_d(N,I)` equals :math:`AA^\top` in law with :math:`A` lower triangular,
    :math:`A_{ii}^2\sim\chi^2_{N-i+1}`, :math:`A_{ij}\sim\mathcal N(0,1)` (:math:`i>j`); cost
    :math:`O(d^3)` per draw instead of :math:`O(Nd^2)`. Requires :math:`N\ge d`.
    """
    d, n, n_draws = integer(d, "d", 1), integer(n, "N", 1), integer(n_draws, "n_draws", 1)
    if n < d:
        raise ValueError(f"Bartlett draws need N >= d, got N={n}, d={d}")
    dense_guard((n_draws, d, d), "Wishart draws", copies=3)
    rng = np.random.default_rng(seed)
    a = np.tril(rng.standard_normal((n_draws, d, d)), k=-1)
    dof = n - np.arange(d)
    diag = np.sqrt(rng.chisquare(dof, size=(n_draws, d)))
    idx = np.arange(d)
    a[:, idx, idx] = diag
    return a @ np.swapaxes(a, -1, -2) / n
