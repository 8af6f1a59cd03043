"""Measurement of ``merger-goldt/linear-vs-nonlinear``: generated spectra of a trained MLP denoiser and of the linear one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import scipy.linalg as sla
from torch import nn

from numerics import linear_diffusion as ld
from numerics import linear_diffusion_torch as lt
from numerics.datasets import power_law_spectrum, white_samples
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.merger_goldt._shared import row
from numerics.linear_diffusion import Schedule
from numerics.training import Hyper, LossFn, trained


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


@dataclass(frozen=True)
class LinearVsNonlinear(Measurement):
    """The generated spectra of the MLP and of the linear denoiser at every ``N`` of the sizes (one entry per ``N``)."""

    spectra: tuple[GeneratedSpectra, ...]


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
) -> LinearVsNonlinear:
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
    return LinearVsNonlinear(tuple(out), seeds={"training and sampling": run.seed_for(67)}, sizes=sz)
