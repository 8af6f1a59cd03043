r"""Linear diffusion models (Merger & Goldt): the sweeps over training sets, spectra and settings.

Each task draws one training set from its seed (white matrix :math:`Z`, common to every spectrum
it is given: common random numbers across :math:`k`) and returns the errors or KLs of the
linear sampler trained on it; tasks are module-level functions of explicit parameters, so they
run on any executor. The engines are in :mod:`numerics.linear_diffusion` (schedule, per-mode
recursion, KL, errors, deterministic equivalent) and :mod:`numerics.linear_diffusion_torch`
(trained denoisers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from torch import nn

from numerics import linear_diffusion as ld
from numerics.datasets import power_law_spectrum, white_samples
from numerics.linear_diffusion import (
    KL_DIRECTIONS,
    SAMPLER_SIGMAS,
    beta_schedule,
    denoising_error,
    eigen_modes,
    empirical_moments,
    generated_mean,
    kl_divergence,
    mode_recursion,
    mode_weights,
    null_mode_count,
    train_error,
)
from numerics.linear_diffusion_torch import ddpm_objective, make_mlp_denoiser, mlp_eps_fn
from numerics.training import Hyper, LossFn, trained
from theory.gaussians import gaussian_kl


def kl_task(
    d: int,
    n: int,
    ks: tuple[float, ...],
    seed,
    T: int = 1000,
    sampler_sigmas: tuple[str, ...] = SAMPLER_SIGMAS,
    final_noise: bool = True,
    mean: str = "estimated",
    ridge: float = 0.0,
    train_time: float | None = None,
    trace: float | None = None,
    u_T_mean: str = "zero",
) -> dict[str, np.ndarray]:
    r"""Total (not normalised) KLs of the linear sampler trained on one training set.

    One white matrix :math:`Z` (seed ``seed``) gives :math:`X=Z\Sigma_k^{1/2}` for every spectrum
    :math:`k` in ``ks``. Returns arrays of shape ``(len(ks), len(sampler_sigmas))`` under keys
    ``forward_cov``, ``reverse_cov``, ``forward_full``, ``reverse_full`` and the null-mode count
    per spectrum under ``null_modes``. Module level, seed explicit: a task for
    :func:`numerics.executor.sweep`.
    """
    z = white_samples(n, d, seed)
    sch = beta_schedule(T)
    lam = np.stack([power_law_spectrum(d, k, trace) for k in ks])  # (K, d)
    if mean == "estimated":
        zc = z - z.mean(axis=0)
        z_mu = z.mean(axis=0)
    else:
        zc, z_mu = z, np.zeros(d)
    s_white = zc.T @ zc / n
    sq = np.sqrt(lam)
    cov_hat = sq[:, :, None] * s_white[None] * sq[:, None, :]
    mu_hat = z_mu[None] * sq
    lam_hat, u = eigen_modes(cov_hat)
    out: dict[str, np.ndarray] = {
        key: np.empty((len(ks), len(sampler_sigmas)))
        for key in ("forward_cov", "reverse_cov", "forward_full", "reverse_full")
    }
    for j, sig in enumerate(sampler_sigmas):
        modes = mode_recursion(lam_hat, sch, ridge, sig, final_noise, train_time)
        mg = generated_mean(mu_hat, u, modes.prod_a, sch, u_T_mean)
        for direction in KL_DIRECTIONS:
            for part in ("cov", "full"):
                out[f"{direction}_{part}"][:, j] = kl_divergence(
                    modes.f, u, lam, mg, None, direction=direction, part=part, norm="total"
                )
    out["null_modes"] = null_mode_count(lam_hat)
    return out


def test_error_task(
    d: int,
    n: int,
    ks: tuple[float, ...],
    seed,
    steps: tuple[int, ...],
    ridges: tuple[float, ...] = (0.0,),
    T: int = 1000,
    mean: str = "estimated",
    trace: float | None = None,
) -> dict[str, np.ndarray]:
    r"""Test and train errors of the optimal ridge denoiser on one training set, several spectra.

    Common random numbers across ``ks`` (one white :math:`Z`). Returns arrays of shape
    ``(len(ks), len(ridges), len(steps))`` under ``test`` and ``train``. A sweep task.
    """
    z = white_samples(n, d, seed)
    sch = beta_schedule(T)
    test = np.empty((len(ks), len(ridges), len(steps)))
    train = np.empty_like(test)
    for a, k in enumerate(ks):
        lam = power_law_spectrum(d, k, trace)
        mu_hat, cov_hat = empirical_moments(z * np.sqrt(lam), mean=mean)
        lam_hat, u = eigen_modes(cov_hat)
        for b, ridge in enumerate(ridges):
            for c, t in enumerate(steps):
                s = sch.one_minus_abar[t - 1]
                w = mode_weights(lam_hat, s, ridge)
                test[a, b, c] = denoising_error(w, u, lam, s, mean_offset=-mu_hat)
                train[a, b, c] = train_error(w, lam_hat, s)
    return {"test": test, "train": train}


def _known_mean_modes(d, n, k, seed):
    lam = power_law_spectrum(d, k)
    _, cov_hat = empirical_moments(white_samples(n, d, seed) * np.sqrt(lam), mean="known")
    lam_hat, u = eigen_modes(cov_hat)
    return lam, lam_hat, u


def de_sim_task(d: int, n: int, k: float, seed, steps: tuple[int, ...], ridges: tuple[float, ...]) -> np.ndarray:
    """Simulated test errors (known mean) of one training set, shape ``(len(ridges), len(steps))``. Sweep task."""
    lam, lam_hat, u = _known_mean_modes(d, n, k, seed)
    sch = beta_schedule(1000)
    out = np.empty((len(ridges), len(steps)))
    for a, ridge in enumerate(ridges):
        for b, t in enumerate(steps):
            s = sch.one_minus_abar[t - 1]
            out[a, b] = denoising_error(mode_weights(lam_hat, s, ridge), u, lam, s)
    return out


def hierarchy_kl_task(d: int, n: int, ks: tuple[float, ...], seed, trace: float | None = None) -> np.ndarray:
    """Per-dimension forward covariance KL (sigma^2=beta) for each spectrum, one training set. Sweep task."""
    out = kl_task(d, n, ks, seed, sampler_sigmas=("beta",), trace=trace)
    return out["forward_cov"][:, 0] / d


def crn_cov_kl_task(d: int, n: int, ks: tuple[float, ...], seed, common: bool = True) -> np.ndarray:
    """Dense KL(N(0,Sigma_hat)||N(0,Sigma)) and reverse, per spectrum, shape (K, 2). Sweep task."""
    out = np.empty((len(ks), 2))
    for a, k in enumerate(ks):
        lam = power_law_spectrum(d, k)
        z = white_samples(n, d, seed if common else [*np.atleast_1d(seed), a])
        _, cov_hat = empirical_moments(z * np.sqrt(lam))
        zero = np.zeros(d)
        out[a, 0] = gaussian_kl(zero, cov_hat, zero, np.diag(lam))
        out[a, 1] = gaussian_kl(zero, np.diag(lam), zero, cov_hat)
    return out


def ridge_kl_task(d: int, n: int, k: float, seed, ridges: tuple[float, ...]) -> np.ndarray:
    """Forward covariance KL/d (sigma^2=beta) vs ridge for one training set. Sweep task."""
    return np.array(
        [kl_task(d, n, (k,), seed, sampler_sigmas=("beta",), ridge=r)["forward_cov"][0, 0] / d for r in ridges]
    )


def early_stopping_task(d: int, n: int, k: float, seed, taus: tuple[float, ...]) -> dict[str, np.ndarray]:
    """KL/d and test error at t=1 vs gradient-flow time for one training set. Sweep task."""
    sch = beta_schedule(1000)
    lam = power_law_spectrum(d, k)
    mu_hat, cov_hat = empirical_moments(white_samples(n, d, seed) * np.sqrt(lam))
    lam_hat, u = eigen_modes(cov_hat)
    tau = np.asarray(taus, dtype=np.float64)[:, None]  # one row per training time
    lam_rows = np.broadcast_to(lam_hat, (tau.shape[0], d))
    kl = kl_divergence(mode_recursion(lam_rows, sch, train_time=tau).f, u[None], lam)
    s = sch.one_minus_abar[0]
    err = denoising_error(mode_weights(lam_rows, s, train_time=tau), u[None], lam, s, -mu_hat)
    return {"kl": kl, "test_t1": err}


def _principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(sla.subspace_angles(a, b))


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

    def schedule(self) -> ld.Schedule:
        return beta_schedule(self.T, self.beta_min, self.beta_max)

    def training_set(self) -> np.ndarray:
        return white_samples(self.n, self.d, list(self.data_seed)) * np.sqrt(power_law_spectrum(self.d, self.k))

    def build_model(self) -> nn.Module:
        init_seed = int(np.random.SeedSequence(list(self.seed)).generate_state(1)[0])
        return make_mlp_denoiser(self.d, self.width, self.depth, self.time_embedding, seed=init_seed)

    def objective(self) -> LossFn:
        return ddpm_objective(self.training_set(), self.schedule(), self.batch)

    def hyper(self) -> Hyper:
        return Hyper(steps=self.steps, lr=self.lr, seed=tuple(self.seed))


def linear_vs_nonlinear_run(n: int, seed, full: bool, steps: int | None = None, cache=None) -> dict:
    """Train the MLP denoiser on one training set and sample both models (d=20, k=1)."""
    d = 20
    width, n_steps, m = (256, 20_000, 10_000) if full else (64, 1500, 1000)
    n_steps = n_steps if steps is None else steps
    seeds = tuple(int(s) for s in np.atleast_1d(seed))
    cfg = MLPDenoiserConfig(n=n, d=d, data_seed=(*seeds, n), width=width, steps=n_steps, seed=seeds)
    sch = cfg.schedule()
    x = cfg.training_set()
    mu_hat, cov_hat = ld.empirical_moments(x)
    lam_hat, u = ld.eigen_modes(cov_hat)
    run = trained(cfg, cache)
    mlp = ld.ddpm_sample(mlp_eps_fn(run.model), sch, m, d, [*np.atleast_1d(seed), n, 1])
    lin = ld.ddpm_sample(ld.linear_eps_fn(mu_hat, cov_hat, sch), sch, m, d, [*np.atleast_1d(seed), n, 2])
    null = u[:, lam_hat == 0]
    out = {
        "lam_hat": lam_hat,
        "f_theory": ld.mode_recursion(lam_hat, sch).f,
        "width": width,
        "steps": n_steps,
        "samples": m,
    }
    for name, smp in (("mlp", mlp), ("linear", lin)):
        y = smp - mu_hat
        out[f"frac_outside_{name}"] = float(np.sum((y @ null) ** 2) / np.sum(y**2))
        out[f"eig_{name}"] = np.linalg.eigvalsh(np.cov(smp, rowvar=False))[::-1]
        out[f"vec_{name}"] = np.linalg.eigh(np.cov(smp, rowvar=False))[1][:, ::-1][:, :5]
    out["angles_top5"] = _principal_angles(out["vec_linear"], out["vec_mlp"])
    out["angles_top5_theory_vs_mlp"] = _principal_angles(u[:, :5], out["vec_mlp"])
    return out
