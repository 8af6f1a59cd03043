"""What the ``merger-goldt/`` measurements share: spec rows, seed streams, training sets and the generated law on them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from numerics import linear_diffusion as ld
from numerics.datasets import power_law_spectrum, white_samples
from numerics.executor import sweep
from numerics.experiments import Measurement, RunSpec, measured
from numerics.linear_diffusion import KL_DIRECTIONS, SAMPLER_SIGMAS, Schedule

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
class MonteCarloAgreement(Measurement):
    """Monte Carlo means per case, their SEs, and the closed form under test."""

    labels: tuple[str, ...]
    mc: np.ndarray
    se: np.ndarray
    closed_form: np.ndarray

    @property
    def z(self) -> np.ndarray:
        """``|MC - closed form| / SE`` per case."""
        return np.abs(self.mc - self.closed_form) / self.se


def dense(lam_hat: np.ndarray, u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """:math:`U\\mathrm{diag}(w)U^\\top`."""
    return (u * w) @ u.T
