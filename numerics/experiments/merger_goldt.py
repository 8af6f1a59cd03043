r"""Linear diffusion models (Merger & Goldt, spec ``merger_goldt.md``): the measurements of the
``merger-goldt/`` claims and figures.

Each measurement is a function ``f(run, *, <injection points>) -> <dataclass>`` whose sizes come
from its :class:`~numerics.experiments.Tier` (the spec's sizes, from §3, and the fast tier's).
The injection points are the closed form or law under test (a schedule, a loss, a weight law, a
recursion, a KL); a negative control passes one wrong version. The independent computations
(Monte Carlo over noises, samples or training sets, an ODE solve, PyTorch training, SymPy) do not
depend on the injection points, so they are memoised with :func:`~numerics.experiments.measured`
and a control costs only the re-evaluation of the closed form.

Training sets (spec §1.2): one white matrix :math:`Z` per seed (:func:`~numerics.datasets.white_samples`)
gives :math:`X=Z\Sigma_k^{1/2}` for every spectrum :math:`k` (common random numbers across spectra);
their eigen-decomposed empirical moments are :class:`EmpiricalModes` (:func:`empirical_modes_task`,
a sweep task over :math:`N`), the generated law of the linear sampler on them is
:class:`GeneratedLaw` (per-mode recursion of §1.6, vectorised over seeds and spectra). Engines:
:mod:`numerics.linear_diffusion` (schedule, weights, recursion, KL, errors, deterministic equivalent)
and :mod:`numerics.linear_diffusion_torch` (trained denoisers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import mpmath as mp
import numpy as np
import scipy.linalg as sla
import torch
from scipy.integrate import solve_ivp
from torch import nn

from numerics import linear_diffusion as ld
from numerics import linear_diffusion_torch as lt
from numerics.datasets import power_law_spectrum, white_samples
from numerics.executor import sweep
from numerics.experiments import RunSpec, Sizes, Tier, measured
from numerics.gaussians import kl_monte_carlo
from numerics.linear_diffusion import KL_DIRECTIONS, SAMPLER_SIGMAS, Schedule
from numerics.training import Hyper, LossFn, torch_generator, trained
from theory import linear_diffusion as sym
from theory.gaussians import gaussian_kl

SPEC = "spec merger_goldt.md"
KS4 = (0.0, 0.5, 1.0, 2.0)
KS5 = (0.0, 0.5, 1.0, 1.5, 2.0)
KL_PARTS = ("cov", "full")
START_MEANS = ("zero", "shifted")
# Sampler variants of spec §1.1 / §1.6: (sigma^2, noise at the last step, mean of u_T).
VARIANTS = tuple((sig, fn, start) for sig in SAMPLER_SIGMAS for fn in (True, False) for start in START_MEANS)

SpectrumFn = Callable[..., np.ndarray]
RecursionFn = Callable[..., ld.GeneratedModes]
KLFn = Callable[..., np.ndarray]
WeightFn = Callable[..., np.ndarray]


def row(slug: str, *more: str) -> str:
    """The spec section of a claim: its row of the claims table, plus the setting it relies on."""
    return ", ".join((f"{SPEC} §3 row merger-goldt/{slug}", *more))


def seed_list(run: RunSpec, defaults: Sequence[int]) -> list[Any]:
    """One seed per training set: the spec's seeds, or streams derived from ``--seed``."""
    return [run.seed_for(int(s)) for s in defaults]


def stream(run: RunSpec, default: int, which: int) -> np.random.Generator:
    """A separate generator (data, noise, ...) of the draw whose spec seed is ``default``."""
    return np.random.default_rng([*run.seed_list(default), which])


def mean_and_se(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean over ``axis`` and its standard error (``ddof=1``)."""
    v = np.asarray(values, dtype=np.float64)
    return v.mean(axis=axis), v.std(axis=axis, ddof=1) / np.sqrt(v.shape[axis])


# =============================================================================================
# Training sets: eigen-decomposed empirical moments, and the generated law on them
# =============================================================================================
@dataclass(frozen=True)
class EmpiricalModes:
    r"""Empirical moments of one training-set size, for several seeds and spectra.

    Attributes
    ----------
    n : training-set size :math:`N`
    lam : ``(K, d)`` target spectra :math:`\lambda_\nu` (diagonal :math:`\Sigma_k`)
    mu_hat : ``(S, K, d)`` empirical means
    lam_hat : ``(S, K, d)`` eigenvalues of :math:`\hat\Sigma`, descending, null modes set to 0
    u : ``(S, K, d, d)`` eigenvectors (columns)
    """

    n: int
    lam: np.ndarray
    mu_hat: np.ndarray
    lam_hat: np.ndarray
    u: np.ndarray

    @property
    def null_modes(self) -> np.ndarray:
        """``(S, K)`` number of zero eigenvalues."""
        return ld.null_mode_count(self.lam_hat)


def empirical_modes_task(
    d: int,
    n: int,
    ks: tuple[float, ...],
    seeds: list[Any],
    mean: str = "estimated",
    trace: float | None = None,
    spectrum: SpectrumFn = power_law_spectrum,
) -> EmpiricalModes:
    r"""Empirical moments of :math:`X=Z\Sigma_k^{1/2}` for every seed and spectrum (a sweep task).

    One white :math:`Z` (``white_samples(n, d, seed)``) per seed serves every spectrum:
    :math:`\hat\Sigma_k=\Sigma_k^{1/2}S\,\Sigma_k^{1/2}` with the white sample covariance :math:`S`
    (centred on the sample mean for ``mean="estimated"``, on 0 for ``"known"``), and
    :math:`\hat\mu_k=\Sigma_k^{1/2}\bar z` (0 for ``"known"``).
    """
    lam = np.stack([spectrum(d, k, trace) for k in ks])
    sq = np.sqrt(lam)
    mu_hat, lam_hat, u = [], [], []
    for seed in seeds:
        z = white_samples(n, d, seed)
        if mean == "estimated":
            z_mu = z.mean(axis=0)
            zc = z - z_mu
        elif mean == "known":
            z_mu, zc = np.zeros(d), z
        else:
            raise ValueError(f"mean must be 'estimated' or 'known', got {mean!r}")
        s_white = zc.T @ zc / n
        lh, uu = ld.eigen_modes(sq[:, :, None] * s_white[None] * sq[:, None, :])
        mu_hat.append(z_mu[None] * sq)
        lam_hat.append(lh)
        u.append(uu)
    return EmpiricalModes(n, lam, np.stack(mu_hat), np.stack(lam_hat), np.stack(u))


def empirical_modes(
    run: RunSpec,
    d: int,
    ns: Sequence[int],
    ks: tuple[float, ...],
    seeds: list[Any],
    mean: str = "estimated",
    trace: float | None = None,
    spectrum: SpectrumFn = power_law_spectrum,
) -> list[EmpiricalModes]:
    """:func:`empirical_modes_task` for every ``N`` in ``ns`` through the run's executor (memoised)."""
    common = {"d": d, "ks": tuple(ks), "seeds": seeds, "mean": mean, "trace": trace, "spectrum": spectrum}
    tasks = [{**common, "n": int(n)} for n in ns]
    return measured(
        run,
        "merger-goldt/empirical-modes",
        {**common, "ns": [int(n) for n in ns]},
        lambda: sweep(run.executor, empirical_modes_task, tasks),
    )


@dataclass(frozen=True)
class SamplerSetting:
    """The sampler and denoiser of one generated law (spec §1.1, §1.3, §1.6; defaults of §3)."""

    sampler_sigma: str = "beta"
    final_noise: bool = True
    T: int = 1000
    ridge: float = 0.0
    u_T_mean: str = "zero"


DEFAULT_SAMPLER = SamplerSetting()


@dataclass(frozen=True)
class GeneratedLaw:
    r"""Generated Gaussian :math:`\mathcal N(\mu_{\rm gen},U\mathrm{diag}(f)U^\top)` per seed and spectrum.

    ``f`` and ``mean_gen`` have the shape ``(S, K, d)`` of ``modes.lam_hat`` (with a leading axis
    of training times when the law was run at several, ``(taus, S, K, d)``).
    """

    modes: EmpiricalModes
    setting: SamplerSetting
    f: np.ndarray
    mean_gen: np.ndarray

    def kl(self, kl: KLFn = ld.kl_divergence, direction: str = "forward", part: str = "cov", norm: str = "per_dim"):
        """KL between the generated law and the target :math:`\\mathcal N(0,\\Sigma_k)`, shape ``(S, K)``."""
        return kl(self.f, self.modes.u, self.modes.lam, self.mean_gen, None, direction=direction, part=part, norm=norm)


def generated_law(
    modes: EmpiricalModes,
    setting: SamplerSetting = DEFAULT_SAMPLER,
    train_time: np.ndarray | float | None = None,
    recursion: RecursionFn = ld.mode_recursion,
) -> GeneratedLaw:
    """The per-mode recursion (``recursion``, default the engine's) on every seed and spectrum at once."""
    sch = ld.beta_schedule(setting.T)
    lam_hat = modes.lam_hat
    u, mu_hat = modes.u, modes.mu_hat
    if train_time is not None:
        train_time = np.asarray(train_time, dtype=np.float64).reshape(-1, *([1] * lam_hat.ndim))
        lam_hat = np.broadcast_to(lam_hat, (train_time.shape[0], *lam_hat.shape))
    g = recursion(
        lam_hat,
        sch,
        ridge=setting.ridge,
        sampler_sigma=setting.sampler_sigma,
        final_noise=setting.final_noise,
        train_time=train_time,
    )
    mean = ld.generated_mean(mu_hat, u, g.prod_a, sch, setting.u_T_mean)
    return GeneratedLaw(modes, setting, g.f, mean)


def population_kl(
    lam: np.ndarray,
    setting: SamplerSetting = DEFAULT_SAMPLER,
    norm: str = "per_dim",
    schedule: Callable[[int], Schedule] = ld.beta_schedule,
) -> np.ndarray:
    r"""Population-optimum KL (spec §1.6: :math:`\hat\Sigma=\Sigma`, :math:`\hat\mu=\mu=0`), ``(direction, k)``.

    What :func:`numerics.linear_diffusion.population_optimum_kl` computes for one spectrum, for
    every row of ``lam`` at once and both directions from one recursion.
    """
    lam = np.atleast_2d(lam)
    f = ld.mode_recursion(
        lam, schedule(setting.T), sampler_sigma=setting.sampler_sigma, final_noise=setting.final_noise
    ).f
    eye = np.eye(lam.shape[-1])
    return np.stack([ld.kl_divergence(f, eye, lam, direction=dr, norm=norm) for dr in KL_DIRECTIONS])


def optimal_errors(
    modes: EmpiricalModes, steps: Sequence[int], ridges: Sequence[float], weights: WeightFn = ld.mode_weights
) -> tuple[np.ndarray, np.ndarray]:
    r"""Test and train errors of the ridge denoiser (weights ``weights``), shape ``(S, K, ridges, steps)``.

    :math:`E^{\rm test}` with the population moments :math:`(0,\Sigma_k)` (mean term included),
    :math:`E^{\rm train}` with the empirical ones (spec §1.4).
    """
    sch = ld.beta_schedule(1000)
    shape = (*modes.lam_hat.shape[:2], len(ridges), len(steps))
    test, train = np.empty(shape), np.empty(shape)
    for b, ridge in enumerate(ridges):
        for c, t in enumerate(steps):
            s = sch.one_minus_abar[t - 1]
            w = weights(modes.lam_hat, s, ridge)
            test[..., b, c] = ld.denoising_error(w, modes.u, modes.lam, s, mean_offset=-modes.mu_hat)
            train[..., b, c] = ld.train_error(w, modes.lam_hat, s)
    return test, train


@dataclass(frozen=True)
class MonteCarloAgreement:
    """Monte Carlo means per case, their SEs, and the closed form under test."""

    labels: tuple[str, ...]
    mc: np.ndarray
    se: np.ndarray
    closed_form: np.ndarray

    @property
    def z(self) -> np.ndarray:
        """``|MC - closed form| / SE`` per case."""
        return np.abs(self.mc - self.closed_form) / self.se


# =============================================================================================
# merger-goldt/beta-schedule
# =============================================================================================
@dataclass(frozen=True)
class ScheduleSizes(Sizes):
    T: int = 1000
    mp_dps: int = 30
    report_T: tuple[int, ...] = (500, 2000)


BETA_SCHEDULE = Tier.same("merger-goldt/beta-schedule", ScheduleSizes(), row("beta-schedule", "§1.1, §6 (T)"))


@dataclass(frozen=True)
class ScheduleValues:
    r"""The schedule under test and :math:`\bar\alpha_T` of the spec's formula at ``mp_dps`` digits."""

    beta: np.ndarray
    abar_T: float
    abar_T_mp: float
    abar_T_other: tuple[tuple[int, float], ...]

    @property
    def rel_mp(self) -> float:
        return abs(self.abar_T - self.abar_T_mp) / self.abar_T_mp


def schedule_values(run: RunSpec, schedule: Callable[[int], Schedule] = ld.beta_schedule) -> ScheduleValues:
    """``schedule(T)`` and an independent mpmath product of the spec's :math:`1-\\beta_t` (§1.1)."""
    sz = run.sizes(BETA_SCHEDULE)
    sch = schedule(sz.T)
    with mp.workdps(sz.mp_dps):
        lo, hi = mp.mpf("1e-4"), mp.mpf("1e-2")
        abar = mp.fprod(1 - ((hi - lo) / sz.T * t + lo) for t in range(1, sz.T + 1))
    other = tuple((t, float(schedule(t).abar[-1])) for t in sz.report_T)
    return ScheduleValues(sch.beta, float(sch.abar[-1]), float(abar), other)


# =============================================================================================
# merger-goldt/loss-depends-on-moments
# =============================================================================================
@dataclass(frozen=True)
class LossSizes(Sizes):
    d: int = 10
    n: int = 30
    steps: tuple[int, ...] = (1, 100, 900)
    noises: int = 100_000


LOSS_MOMENTS = Tier.same("merger-goldt/loss-depends-on-moments", LossSizes(), row("loss-depends-on-moments", "§1.3"))


def noise_averaged_loss(w: np.ndarray, c: np.ndarray, cov_hat: np.ndarray, s: float) -> float:
    r"""Closed form of §1.3, :math:`\operatorname{tr}[I-2\sqrt{s}W+W\hat C W^\top]+\|c\|^2` (:math:`s=1-\bar\alpha_t`).

    The trace part is the training engine's loss (:func:`numerics.linear_diffusion_torch.closed_form_loss`, float64).
    """
    d = w.shape[0]
    c_hat = (1 - s) * cov_hat + s * np.eye(d)
    as_t = torch.as_tensor
    trace_part = lt.closed_form_loss(
        as_t(w[None]), as_t(c_hat[None]), as_t(np.array([s])), as_t(np.zeros(1, dtype=np.float64))
    )
    return float(trace_part) + float(c @ c)


def loss_moments(run: RunSpec, loss: Callable[..., float] = noise_averaged_loss) -> MonteCarloAgreement:
    r"""Empirical loss averaged over ``noises`` draws per training point vs ``loss`` (spec §1.3).

    Data, :math:`W` and :math:`c` from seed 61 (:math:`\mu=\mathbf 1`, :math:`k=1`); noises from a
    separate stream. The Monte Carlo does not depend on ``loss`` and is memoised.
    """
    sz = run.sizes(LOSS_MOMENTS)

    def monte_carlo() -> tuple[np.ndarray, ...]:
        rng = run.rng(61)
        lam = power_law_spectrum(sz.d, 1.0)
        x = rng.standard_normal((sz.n, sz.d)) * np.sqrt(lam) + 1.0
        w = rng.standard_normal((sz.d, sz.d)) / np.sqrt(sz.d)
        c = 0.3 * rng.standard_normal(sz.d)
        mu_hat, cov_hat = ld.empirical_moments(x)
        noise = stream(run, 61, 1)
        sch = ld.beta_schedule(1000)
        mc, se = [], []
        for t in sz.steps:
            s = sch.one_minus_abar[t - 1]
            # One noise draw serves every training point: each point gets `noises` draws, and the
            # data average per draw is one sample of the loss (its SE is over draws).
            eps = noise.standard_normal((sz.noises, sz.d))
            loss = np.zeros(sz.noises)
            for xi in x:
                r = eps - (np.sqrt(1 - s) * (xi - mu_hat) + np.sqrt(s) * eps) @ w.T - c
                loss += np.einsum("ij,ij->i", r, r) / sz.n
            mc.append(loss.mean())
            se.append(loss.std(ddof=1) / np.sqrt(sz.noises))
        return w, c, cov_hat, np.array(mc), np.array(se)

    w, c, cov_hat, mc, se = measured(run, "merger-goldt/loss-mc", {"sizes": sz, "seed": run.seed_for(61)}, monte_carlo)
    sch = ld.beta_schedule(1000)
    closed = np.array([loss(w, c, cov_hat, sch.one_minus_abar[t - 1]) for t in sz.steps])
    return MonteCarloAgreement(tuple(f"t={t}" for t in sz.steps), mc, se, closed)


# =============================================================================================
# merger-goldt/ridge-optimum
# =============================================================================================
@dataclass(frozen=True)
class RidgeOptimumSizes(Sizes):
    d: int = 20
    ns: tuple[int, ...] = (10, 40)
    ridges: tuple[float, ...] = (0.0, 0.1)
    steps: tuple[int, ...] = (10, 500)
    grad_tol: float = 1e-12
    plain_gd: bool = True
    adam_steps: int = 20_000
    adam_lr: float = 1e-3
    adam_noises: int = 4096
    adam_ema: float | None = None


RIDGE_OPTIMUM = Tier(
    "merger-goldt/ridge-optimum",
    fast=RidgeOptimumSizes(plain_gd=False, adam_steps=2000, adam_lr=3e-3, adam_noises=1024, adam_ema=0.99),
    spec=RidgeOptimumSizes(),
    section=row("ridge-optimum", "§1.3"),
)


@dataclass(frozen=True)
class RidgeOptimum:
    """Gradient-descent and Adam minimisers against the closed-form optimum.

    ``cases`` lists ``(N, ridge, t)``; ``w_gd`` (and ``w_star``) have one matrix per case. The Adam
    run is the spec's case ``ridge = 0.1``, ``t = 500``, largest ``N`` (the last case).
    """

    cases: tuple[tuple[int, float, int], ...]
    w_gd: np.ndarray
    grad_norm: np.ndarray
    gd_method: str
    w_star: np.ndarray
    w_adam: np.ndarray

    @property
    def gd_error(self) -> np.ndarray:
        """Max absolute entry of :math:`W_{\\rm GD}-W^\\star` per case."""
        return np.abs(self.w_gd - self.w_star).max(axis=(1, 2))

    @property
    def adam_error(self) -> float:
        """Relative Frobenius error of Adam against the closed form (last case)."""
        return float(np.linalg.norm(self.w_adam - self.w_star[-1]) / np.linalg.norm(self.w_star[-1]))


def ridge_optimum(run: RunSpec, w_star: Callable[..., np.ndarray] = ld.linear_denoiser_weights) -> RidgeOptimum:
    r"""Minimise :math:`L_t+\lambda\|W\|_F^2` by full-batch GD (float64) and Adam (sampled loss); compare with ``w_star``.

    ``w_star(cov_hat, schedule, t, ridge)`` is the closed form under test (default: the engine's
    :math:`U\mathrm{diag}(w^\star(\hat\lambda))U^\top`). GD runs until the gradient norm is below
    ``grad_tol``: plain GD with step :math:`2/(L+m)` at spec size; the fast tier first runs
    Polyak's heavy ball (:math:`O(\sqrt\kappa)` steps) and polishes with plain GD.
    """
    sz = run.sizes(RIDGE_OPTIMUM)
    sch = ld.beta_schedule(1000)
    lam = power_law_spectrum(sz.d, 1.0)
    seed = run.seed_for(62)
    sets = {n: white_samples(n, sz.d, [*np.atleast_1d(seed), n]) * np.sqrt(lam) for n in sz.ns}
    covs = {n: ld.empirical_moments(x)[1] for n, x in sets.items()}
    cases = tuple((n, r, t) for n in sz.ns for r in sz.ridges for t in sz.steps)

    def minimise() -> tuple[np.ndarray, np.ndarray, str, np.ndarray]:
        s = np.array([sch.one_minus_abar[t - 1] for _, _, t in cases])
        r = np.array([rg for _, rg, _ in cases])
        c_hat = np.array([(1 - si) * covs[n] + si * np.eye(sz.d) for si, (n, _, _) in zip(s, cases)])
        ev = np.linalg.eigvalsh(c_hat)
        h_max, h_min = 2 * (ev[:, -1] + r), 2 * (ev[:, 0] + r)
        init, method = None, "plain gradient descent, step 2/(L+m)"
        if not sz.plain_gd:
            sl, sm = np.sqrt(h_max), np.sqrt(h_min)
            hb = lt.gradient_descent_closed_form(
                c_hat,
                s,
                r,
                4 / (sl + sm) ** 2,
                grad_tol=10 * sz.grad_tol,
                max_steps=20_000,
                momentum=((sl - sm) / (sl + sm)) ** 2,
            )
            # Momentum amplifies rounding near the float64 floor: plain GD polishes below grad_tol.
            init, method = hb.weights, f"heavy-ball GD ({hb.steps} steps), then plain GD, step 2/(L+m)"
        gd = lt.gradient_descent_closed_form(c_hat, s, r, 2 / (h_max + h_min), grad_tol=sz.grad_tol, init=init)
        n, ridge, t = cases[-1]
        w_adam, _ = lt.train_linear_denoiser(
            sets[n],
            sch,
            t,
            ridge,
            steps=sz.adam_steps,
            lr=sz.adam_lr,
            noises_per_step=sz.adam_noises,
            seed=seed,
            ema=sz.adam_ema,
        )
        return gd.weights, gd.grad_norm, method, w_adam

    w_gd, grad_norm, method, w_adam = measured(
        run, "merger-goldt/ridge-minimisers", {"sizes": sz, "seed": seed}, minimise
    )
    star = np.array([w_star(covs[n], sch, t, ridge) for n, ridge, t in cases])
    return RidgeOptimum(cases, w_gd, grad_norm, method, star, w_adam)


# =============================================================================================
# merger-goldt/gradient-flow-solution
# =============================================================================================
@dataclass(frozen=True)
class GradientFlowSizes(Sizes):
    d: int = 20
    n: int = 10
    steps: tuple[int, ...] = (1, 10, 500)
    taus: tuple[float, ...] = (0.1, 1.0, 5.0)
    gd_lr: float = 0.05
    gd_steps: int = 1000


GRADIENT_FLOW = Tier.same(
    "merger-goldt/gradient-flow-solution", GradientFlowSizes(), row("gradient-flow-solution", "§1.3")
)


def dense(lam_hat: np.ndarray, u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """:math:`U\\mathrm{diag}(w)U^\\top`."""
    return (u * w) @ u.T


def gradient_flow_weights(cov_hat: np.ndarray, s: float, eta_tau: float) -> np.ndarray:
    """Gradient-flow :math:`W_t(\\tau)` from the per-mode closed form of the engine (η = 1)."""
    lam_hat, u = ld.eigen_modes(cov_hat)
    return dense(lam_hat, u, ld.mode_weights(lam_hat, s, train_time=eta_tau))


def gradient_descent_weights(cov_hat: np.ndarray, s: float, lr: float, n: int) -> np.ndarray:
    """:math:`W_n` after ``n`` gradient-descent steps of size ``lr`` from 0, per-mode closed form of the engine."""
    lam_hat, u = ld.eigen_modes(cov_hat)
    return dense(lam_hat, u, ld.mode_weights(lam_hat, s, lr=lr, gd_steps=n))


@dataclass(frozen=True)
class GradientFlow:
    """Per step ``t``: the ODE solution and the expm formula at each τ, PyTorch GD, and the closed forms."""

    steps: tuple[int, ...]
    taus: tuple[float, ...]
    ode: np.ndarray  # (steps, taus, d, d)
    expm: np.ndarray  # (steps, taus, d, d)
    flow: np.ndarray  # closed form under test, (steps, taus, d, d)
    gd: np.ndarray  # (steps, d, d)
    gd_formula: np.ndarray  # closed form under test, (steps, d, d)
    stability: np.ndarray  # 2 * lr * lambda_max(C_hat_t) per step

    @property
    def ode_error(self) -> np.ndarray:
        return np.abs(self.ode - self.flow).max(axis=(2, 3))

    @property
    def expm_error(self) -> np.ndarray:
        return np.abs(self.expm - self.flow).max(axis=(2, 3))

    @property
    def gd_error(self) -> np.ndarray:
        return np.abs(self.gd - self.gd_formula).max(axis=(1, 2))


def gradient_flow(
    run: RunSpec,
    flow: Callable[..., np.ndarray] = gradient_flow_weights,
    descent: Callable[..., np.ndarray] = gradient_descent_weights,
) -> GradientFlow:
    r"""Matrix ODE :math:`\dot W=2[\sqrt s\,I-W\hat C_t]` (DOP853, rtol 1e-12) and PyTorch GD vs the closed forms.

    ``flow(cov_hat, s, eta_tau)`` and ``descent(cov_hat, s, lr, n)`` are the closed forms under
    test; the ODE, the spec's ``scipy.linalg.expm`` formula and the GD run are memoised.
    """
    sz = run.sizes(GRADIENT_FLOW)
    sch = ld.beta_schedule(1000)
    seed = run.seed_for(62)
    x = white_samples(sz.n, sz.d, seed) * np.sqrt(power_law_spectrum(sz.d, 1.0))
    _, cov_hat = ld.empirical_moments(x)
    eye = np.eye(sz.d)

    def solve() -> tuple[np.ndarray, ...]:
        ode, expm, gd, stab = [], [], [], []
        for t in sz.steps:
            s = sch.one_minus_abar[t - 1]
            c = (1 - s) * cov_hat + s * eye

            def rhs(_tau, y, c=c, s=s):
                return (2 * (np.sqrt(s) * eye - y.reshape(sz.d, sz.d) @ c)).ravel()

            sol = solve_ivp(
                rhs, (0, max(sz.taus)), np.zeros(sz.d**2), method="DOP853", rtol=1e-12, atol=1e-14, t_eval=sz.taus
            )
            ode.append(sol.y.T.reshape(len(sz.taus), sz.d, sz.d))
            expm.append([np.sqrt(s) * np.linalg.solve(c, eye - sla.expm(-2 * tau * c)) for tau in sz.taus])
            gd.append(lt.gradient_descent_closed_form(c, s, 0.0, sz.gd_lr, steps=sz.gd_steps).weights[0])
            stab.append(2 * sz.gd_lr * np.linalg.eigvalsh(c)[-1])
        return np.array(ode), np.array(expm), np.array(gd), np.array(stab)

    ode, expm, gd, stab = measured(run, "merger-goldt/gradient-flow-ode", {"sizes": sz, "seed": seed}, solve)
    steps_s = [sch.one_minus_abar[t - 1] for t in sz.steps]
    flows = np.array([[flow(cov_hat, s, tau) for tau in sz.taus] for s in steps_s])
    formula = np.array([descent(cov_hat, s, sz.gd_lr, sz.gd_steps) for s in steps_s])
    return GradientFlow(sz.steps, sz.taus, ode, expm, flows, gd, formula, stab)


# =============================================================================================
# merger-goldt/bayes-optimal-linear
# =============================================================================================
@dataclass(frozen=True)
class BayesSizes(Sizes):
    d: int = 20
    k: float = 1.0
    samples: int = 200_000
    steps: tuple[int, ...] = (1, 100, 500)


BAYES_OPTIMAL = Tier.same("merger-goldt/bayes-optimal-linear", BayesSizes(), row("bayes-optimal-linear", "§1.4"))


def bayes_optimal(run: RunSpec, bayes_error: Callable[..., float] = ld.bayes_error) -> MonteCarloAgreement:
    r"""Error of the population-optimal linear denoiser on fresh :math:`(x,\epsilon)` vs ``bayes_error(lam, s)``.

    Data from seed 63, noises from a separate stream; the Monte Carlo is memoised.
    """
    sz = run.sizes(BAYES_OPTIMAL)
    lam = power_law_spectrum(sz.d, sz.k)
    sch = ld.beta_schedule(1000)

    def monte_carlo() -> tuple[np.ndarray, np.ndarray]:
        data, noise = run.rng(63), stream(run, 63, 1)
        means, ses = [], []
        for t in sz.steps:
            s = sch.one_minus_abar[t - 1]
            x = data.standard_normal((sz.samples, sz.d)) * np.sqrt(lam)
            eps = noise.standard_normal((sz.samples, sz.d))
            w = ld.mode_weights(lam, s)  # W* with population moments (diagonal Sigma)
            err = np.mean((eps - (np.sqrt(1 - s) * x + np.sqrt(s) * eps) * w) ** 2, axis=1)
            means.append(err.mean())
            ses.append(err.std(ddof=1) / np.sqrt(sz.samples))
        return np.array(means), np.array(ses)

    mc, se = measured(run, "merger-goldt/bayes-mc", {"sizes": sz, "seed": run.seed_for(63)}, monte_carlo)
    closed = np.array([bayes_error(lam, sch.one_minus_abar[t - 1]) for t in sz.steps])
    return MonteCarloAgreement(tuple(f"t={t}" for t in sz.steps), mc, se, closed)


# =============================================================================================
# merger-goldt/test-train-error-formulas
# =============================================================================================
@dataclass(frozen=True)
class ErrorFormulaSizes(Sizes):
    d: int = 50
    k: float = 1.0
    ns: tuple[int, ...] = (30, 200)
    ridges: tuple[float, ...] = (0.0, 0.1)
    steps: tuple[int, ...] = (1, 10, 100)
    test_samples: int = 200_000
    train_noises: int = 2000


ERROR_FORMULAS = Tier.same(
    "merger-goldt/test-train-error-formulas", ErrorFormulaSizes(), row("test-train-error-formulas", "§1.4")
)


@dataclass(frozen=True)
class ErrorFormulas:
    """Monte Carlo test and train errors against the closed forms, cases ``(N, ridge, t)``."""

    cases: tuple[tuple[int, float, int], ...]
    test: MonteCarloAgreement
    train: MonteCarloAgreement


def error_formulas(
    run: RunSpec,
    test_error: Callable[..., np.ndarray] = ld.denoising_error,
    train_error: Callable[..., np.ndarray] = ld.train_error,
) -> ErrorFormulas:
    r"""Test error on fresh samples and train error on the training set (fresh noises) vs the closed forms of §1.4.

    :math:`\mu=\mathbf 1` exercises the mean term. The Monte Carlo runs in the eigenbasis of
    :math:`\hat\Sigma`, where :math:`W` is diagonal: the squared norm is rotation invariant and an
    isotropic noise is isotropic in any basis, so the noise is drawn there directly; the same draws
    serve every ``(ridge, t)`` of one training set. Memoised; ``test_error(w, u, lam, s,
    mean_offset)`` and ``train_error(w, lam_hat, s)`` are the closed forms under test.
    """
    sz = run.sizes(ERROR_FORMULAS)
    lam = power_law_spectrum(sz.d, sz.k)
    mu = np.ones(sz.d)
    sch = ld.beta_schedule(1000)
    cases = tuple((n, r, t) for n in sz.ns for r in sz.ridges for t in sz.steps)
    data = run.rng(64)
    sets = [data.standard_normal((n, sz.d)) * np.sqrt(lam) + mu for n in sz.ns]
    moments = []
    for x in sets:
        mu_hat, cov_hat = ld.empirical_moments(x)
        lam_hat, u = ld.eigen_modes(cov_hat, rel_cut=0.0)
        moments.append((mu_hat, np.clip(lam_hat, 0.0, None), u))

    def monte_carlo() -> tuple[np.ndarray, ...]:
        noise = stream(run, 64, 1)
        out: dict[str, list[float]] = {key: [] for key in ("test", "test_se", "train", "train_se")}
        for x, (mu_hat, lam_hat, u) in zip(sets, moments):
            y_test = (noise.standard_normal((sz.test_samples, sz.d)) * np.sqrt(lam) + mu - mu_hat) @ u
            e_test = noise.standard_normal((sz.test_samples, sz.d))
            y_train = (x - mu_hat) @ u
            # One noise draw serves every training point (the data average per draw is one sample).
            e_train = noise.standard_normal((sz.train_noises, sz.d))
            for ridge in sz.ridges:
                for t in sz.steps:
                    s = sch.one_minus_abar[t - 1]
                    w = ld.mode_weights(lam_hat, s, ridge)
                    a, b = 1 - np.sqrt(s) * w, np.sqrt(1 - s) * w  # residual e - W x_t = a e - b y per mode
                    r = a * e_test - b * y_test
                    v = np.einsum("ij,ij->i", r, r) / sz.d
                    out["test"].append(v.mean())
                    out["test_se"].append(v.std(ddof=1) / np.sqrt(v.size))
                    # ||a e_m - b y_i||^2 for every (draw m, point i), expanded (exact per pair).
                    by = b * y_train
                    sq = ((e_train**2) @ (a * a))[:, None] - 2 * (e_train * a) @ by.T + np.sum(by * by, axis=1)
                    v = sq.mean(axis=1) / sz.d
                    out["train"].append(v.mean())
                    out["train_se"].append(v.std(ddof=1) / np.sqrt(v.size))
        return tuple(np.array(out[key]) for key in ("test", "test_se", "train", "train_se"))

    mc_test, se_test, mc_train, se_train = measured(
        run, "merger-goldt/error-mc", {"sizes": sz, "seed": run.seed_for(64)}, monte_carlo
    )
    closed_test, closed_train = [], []
    for mu_hat, lam_hat, u in moments:
        for ridge in sz.ridges:
            for t in sz.steps:
                s = sch.one_minus_abar[t - 1]
                w = ld.mode_weights(lam_hat, s, ridge)
                closed_test.append(float(test_error(w, u, lam, s, mean_offset=mu - mu_hat)))
                closed_train.append(float(train_error(w, lam_hat, s)))
    labels = tuple(f"N={n} ridge={r} t={t}" for n, r, t in cases)
    return ErrorFormulas(
        cases,
        MonteCarloAgreement(labels, mc_test, se_test, np.array(closed_test)),
        MonteCarloAgreement(labels, mc_train, se_train, np.array(closed_train)),
    )


# =============================================================================================
# merger-goldt/deterministic-equivalent
# =============================================================================================
@dataclass(frozen=True)
class DetEquivSizes(Sizes):
    d: int = 400
    k: float = 1.5
    ns: tuple[int, ...] = (200, 800)
    ridges: tuple[float, ...] = (0.0, 0.1)
    steps: tuple[int, ...] = (1, 10, 100, 500)
    seeds: int = 10


DETERMINISTIC_EQUIVALENT = Tier.same(
    "merger-goldt/deterministic-equivalent", DetEquivSizes(), row("deterministic-equivalent", "§1.5")
)


@dataclass(frozen=True)
class DetEquiv:
    """Seed-averaged simulated test errors (known mean) and the deterministic equivalent, ``(N, ridge, t)``."""

    ns: tuple[int, ...]
    ridges: tuple[float, ...]
    steps: tuple[int, ...]
    mean: np.ndarray
    se: np.ndarray
    de: np.ndarray

    @property
    def excess(self) -> np.ndarray:
        """``|mean - DE| / (0.01 DE + 4 SE)``: at most 1 where the criterion of the spec holds."""
        return np.abs(self.mean - self.de) / (0.01 * self.de + 4 * self.se)


def deterministic_equivalent(
    run: RunSpec, de: Callable[..., float] = ld.deterministic_equivalent_test_error
) -> DetEquiv:
    """Test errors of the optimal denoiser over seeds 1..10 (``mean="known"``) vs ``de(lam, n, s, ridge)``."""
    sz = run.sizes(DETERMINISTIC_EQUIVALENT)
    seeds = seed_list(run, range(1, 1 + sz.seeds))
    modes = empirical_modes(run, sz.d, sz.ns, (sz.k,), seeds, mean="known")
    sims = np.stack([optimal_errors(m, sz.steps, sz.ridges)[0][:, 0] for m in modes], axis=1)  # (S, N, r, t)
    mean, se = mean_and_se(sims)
    sch = ld.beta_schedule(1000)
    lam = modes[0].lam[0]
    pred = np.array([[[de(lam, n, sch.one_minus_abar[t - 1], r) for t in sz.steps] for r in sz.ridges] for n in sz.ns])
    return DetEquiv(sz.ns, sz.ridges, sz.steps, mean, se, pred)


# =============================================================================================
# merger-goldt/train-test-gap
# =============================================================================================
@dataclass(frozen=True)
class GapSizes(Sizes):
    d: int = 400
    k: float = 1.5
    ns: tuple[int, ...] = (200, 1600)
    steps: tuple[int, ...] = (1, 10)
    ridges: tuple[float, ...] = (0.0, 0.1)


TRAIN_TEST_GAP = Tier.same("merger-goldt/train-test-gap", GapSizes(), row("train-test-gap", "§1.4"))


@dataclass(frozen=True)
class TrainTestGap:
    """Test and train errors of one training set (seed 1, known mean), arrays ``(N, ridge, t)``."""

    ns: tuple[int, ...]
    ridges: tuple[float, ...]
    steps: tuple[int, ...]
    test: np.ndarray
    train: np.ndarray

    def ratio(self, n: int, ridge: float, t: int) -> float:
        i, j, k = self.ns.index(n), self.ridges.index(ridge), self.steps.index(t)
        return float(self.test[i, j, k] / self.train[i, j, k])


def train_test_gap(run: RunSpec, weights: WeightFn = ld.mode_weights) -> TrainTestGap:
    """:math:`E^{\\rm test}` and :math:`E^{\\rm train}` of the ridge denoiser with per-mode weights ``weights``."""
    sz = run.sizes(TRAIN_TEST_GAP)
    modes = empirical_modes(run, sz.d, sz.ns, (sz.k,), [run.seed_for(1)], mean="known")
    errs = [optimal_errors(m, sz.steps, sz.ridges, weights) for m in modes]
    test = np.array([e[0][0, 0] for e in errs])
    train = np.array([e[1][0, 0] for e in errs])
    return TrainTestGap(sz.ns, sz.ridges, sz.steps, test, train)


# =============================================================================================
# merger-goldt/hierarchy-reduces-overfitting
# =============================================================================================
@dataclass(frozen=True)
class HierarchySizes(Sizes):
    ks: tuple[float, ...] = KS5
    test_d: int = 400
    test_n: int = 200
    test_steps: tuple[int, ...] = (1, 10)
    test_seeds: int = 3
    kl_d: int = 100
    kl_n: int = 50
    kl_seeds: int = 10


HIERARCHY = Tier.same(
    "merger-goldt/hierarchy-reduces-overfitting", HierarchySizes(), row("hierarchy-reduces-overfitting")
)
HIERARCHY_KL_REFERENCE = (2.22, 2.17, 2.00, 1.69, 1.27)


@dataclass(frozen=True)
class Hierarchy:
    """Per-spectrum test errors ``(seeds, K, steps)`` and per-dimension KL ``(seeds, K)`` (plus the tr Σ = 1 variant)."""

    ks: tuple[float, ...]
    steps: tuple[int, ...]
    test: np.ndarray
    kl: np.ndarray
    kl_trace_one: np.ndarray


def hierarchy(run: RunSpec, spectrum: SpectrumFn = power_law_spectrum, kl: KLFn = ld.kl_divergence) -> Hierarchy:
    r"""Test error (:math:`d=400,N=200`, seeds 1..3) and KL(gen‖target)/d (:math:`d=100,N=50`, seeds 0..9) per :math:`k`.

    Common random numbers across :math:`k`; ``spectrum(d, k, trace)`` builds the data and target
    spectra, ``kl`` is the KL under test (forward, covariance part, per dimension, :math:`\sigma^2=\beta`).
    """
    sz = run.sizes(HIERARCHY)
    ks = tuple(sz.ks)
    (test_modes,) = empirical_modes(
        run, sz.test_d, (sz.test_n,), ks, seed_list(run, range(1, 1 + sz.test_seeds)), spectrum=spectrum
    )
    test = optimal_errors(test_modes, sz.test_steps, (0.0,))[0][:, :, 0, :]
    kl_seeds = seed_list(run, range(sz.kl_seeds))
    values = []
    for trace in (None, 1.0):
        (modes,) = empirical_modes(run, sz.kl_d, (sz.kl_n,), ks, kl_seeds, trace=trace, spectrum=spectrum)
        values.append(generated_law(modes).kl(kl))
    return Hierarchy(ks, sz.test_steps, test, values[0], values[1])


# =============================================================================================
# merger-goldt/sampler-gaussian-recursion
# =============================================================================================
@dataclass(frozen=True)
class SamplerSizes(Sizes):
    d: int = 10
    # (N, k): the spec's two training sets, plus a steep spectrum whose empirical covariance has
    # eigenvalues between 1e-3 and 1e-2, where an off-by-one in the weight index moves f by 4-6%.
    training_sets: tuple[tuple[int, float], ...] = ((5, 1.0), (40, 1.0), (40, 3.0))
    variants: tuple[tuple[str, bool, str], ...] = VARIANTS
    samples: int = 100_000


SAMPLER_RECURSION = Tier(
    "merger-goldt/sampler-gaussian-recursion",
    fast=SamplerSizes(samples=10_000),
    spec=SamplerSizes(),
    section=row("sampler-gaussian-recursion", "§1.6"),
)
# Samples per chunk of the dense sampler (keeps the state in cache; fixed, so the draws are too).
SAMPLER_CHUNK = 20_000


def torch_normals(seed: Any) -> Callable[[int, int], torch.Tensor]:
    """Standard normal ``(b, d)`` draws from one seeded PyTorch generator, drawn in float32 (4x faster
    than float64; a relative rounding of 6e-8 of each draw) and returned in float64."""
    gen = torch_generator(seed)
    return lambda b, d: torch.randn((b, d), generator=gen, dtype=torch.float32).double()


def dense_linear_sampler(
    mu_hat: np.ndarray,
    cov_hat: np.ndarray,
    schedule: Schedule,
    variants: Sequence[tuple[str, bool, str]],
    n_samples: int,
    normals: Callable[[int, int], torch.Tensor],
    reduce: Callable[[np.ndarray], Any],
    chunk: int = SAMPLER_CHUNK,
) -> list[Any]:
    r"""The DDPM sampler of spec §1.1 with the optimal centred linear denoiser, for a stack of training sets.

    .. math::
        u_{t-1}=\frac1{\sqrt{\alpha_t}}\Big(u_t-\frac{\beta_t}{\sqrt{1-\bar\alpha_t}}W_t(u_t-\sqrt{\bar\alpha_t}\hat\mu)\Big)+\sigma_t\epsilon_t,

    with dense :math:`W_t=U\mathrm{diag}(w^\star_t(\hat\lambda))U^\top`, from
    :math:`u_T\sim\mathcal N(0,I)` (``"zero"``) or :math:`\mathcal N(\sqrt{\bar\alpha_T}\hat\mu,I)`
    (``"shifted"``). Every training set and variant shares the draws of :math:`u_T` and of the
    step noises (common random numbers), so each is on its own an exact Monte Carlo of its
    sampler; ``normals(b, d)`` draws them (per chunk: :math:`u_T`, then one draw per step
    :math:`t=T..1`), the state is float64. Variants differing only in the noise of the last step
    share the computation before it. ``reduce(samples)`` turns each chunk's ``(S, V, chunk, d)``
    samples into a summary; returns the list of summaries.

    ``mu_hat`` ``(S, d)``, ``cov_hat`` ``(S, d, d)``; ``variants`` lists ``(sampler_sigma, final_noise, u_T_mean)``.
    """
    mu_hat = np.asarray(mu_hat, dtype=np.float64)
    n_sets, d = mu_hat.shape
    sigmas = list(dict.fromkeys(v[0] for v in variants))
    starts = list(dict.fromkeys(v[2] for v in variants))
    step_t = np.empty((schedule.T, n_sets, d, d))
    shift_t = np.empty((schedule.T, n_sets, d))
    for j in range(n_sets):
        lam_hat, u = ld.eigen_modes(cov_hat[j])
        for i in range(schedule.T):
            w = dense(lam_hat, u, ld.mode_weights(lam_hat, schedule.one_minus_abar[i]))
            c = schedule.beta[i] / np.sqrt(schedule.one_minus_abar[i])
            step_t[i, j] = ((np.eye(d) - c * w) / np.sqrt(schedule.alpha[i])).T
            shift_t[i, j] = c * np.sqrt(schedule.abar[i]) * (w @ mu_hat[j]) / np.sqrt(schedule.alpha[i])
    steps, shifts = torch.as_tensor(step_t), torch.as_tensor(shift_t)
    sd = torch.as_tensor(np.stack([np.sqrt(schedule.sampler_variance(s, True)) for s in sigmas]))  # (sigmas, T)
    start = np.stack(
        [[np.sqrt(schedule.abar[-1]) * m if st == "shifted" else np.zeros(d) for st in starts] for m in mu_hat]
    )
    out = []
    for first in range(0, n_samples, chunk):
        b = min(chunk, n_samples - first)
        z = normals(b, d)
        x = z[None, None, None] + torch.as_tensor(start)[:, None, :, None, :]  # (S, sigmas, starts, b, d)
        x = x.expand(n_sets, len(sigmas), len(starts), b, d).contiguous()
        for i in range(schedule.T - 1, -1, -1):
            x = torch.baddbmm(shifts[i][:, None, :], x.view(n_sets, -1, d), steps[i]).view_as(x)
            eps = normals(b, d)
            if i > 0:
                x += sd[None, :, i, None, None, None] * eps
        index = {(sig, st): (sigmas.index(sig), starts.index(st)) for sig in sigmas for st in starts}
        samples = torch.stack(
            [x[:, a, c] + (sd[a, 0] * eps if fn else 0.0) for sig, fn, st in variants for a, c in [index[(sig, st)]]],
            dim=1,
        )
        out.append(reduce(samples.numpy()))
    return out


@dataclass(frozen=True)
class SampleMoments:
    """Sample mean and covariance of each training set and variant, rotated by :math:`U^\\top` (eigenbasis of :math:`\\hat\\Sigma`)."""

    mean: np.ndarray  # (S, V, d)
    cov: np.ndarray  # (S, V, d, d)


def _pooled_moments(parts: list[tuple[np.ndarray, np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance from per-chunk (mean, scatter, count) (Chan et al.'s pairwise update)."""
    mean, scatter, n = parts[0]
    for m, sc, k in parts[1:]:
        delta = m - mean
        tot = n + k
        scatter = scatter + sc + np.einsum("...i,...j->...ij", delta, delta) * n * k / tot
        mean = mean + delta * k / tot
        n = tot
    return mean, scatter / (n - 1)


@dataclass(frozen=True)
class SamplerCheck:
    """Sampler moments (eigenbasis) and the recursion's prediction, per training set and variant."""

    training_sets: tuple[tuple[int, float], ...]
    variants: tuple[tuple[str, bool, str], ...]
    samples: int
    lam_hat: np.ndarray  # (S, d)
    moments: SampleMoments
    f: np.ndarray  # (S, V, d)
    mean_gen: np.ndarray  # (S, V, d), eigenbasis


def sampler_recursion(run: RunSpec, recursion: RecursionFn = ld.mode_recursion) -> SamplerCheck:
    r"""The dense sampler (:func:`dense_linear_sampler`, ``samples`` draws, seed 65) vs the recursion of §1.6.

    Training sets: :math:`d=10`, :math:`\mu=\mathbf 1`, each ``(N, k)`` from its own stream of seed
    65. ``recursion`` (default the engine's) gives :math:`f` and :math:`\prod_ta_t`; the sampler
    moments are memoised.
    """
    sz = run.sizes(SAMPLER_RECURSION)
    sch = ld.beta_schedule(1000)
    data = [stream(run, 65, 100 + j) for j in range(len(sz.training_sets))]
    sets = [
        rng.standard_normal((n, sz.d)) * np.sqrt(power_law_spectrum(sz.d, k)) + 1.0
        for rng, (n, k) in zip(data, sz.training_sets)
    ]
    moments = [ld.empirical_moments(x) for x in sets]
    mu_hat = np.array([m[0] for m in moments])
    cov_hat = np.array([m[1] for m in moments])
    eig = [ld.eigen_modes(c) for c in cov_hat]
    lam_hat = np.array([e[0] for e in eig])
    u = np.array([e[1] for e in eig])

    def reduce(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        y = np.einsum("svmd,sde->svme", samples, u)
        m = y.mean(axis=2)
        yc = y - m[:, :, None]
        return m, np.einsum("svmi,svmj->svij", yc, yc), y.shape[2]

    def simulate() -> SampleMoments:
        normals = torch_normals([*run.seed_list(65), 0])
        parts = dense_linear_sampler(mu_hat, cov_hat, sch, sz.variants, sz.samples, normals, reduce)
        return SampleMoments(*_pooled_moments(parts))

    sample = measured(run, "merger-goldt/sampler-moments", {"sizes": sz, "seed": run.seed_for(65)}, simulate)
    f, mg = [], []
    for variant in sz.variants:
        sig, fn, start = variant
        g = recursion(lam_hat, sch, sampler_sigma=sig, final_noise=fn)
        f.append(g.f)
        mg.append(np.einsum("sd,sde->se", ld.generated_mean(mu_hat, u, g.prod_a, sch, start), u))
    return SamplerCheck(
        sz.training_sets, sz.variants, sz.samples, lam_hat, sample, np.stack(f, axis=1), np.stack(mg, axis=1)
    )


# =============================================================================================
# merger-goldt/null-mode-variance
# =============================================================================================
@dataclass(frozen=True)
class NullModeSizes(Sizes):
    T: int = 1000
    report_ridges: tuple[float, ...] = (1e-3, 1e-1)
    report_taus: tuple[float, ...] = (1e2, 1e4)


NULL_MODES = Tier.same("merger-goldt/null-mode-variance", NullModeSizes(), row("null-mode-variance", "§1.6"))


@dataclass(frozen=True)
class NullModes:
    r"""Null-mode coefficients :math:`a_t`, their closed form, and :math:`f(0)` per sampler variant."""

    a: np.ndarray
    closed: np.ndarray
    f0: dict[tuple[str, bool], float]
    f0_ridge: dict[float, float]
    f0_early: dict[float, float]


def null_modes(
    run: RunSpec,
    coefficient: Callable[..., np.ndarray] | None = None,
    schedule: Callable[[int], Schedule] = ld.beta_schedule,
) -> NullModes:
    r"""The recursion of §1.6 with :math:`\hat\lambda=0` (``coefficient`` and ``schedule`` under test).

    ``coefficient(w, s, beta)`` replaces :math:`a_t` (default: the lambdified SymPy form).
    """
    sz = run.sizes(NULL_MODES)
    sch = schedule(sz.T)
    coef = coefficient or sym.sampler_coefficient()
    a = coef(ld.mode_weights(np.zeros(sch.T), sch.one_minus_abar), sch.one_minus_abar, sch.beta)
    closed = np.sqrt(sch.alpha) * sch.one_minus_abar_prev / sch.one_minus_abar
    zero = np.zeros(1)
    f0 = {
        (sig, fn): float(ld.mode_recursion(zero, sch, sampler_sigma=sig, final_noise=fn, coefficient=coefficient).f[0])
        for sig in SAMPLER_SIGMAS
        for fn in (True, False)
    }
    ridge = {r: float(ld.mode_recursion(zero, sch, ridge=r, coefficient=coefficient).f[0]) for r in sz.report_ridges}
    early = {
        tau: float(ld.mode_recursion(zero, sch, train_time=tau, coefficient=coefficient).f[0]) for tau in sz.report_taus
    }
    return NullModes(a, closed, f0, ridge, early)


# =============================================================================================
# merger-goldt/population-optimum-kl
# =============================================================================================
@dataclass(frozen=True)
class PopulationSizes(Sizes):
    d: int = 100
    ks: tuple[float, ...] = KS4
    T: int = 1000
    report_T: tuple[int, ...] = (500, 2000)


POPULATION_KL = Tier.same(
    "merger-goldt/population-optimum-kl", PopulationSizes(), row("population-optimum-kl", "§1.6, §6 (T)")
)


@dataclass(frozen=True)
class PopulationKL:
    """Per-dimension KL with exact moments, arrays ``(T, sampler_sigma, k)``; ``final_noise=False`` at the main T."""

    Ts: tuple[int, ...]
    ks: tuple[float, ...]
    forward: np.ndarray
    reverse: np.ndarray
    no_final_noise: np.ndarray


def population_optimum(run: RunSpec, schedule: Callable[[int], Schedule] = ld.beta_schedule) -> PopulationKL:
    r"""KL(gen‖target)/d and its reverse with :math:`\hat\Sigma=\Sigma` for the schedule ``schedule(T)`` under test."""
    sz = run.sizes(POPULATION_KL)
    Ts = (sz.T, *sz.report_T)
    lam = np.stack([power_law_spectrum(sz.d, k) for k in sz.ks])
    table = np.array(
        [
            [population_kl(lam, SamplerSetting(sampler_sigma=sig, T=T), schedule=schedule) for sig in SAMPLER_SIGMAS]
            for T in Ts
        ]
    )  # (T, sigma, direction, k)
    no_final = np.array(
        [
            population_kl(lam, SamplerSetting(sampler_sigma=sig, final_noise=False), schedule=schedule)[0]
            for sig in SAMPLER_SIGMAS
        ]
    )
    return PopulationKL(Ts, tuple(sz.ks), table[:, :, 0], table[:, :, 1], no_final)


# =============================================================================================
# merger-goldt/kl-d-over-4n
# =============================================================================================
@dataclass(frozen=True)
class KLLawSizes(Sizes):
    d: int = 100
    ks: tuple[float, ...] = KS4
    ns: tuple[int, ...] = (200, 400, 1000, 4000, 10000)
    seeds: int = 20
    mc_samples: int = 100_000
    report_T: tuple[int, ...] = (500, 2000)


KL_LAW = Tier.same("merger-goldt/kl-d-over-4n", KLLawSizes(), row("kl-d-over-4n", "§1.7, §2"))


@dataclass(frozen=True)
class KLLaw:
    r"""KL of the generated laws for :math:`N>d`, seeds 100..119.

    ``per_dim`` and ``total``: ``(N, seeds, direction, part, k, sampler_sigma)`` from the KL
    under test with ``norm="per_dim"`` / ``"total"``; ``population``: ``(direction, k,
    sampler_sigma)`` per-dimension population-optimum KL (engine). ``mc``: the KL formula under
    test vs Monte Carlo and vs the dense Cholesky KL on one case (N = 1000, k = 1, forward, full).
    ``variants``: report-only forward Q at the largest N, σ² = β, per k, for each T of
    ``report_T`` and for ``final_noise=False``.
    """

    d: int
    ns: tuple[int, ...]
    ks: tuple[float, ...]
    per_dim: np.ndarray
    total: np.ndarray
    population: np.ndarray
    mc_formula: float
    mc_estimate: float
    mc_se: float
    dense_formula: float
    variants: dict[str, np.ndarray]

    def q(self, part: str = "cov", ref: str = "excess") -> np.ndarray:
        r""":math:`Q=\frac Nd(\frac{D_{\rm KL}}d-\frac{D^{\rm pop}_{\rm KL}}d)` (``ref="raw"``: no subtraction), ``(N, seeds, dir, k, sigma)``."""
        kl = self.per_dim[:, :, :, KL_PARTS.index(part)]
        if ref == "excess":
            kl = kl - self.population[None, None]
        return np.asarray(self.ns, dtype=float)[:, None, None, None, None] / self.d * kl

    def q_total(self) -> np.ndarray:
        r"""``kl_norm="total"``: :math:`\frac Nd(D_{\rm KL}-D^{\rm pop}_{\rm KL})`, covariance part, ``(N, seeds, dir, k, sigma)``."""
        excess = self.total[:, :, :, 0] - self.d * self.population[None, None]
        return np.asarray(self.ns, dtype=float)[:, None, None, None, None] / self.d * excess


def _kl_table(law_by_sigma: list[GeneratedLaw], kl: KLFn, norm: str) -> np.ndarray:
    """``(seeds, direction, part, k, sigma)`` KLs of the laws of one N (one law per sampler sigma)."""
    return np.stack(
        [
            np.stack([np.stack([g.kl(kl, dr, part, norm) for g in law_by_sigma], axis=-1) for part in KL_PARTS], axis=1)
            for dr in KL_DIRECTIONS
        ],
        axis=1,
    )


def kl_law(run: RunSpec, kl: KLFn = ld.kl_divergence) -> KLLaw:
    r"""The :math:`d/(4N)` law: KL of the linear sampler over :math:`N`, spectra, seeds, directions and variants.

    ``kl(f, u, lam, mean_gen, mean_target, direction, part, norm)`` is the KL under test; the
    training sets and generated laws are memoised.
    """
    sz = run.sizes(KL_LAW)
    seeds = seed_list(run, range(100, 100 + sz.seeds))
    settings = [SamplerSetting(sampler_sigma=s) for s in SAMPLER_SIGMAS]
    extra = {f"T={T}": SamplerSetting(T=T) for T in sz.report_T} | {
        "final_noise=False": SamplerSetting(final_noise=False)
    }

    def laws() -> tuple[list[list[GeneratedLaw]], dict[str, GeneratedLaw]]:
        modes = empirical_modes(run, sz.d, sz.ns, sz.ks, seeds)
        main = [[generated_law(m, s) for s in settings] for m in modes]
        return main, {name: generated_law(modes[-1], s) for name, s in extra.items()}

    main, variant_laws = measured(run, "merger-goldt/kl-law-laws", {"sizes": sz, "seeds": seeds}, laws)
    per_dim = np.stack([_kl_table(g, kl, "per_dim") for g in main])
    total = np.stack([_kl_table(g, kl, "total") for g in main])
    lam = main[0][0].modes.lam
    pop = np.stack([population_kl(lam, s) for s in settings], axis=-1)  # (direction, k, sigma)
    n_max = sz.ns[-1]
    variants = {
        name: (n_max / sz.d * (g.kl(kl) - population_kl(lam, g.setting)[0])).mean(axis=0)
        for name, g in variant_laws.items()
    }
    # One case for the Monte Carlo of the KL formula: N = 1000 (or the nearest N), k = 1, first seed.
    i_n = int(np.argmin(np.abs(np.asarray(sz.ns) - 1000)))
    i_k = sz.ks.index(1.0) if 1.0 in sz.ks else 0
    g = main[i_n][0]
    f, u, mg = g.f[0, i_k], g.modes.u[0, i_k], g.mean_gen[0, i_k]
    lam_k = lam[i_k]
    cov_gen = (u * f) @ u.T
    formula = float(kl(f, u, lam_k, mg, None, direction="forward", part="full", norm="total"))
    dense_kl = gaussian_kl(mg, cov_gen, np.zeros(sz.d), np.diag(lam_k))
    mc, mc_se = measured(
        run,
        "merger-goldt/kl-law-mc",
        {"sizes": sz, "seeds": seeds},
        lambda: kl_monte_carlo(mg, cov_gen, np.zeros(sz.d), np.diag(lam_k), sz.mc_samples, run.rng(101)),
    )
    return KLLaw(sz.d, sz.ns, sz.ks, per_dim, total, pop, formula, mc, mc_se, dense_kl, variants)


# =============================================================================================
# merger-goldt/kl-independent-of-sigma
# =============================================================================================
@dataclass(frozen=True)
class KLSigmaSizes(Sizes):
    d: int = 100
    ks: tuple[float, ...] = KS4
    ns: tuple[int, ...] = (200, 1000)
    seeds: int = 5
    gen_n: int = 1000


KL_INDEPENDENT = Tier.same("merger-goldt/kl-independent-of-sigma", KLSigmaSizes(), row("kl-independent-of-sigma", "§2"))


def common_draw(n: int, d: int, seed: Any, spectrum_index: int) -> np.ndarray:
    """The white matrix of a training set: one per seed, shared by every spectrum (common random numbers)."""
    return white_samples(n, d, seed)


def sample_covariance_kl_task(
    d: int, n: int, ks: tuple[float, ...], seed: Any, draw: Callable[..., np.ndarray] = common_draw
) -> np.ndarray:
    r"""Dense :math:`\mathrm{KL}(\mathcal N(0,\hat\Sigma_k)\|\mathcal N(0,\Sigma_k))` and its reverse per spectrum, ``(K, 2)`` (sweep task).

    :math:`\hat\Sigma_k` is the sample covariance (estimated mean) of ``draw(n, d, seed, k_index)``
    scaled by :math:`\Sigma_k^{1/2}`; KLs by the Cholesky closed form of :mod:`theory.gaussians`.
    """
    out = np.empty((len(ks), 2))
    zero = np.zeros(d)
    for a, k in enumerate(ks):
        lam = power_law_spectrum(d, k)
        _, cov_hat = ld.empirical_moments(draw(n, d, seed, a) * np.sqrt(lam))
        out[a] = gaussian_kl(zero, cov_hat, zero, np.diag(lam)), gaussian_kl(zero, np.diag(lam), zero, cov_hat)
    return out


@dataclass(frozen=True)
class KLSigma:
    """Dense sample-covariance KLs ``(N, seeds, k, direction)`` and Q of the generated laws at ``gen_n`` ``(seeds, dir, k)``."""

    ns: tuple[int, ...]
    ks: tuple[float, ...]
    dense: np.ndarray
    q: np.ndarray

    @property
    def spread(self) -> np.ndarray:
        """Max relative spread across spectra of the dense KL, per N."""
        rel = np.abs(self.dense - self.dense[:, :, :1]) / np.abs(self.dense[:, :, :1])
        return rel.max(axis=(1, 2, 3))

    @property
    def q_spread(self) -> np.ndarray:
        """Relative spread (max - min) / mean across spectra of the seed-averaged Q, per direction."""
        q = self.q.mean(axis=0)
        return (q.max(axis=-1) - q.min(axis=-1)) / q.mean(axis=-1)


def kl_independent(run: RunSpec, draw: Callable[..., np.ndarray] = common_draw) -> KLSigma:
    """Dense KLs of :math:`\\hat\\Sigma_k` across spectra (white draws from ``draw``), seeds 0..4, and Q of :math:`\\Sigma_{\\rm gen}` at ``gen_n``."""
    sz = run.sizes(KL_INDEPENDENT)
    seeds = seed_list(run, range(sz.seeds))
    dense_kl = np.array(
        [
            sweep(
                run.executor,
                sample_covariance_kl_task,
                [{"d": sz.d, "n": n, "ks": tuple(sz.ks), "seed": s, "draw": draw} for s in seeds],
            )
            for n in sz.ns
        ]
    )
    n = sz.gen_n
    (modes,) = empirical_modes(run, sz.d, (n,), tuple(sz.ks), seeds)
    g = generated_law(modes)
    pop = population_kl(modes.lam)
    q = np.stack([n / sz.d * (g.kl(direction=dr) - pop[i]) for i, dr in enumerate(KL_DIRECTIONS)], axis=1)
    return KLSigma(sz.ns, tuple(sz.ks), dense_kl, q)


# =============================================================================================
# merger-goldt/kl-second-order
# =============================================================================================
@dataclass(frozen=True)
class SecondOrderSizes(Sizes):
    d: int = 50
    ns: tuple[int, ...] = (500, 5000)
    draws: int = 2000
    # "data": S = Z'Z/N from a white data matrix per draw (the spec's protocol);
    # "bartlett": the same Wishart law drawn by the Bartlett decomposition (O(d^3) per draw).
    sampling: str = "data"


KL_SECOND_ORDER = Tier(
    "merger-goldt/kl-second-order",
    fast=SecondOrderSizes(sampling="bartlett"),
    spec=SecondOrderSizes(),
    section=row("kl-second-order", "§2"),
)


@dataclass(frozen=True)
class SecondOrder:
    r""":math:`\operatorname{tr}(S-I)^2` and the KLs of :math:`\mathcal N(0,S)` vs :math:`\mathcal N(0,I)` per draw, per N."""

    ns: tuple[int, ...]
    d: int
    tr2: np.ndarray  # (N, draws)
    kl_forward: np.ndarray  # (N, draws)
    kl_reverse: np.ndarray  # (N, draws)

    def ratio(self, direction: str) -> np.ndarray:
        r""":math:`\mathbb E D_{\rm KL}/\frac{d(d+1)}{4N}` per N."""
        kl = self.kl_forward if direction == "forward" else self.kl_reverse
        return kl.mean(axis=1) / (self.d * (self.d + 1) / (4 * np.asarray(self.ns, dtype=float)))


def second_order(run: RunSpec, kl_mode: Callable[[np.ndarray], np.ndarray] | None = None) -> SecondOrder:
    r"""White sample covariances (known mean, seed 66) and their KLs by the per-mode form ``kl_mode(r)``.

    Default ``kl_mode``: :math:`\frac12(r-1-\ln r)` of :mod:`theory.linear_diffusion`; forward with
    :math:`r=\mathrm{eig}(S)`, reverse with :math:`1/\mathrm{eig}(S)`. The eigenvalues are memoised.
    """
    sz = run.sizes(KL_SECOND_ORDER)
    kl_mode = kl_mode or sym.kl_mode()

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        seed = [*run.seed_list(66), n]
        if sz.sampling == "bartlett":
            s_mats = ld.wishart_white_covariance(sz.d, n, sz.draws, seed)
        elif sz.sampling == "data":
            rng = np.random.default_rng(seed)
            s_mats = np.empty((sz.draws, sz.d, sz.d))
            for b in range(sz.draws):
                z = rng.standard_normal((n, sz.d))
                s_mats[b] = z.T @ z / n
        else:
            raise ValueError(f"sampling must be 'bartlett' or 'data', got {sz.sampling!r}")
        dev = s_mats - np.eye(sz.d)
        return np.einsum("bij,bij->b", dev, dev), np.linalg.eigvalsh(s_mats)

    drawn = measured(
        run, "merger-goldt/wishart-draws", {"sizes": sz, "seed": run.seed_for(66)}, lambda: [draw(n) for n in sz.ns]
    )
    tr2 = np.array([t for t, _ in drawn])
    eig = np.array([e for _, e in drawn])
    return SecondOrder(sz.ns, sz.d, tr2, kl_mode(eig).sum(axis=-1), kl_mode(1 / eig).sum(axis=-1))


# =============================================================================================
# merger-goldt/transition-at-n-equals-d
# =============================================================================================
@dataclass(frozen=True)
class TransitionSizes(Sizes):
    d: int = 100
    ks: tuple[float, ...] = KS4
    ratios: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9, 1.1, 1.5, 2.0, 4.0, 10.0)
    seeds: int = 5


TRANSITION = Tier.same("merger-goldt/transition-at-n-equals-d", TransitionSizes(), row("transition-at-n-equals-d"))


@dataclass(frozen=True)
class Transition:
    """Null-mode counts ``(ratio, seeds, k)`` and seed-averaged KL/d ``(ratio, k, sigma)`` with the population KL/d ``(k, sigma)``."""

    d: int
    ratios: tuple[float, ...]
    ks: tuple[float, ...]
    null_modes: np.ndarray
    kl: np.ndarray
    population: np.ndarray

    @property
    def ns(self) -> np.ndarray:
        return np.array([round(r * self.d) for r in self.ratios])

    def q(self) -> np.ndarray:
        """``(N/d) * excess KL/d``, ``(ratio, k, sigma)``."""
        return (self.ns / self.d)[:, None, None] * (self.kl - self.population[None])

    def at(self, ratio: float) -> int:
        return self.ratios.index(ratio)


def transition(run: RunSpec, mean: str = "estimated") -> Transition:
    """Forward covariance KL/d over N/d, both sampler sigmas, seeds 0..4 (``mean``: centring of the data under test)."""
    sz = run.sizes(TRANSITION)
    seeds = seed_list(run, range(sz.seeds))
    ns = [round(r * sz.d) for r in sz.ratios]
    modes = empirical_modes(run, sz.d, ns, tuple(sz.ks), seeds, mean=mean)
    settings = [SamplerSetting(sampler_sigma=s) for s in SAMPLER_SIGMAS]
    kl = np.array([np.stack([generated_law(m, s).kl().mean(0) for s in settings], -1) for m in modes])
    pop = np.stack([population_kl(modes[0].lam, s)[0] for s in settings], axis=-1)
    return Transition(sz.d, tuple(sz.ratios), tuple(sz.ks), np.array([m.null_modes for m in modes]), kl, pop)


# =============================================================================================
# merger-goldt/optimal-ridge and merger-goldt/early-stopping
# =============================================================================================
@dataclass(frozen=True)
class RegularisationSizes(Sizes):
    d: int = 100
    ks: tuple[float, ...] = (0.0, 1.0, 2.0)
    ns: tuple[int, ...] = (50, 1000)
    ridges: tuple[float, ...] = (0.0, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
    taus: tuple[float, ...] = tuple(np.logspace(-2, 7, 37).tolist())


OPTIMAL_RIDGE = Tier.same("merger-goldt/optimal-ridge", RegularisationSizes(), row("optimal-ridge"))
EARLY_STOPPING = Tier.same("merger-goldt/early-stopping", RegularisationSizes(), row("early-stopping", "§1.3"))


@dataclass(frozen=True)
class Regularisation:
    """KL/d (forward, σ² = β) and test errors at t = 1 and t = 10 against a regularisation grid, ``(N, k, grid)``."""

    ns: tuple[int, ...]
    ks: tuple[float, ...]
    grid: tuple[float, ...]
    kl: np.ndarray
    test_t1: np.ndarray
    test_t10: np.ndarray


def _regularised(run: RunSpec, tier: Tier[RegularisationSizes], by: str, recursion: RecursionFn) -> Regularisation:
    sz = run.sizes(tier)
    grid = sz.ridges if by == "ridge" else sz.taus
    modes = empirical_modes(run, sz.d, sz.ns, tuple(sz.ks), [run.seed_for(0)])
    sch = ld.beta_schedule(1000)
    kl, t1, t10 = [], [], []
    for m in modes:
        if by == "ridge":
            kl.append([generated_law(m, SamplerSetting(ridge=r), recursion=recursion).kl()[0] for r in grid])
        else:
            kl.append(generated_law(m, train_time=np.array(grid), recursion=recursion).kl()[:, 0])
        errs = []
        for t in (1, 10):
            s = sch.one_minus_abar[t - 1]
            if by == "ridge":
                w = np.stack([ld.mode_weights(m.lam_hat, s, r) for r in grid])
            else:
                w = ld.mode_weights(m.lam_hat, s, train_time=np.reshape(grid, (-1, 1, 1, 1)))
            errs.append(ld.denoising_error(w, m.u, m.lam, s, -m.mu_hat)[:, 0])
        t1.append(errs[0])
        t10.append(errs[1])
    # Arrays (N, grid, k) -> (N, k, grid).
    return Regularisation(sz.ns, tuple(sz.ks), tuple(grid), *(np.swapaxes(np.array(a), 1, 2) for a in (kl, t1, t10)))


def optimal_ridge(run: RunSpec, recursion: RecursionFn = ld.mode_recursion) -> Regularisation:
    """KL/d and test errors against the ridge λ (seed 0); ``recursion`` under test."""
    return _regularised(run, OPTIMAL_RIDGE, "ridge", recursion)


def early_stopping(run: RunSpec, recursion: RecursionFn = ld.mode_recursion) -> Regularisation:
    """KL/d and test errors against the gradient-flow time ητ (η = 1, seed 0); ``recursion`` under test."""
    return _regularised(run, EARLY_STOPPING, "time", recursion)


# =============================================================================================
# merger-goldt/linear-vs-nonlinear
# =============================================================================================
@dataclass(frozen=True)
class MLPDenoiserConfig:
    """One nonlinear-denoiser training run of ``merger-goldt/linear-vs-nonlinear`` (the cache key).

    The training set is :math:`X=Z\\Sigma_k^{1/2}` with :math:`Z` = :func:`white_samples` of
    ``(n, d, data_seed)``; every field enters the key, the schedule's betas included.
    """

    CODE_VERSION = "1"

    n: int
    d: int = 20
    k: float = 1.0
    data_seed: tuple[int, ...] = (67,)
    width: int = 256
    depth: int = 3
    time_embedding: int = 32
    steps: int = 20_000
    lr: float = 1e-3
    batch: int = 256
    seed: tuple[int, ...] = (67,)
    T: int = 1000
    beta_min: float = 1e-4
    beta_max: float = 1e-2

    def schedule(self) -> Schedule:
        return ld.beta_schedule(self.T, self.beta_min, self.beta_max)

    def training_set(self) -> np.ndarray:
        return white_samples(self.n, self.d, list(self.data_seed)) * np.sqrt(power_law_spectrum(self.d, self.k))

    def build_model(self) -> nn.Module:
        init_seed = int(np.random.SeedSequence(list(self.seed)).generate_state(1)[0])
        return lt.make_mlp_denoiser(self.d, self.width, self.depth, self.time_embedding, seed=init_seed)

    def objective(self) -> LossFn:
        return lt.ddpm_objective(self.training_set(), self.schedule(), self.batch)

    def hyper(self) -> Hyper:
        return Hyper(steps=self.steps, lr=self.lr, seed=tuple(self.seed))


@dataclass(frozen=True)
class NonlinearSizes(Sizes):
    d: int = 20
    k: float = 1.0
    ns: tuple[int, ...] = (10, 80)
    width: int = 256
    depth: int = 3
    time_embedding: int = 32
    steps: int = 20_000
    batch: int = 256
    samples: int = 10_000
    top: int = 5


LINEAR_VS_NONLINEAR = Tier(
    "merger-goldt/linear-vs-nonlinear",
    fast=NonlinearSizes(width=64, steps=1500, samples=1000),
    spec=NonlinearSizes(),
    section=row("linear-vs-nonlinear"),
)


def same_training_set(seeds: tuple[int, ...], n: int) -> tuple[int, ...]:
    """Data seed of the MLP's training set: the linear model's (seed 67 stream, per N)."""
    return (*seeds, n)


@dataclass(frozen=True)
class GeneratedSpectra:
    r"""Generated covariances of the MLP and of the linear denoiser on one training set, and the linear theory.

    Eigenvalues descending; eigenvectors as columns; ``outside_*`` is the fraction of generated
    variance outside :math:`\hat\mu+\operatorname{range}\hat\Sigma`.
    """

    n: int
    samples: int
    lam_hat: np.ndarray
    u: np.ndarray
    f_theory: np.ndarray
    eig_mlp: np.ndarray
    vec_mlp: np.ndarray
    eig_linear: np.ndarray
    vec_linear: np.ndarray
    outside_mlp: float
    outside_linear: float

    def angles(self, top: int, a: str = "mlp", b: str = "theory") -> np.ndarray:
        """Principal angles (degrees) between the top-``top`` eigenvectors of ``a`` and ``b`` (mlp, linear, theory)."""
        vec = {"mlp": self.vec_mlp, "linear": self.vec_linear, "theory": self.u}
        return np.degrees(sla.subspace_angles(vec[a][:, :top], vec[b][:, :top]))


def _spectrum(samples: np.ndarray, mu_hat: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Eigenvalues (descending), eigenvectors and the fraction of variance off the data's affine span."""
    val, vec = np.linalg.eigh(np.cov(samples, rowvar=False))
    y = samples - mu_hat
    return val[::-1], vec[:, ::-1], float(np.sum((y @ null) ** 2) / np.sum(y**2))


def _spectrum_of(sample: Callable[[Any], np.ndarray], seed: Any, mu_hat: np.ndarray, null: np.ndarray):
    return _spectrum(sample(seed), mu_hat, null)


def _mlp_spectrum(cfg: MLPDenoiserConfig, cache: Any, samples: int, seed: Any, mu_hat: np.ndarray, null: np.ndarray):
    """Spectrum of the trained MLP's samples, drawn with the paper's schedule."""
    model = trained(cfg, cache).model
    return _spectrum(ld.ddpm_sample(lt.mlp_eps_fn(model), ld.beta_schedule(1000), samples, cfg.d, seed), mu_hat, null)


def linear_vs_nonlinear(
    run: RunSpec,
    data_seed: Callable[[tuple[int, ...], int], tuple[int, ...]] = same_training_set,
    train_beta_max: float = 1e-2,
) -> list[GeneratedSpectra]:
    r"""Train the MLP denoiser per N (seed 67) and sample it and the optimal linear denoiser with the same sampler.

    The linear model is fitted to :math:`X=Z\Sigma^{1/2}` of :func:`white_samples` ``(N, d, (seed, N))``;
    the MLP to the training set of ``data_seed(seed, N)`` with the schedule of ``train_beta_max``
    (the injection points), both sampled with the paper's schedule. Models are trained once per
    process and disk cache (:func:`numerics.training.trained`), the linear samples are memoised.
    """
    sz = run.sizes(LINEAR_VS_NONLINEAR)
    seeds = tuple(run.seed_list(67))
    out = []
    for n in sz.ns:
        cfg = MLPDenoiserConfig(
            n=n,
            d=sz.d,
            k=sz.k,
            data_seed=data_seed(seeds, n),
            width=sz.width,
            depth=sz.depth,
            time_embedding=sz.time_embedding,
            steps=sz.steps,
            batch=sz.batch,
            seed=seeds,
            beta_max=train_beta_max,
        )
        sch = ld.beta_schedule(1000)
        x = white_samples(n, sz.d, [*same_training_set(seeds, n)]) * np.sqrt(power_law_spectrum(sz.d, sz.k))
        mu_hat, cov_hat = ld.empirical_moments(x)
        lam_hat, u = ld.eigen_modes(cov_hat)
        null = u[:, lam_hat == 0]
        linear_samples = partial(ld.ddpm_sample, ld.linear_eps_fn(mu_hat, cov_hat, sch), sch, sz.samples, sz.d)
        lin = measured(
            run,
            "merger-goldt/linear-samples",
            {"n": n, "sizes": sz, "seeds": seeds},
            partial(_spectrum_of, linear_samples, [*seeds, n, 2], mu_hat, null),
        )
        mlp = measured(
            run,
            "merger-goldt/mlp-samples",
            {"config": cfg, "sizes": sz, "seeds": seeds},
            partial(_mlp_spectrum, cfg, run.cache, sz.samples, [*seeds, n, 1], mu_hat, null),
        )
        f = ld.mode_recursion(lam_hat, sch).f
        out.append(GeneratedSpectra(n, sz.samples, lam_hat, u, f, mlp[0], mlp[1], lin[0], lin[1], mlp[2], lin[2]))
    return out


# =============================================================================================
# Figures (spec §4): sweeps beyond the claims' measurements
# =============================================================================================
@dataclass(frozen=True)
class ErrorCurveSizes(Sizes):
    d: int = 400
    ks: tuple[float, ...] = (0.0, 1.0, 2.0)
    ratios: int = 20
    seeds: int = 5
    steps: tuple[int, ...] = (1, 10, 100)


FIG_TRAIN_TEST = Tier(
    "merger-goldt/fig-train-test-vs-n",
    fast=ErrorCurveSizes(ratios=8, seeds=2),
    spec=ErrorCurveSizes(),
    section=f"{SPEC} §4 figure 2",
)


@dataclass(frozen=True)
class ErrorCurves:
    """Seed-averaged test and train errors (known mean), their deterministic equivalent and the Bayes error, ``(k, N, t)``."""

    d: int
    ns: np.ndarray
    ks: tuple[float, ...]
    steps: tuple[int, ...]
    test: np.ndarray
    train: np.ndarray
    det_equiv: np.ndarray
    bayes: np.ndarray  # (k, t)


def error_curves(run: RunSpec) -> ErrorCurves:
    """:math:`E^{\\rm train}`, :math:`E^{\\rm test}` vs :math:`N/d\\in[0.1,10]` (log-spaced), ``mean="known"``, seeds 0.."""
    sz = run.sizes(FIG_TRAIN_TEST)
    ns = np.unique(np.maximum(np.round(np.logspace(-1, 1, sz.ratios) * sz.d).astype(int), 2))
    modes = empirical_modes(run, sz.d, ns.tolist(), tuple(sz.ks), seed_list(run, range(sz.seeds)), mean="known")
    errs = [optimal_errors(m, sz.steps, (0.0,)) for m in modes]
    test = np.stack([e[0][:, :, 0].mean(0) for e in errs], axis=1)  # (k, N, t)
    train = np.stack([e[1][:, :, 0].mean(0) for e in errs], axis=1)
    sch = ld.beta_schedule(1000)
    lam = modes[0].lam
    de = np.array(
        [
            [
                [ld.deterministic_equivalent_test_error(lam[a], int(n), sch.one_minus_abar[t - 1]) for t in sz.steps]
                for n in ns
            ]
            for a in range(len(sz.ks))
        ]
    )
    bayes = np.array([[ld.bayes_error(lam[a], sch.one_minus_abar[t - 1]) for t in sz.steps] for a in range(len(sz.ks))])
    return ErrorCurves(sz.d, ns, tuple(sz.ks), tuple(sz.steps), test, train, de, bayes)


@dataclass(frozen=True)
class SpectrumSizes(Sizes):
    d: int = 100
    k: float = 1.0
    ratios: tuple[float, ...] = (0.5, 2.0)


FIG_SPECTRUM = Tier.same("merger-goldt/fig-generated-spectrum", SpectrumSizes(), f"{SPEC} §4 figure 6")


@dataclass(frozen=True)
class Spectra:
    """True, empirical and generated (per sampler sigma) spectra per N/d; seed 0."""

    lam: np.ndarray  # (d,)
    ratios: tuple[float, ...]
    lam_hat: np.ndarray  # (ratio, d)
    f: np.ndarray  # (ratio, sigma, d)


def generated_spectra(run: RunSpec) -> Spectra:
    """Generated variances :math:`f(\\hat\\lambda_i)` of the linear sampler for both sampler sigmas (seed 0)."""
    sz = run.sizes(FIG_SPECTRUM)
    ns = [round(r * sz.d) for r in sz.ratios]
    modes = empirical_modes(run, sz.d, ns, (sz.k,), [run.seed_for(0)])
    f = np.array([[generated_law(m, SamplerSetting(sampler_sigma=s)).f[0, 0] for s in SAMPLER_SIGMAS] for m in modes])
    return Spectra(modes[0].lam[0], tuple(sz.ratios), np.array([m.lam_hat[0, 0] for m in modes]), f)
