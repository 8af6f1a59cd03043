"""Measurements of ``digits/kl-d-over-4n`` and ``digits/transition-at-n-equals-d``: the linear diffusion model with the digits as the population."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from numerics import linear_diffusion as ld
from numerics.digits import digits
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.digits._shared import SECTION, SEED_KL
from numerics.experiments.merger_goldt import EmpiricalModes, SamplerSetting, generated_law, population_kl


@dataclass(frozen=True)
class Population:
    r"""The 1797 digits in the eigenbasis of their covariance: points, eigenvalues, fourth-moment factor.

    ``points`` :math:`=XV` (mean 0, covariance :math:`\mathrm{diag}(\lambda)` exactly);
    ``kappa`` :math:`=(\mathbb E\|z\|^4-d)/(d(d+1))` of the whitened points
    :math:`z=\Lambda^{-1/2}V^\top x`: 1 for Gaussian data, the factor by which the second-order
    KL law :math:`\mathbb E\operatorname{tr}(S-I)^2=(\mathbb E\|z\|^4-d)/N` departs from the
    Gaussian :math:`d(d+1)/N`.
    """

    points: np.ndarray
    lam: np.ndarray
    kappa: float

    @property
    def dim(self) -> int:
        return int(self.lam.size)


@functools.cache
def population() -> Population:
    """The digits population (:func:`numerics.digits.digits`, all 1797) in its eigenbasis."""
    data = digits()
    lam, v = np.linalg.eigh(data.covariance)
    lam, v = lam[::-1].copy(), v[:, ::-1]
    rotated = (data.points - data.points.mean(axis=0)) @ v
    z2 = np.sum(rotated**2 / lam, axis=1)
    d = lam.size
    return Population(rotated, lam, float((np.mean(z2**2) - d) / (d * (d + 1))))


def population_draws(n: int, seed: Any) -> np.ndarray:
    """Row indices of ``n`` i.i.d. draws (with replacement) from the 1797 population points."""
    return np.random.default_rng(seed).integers(0, population().points.shape[0], n)


def population_modes_task(n: int, seeds: list[Any], mean: str = "estimated") -> EmpiricalModes:
    """Empirical moments of ``n`` i.i.d. draws (with replacement) from the population, one set per seed (a sweep task)."""
    pop = population()
    mu_hat, lam_hat, u = [], [], []
    for seed in seeds:
        x = pop.points[population_draws(n, seed)]
        mu, cov = ld.empirical_moments(x, mean)
        lh, uu = ld.eigen_modes(cov)
        mu_hat.append(mu[None])
        lam_hat.append(lh[None])
        u.append(uu[None])
    return EmpiricalModes(n, pop.lam[None], np.stack(mu_hat), np.stack(lam_hat), np.stack(u))


def population_modes(
    run: RunSpec, ns: tuple[int, ...], seeds: list[Any], mean: str = "estimated"
) -> list[EmpiricalModes]:
    """:func:`population_modes_task` for every ``N`` (memoised)."""
    from numerics.executor import sweep

    tasks = [{"n": int(n), "seeds": seeds, "mean": mean} for n in ns]
    return measured(
        run,
        "digits/population-modes",
        {"ns": [int(n) for n in ns], "seeds": seeds, "mean": mean},
        lambda: sweep(run.executor, population_modes_task, tasks),
    )


@dataclass(frozen=True)
class KLLawSizes(Sizes):
    ns: tuple[int, ...] = (610, 1220, 6100, 30500, 61000)
    seeds: int = 200


DIGITS_KL_LAW = Tier(
    "digits/kl-d-over-4n", fast=KLLawSizes(ns=(610, 6100, 30500), seeds=60), spec=KLLawSizes(), section=SECTION
)


@dataclass(frozen=True)
class DigitsKLLaw(Measurement):
    r""":math:`Q=\frac Nd(\frac{D_{\rm KL}}d-\frac{D^{\rm pop}_{\rm KL}}d)` of the linear sampler (σ² = β, covariance part), ``(N, seeds, direction)``.

    ``kappa``: the population's fourth-moment factor (:class:`Population`); ``d`` the dimension.
    """

    d: int
    ns: tuple[int, ...]
    q: np.ndarray
    kappa: float

    def q_mean(self) -> tuple[np.ndarray, np.ndarray]:
        """Seed mean and standard error of Q, ``(N, direction)`` each."""
        return self.q.mean(axis=1), self.q.std(axis=1, ddof=1) / np.sqrt(self.q.shape[1])


def digits_kl_law(run: RunSpec) -> DigitsKLLaw:
    """KL of the generated law for ``N`` i.i.d. digits, seeds 0..seeds-1 (stream ``SEED_KL``), both directions."""
    sz = run.sizes(DIGITS_KL_LAW)
    seeds = [[*run.seed_list(SEED_KL), s] for s in range(sz.seeds)]
    modes = population_modes(run, sz.ns, seeds)
    pop = population()
    kl_pop = population_kl(pop.lam)[:, 0]  # (direction,)
    q = np.empty((len(sz.ns), sz.seeds, len(ld.KL_DIRECTIONS)))
    for a, m in enumerate(modes):
        g = generated_law(m)
        for i, direction in enumerate(ld.KL_DIRECTIONS):
            q[a, :, i] = m.n / pop.dim * (g.kl(direction=direction)[:, 0] - kl_pop[i])
    return DigitsKLLaw(
        pop.dim,
        tuple(sz.ns),
        q,
        pop.kappa,
        seeds={"training sets": seeds},
        sizes=sz,
        settings=dataclasses.asdict(SamplerSetting()),
    )


@dataclass(frozen=True)
class TransitionSizes(Sizes):
    ratios: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9, 1.1, 1.5, 2.0, 4.0, 10.0)
    seeds: int = 5


DIGITS_TRANSITION = Tier.same("digits/transition-at-n-equals-d", TransitionSizes(), SECTION)


@dataclass(frozen=True)
class DigitsTransition(Measurement):
    """Null-mode counts and distinct points drawn ``(ratio, seeds)``, the seed-mean KL/d ``(ratio,)`` (forward, σ² = β), population KL/d.

    Draws with replacement repeat points (at :math:`N=55`, a repeat in most sets): a set of
    :math:`n` distinct points has covariance rank :math:`n-1`.
    """

    d: int
    ratios: tuple[float, ...]
    null_modes: np.ndarray
    distinct: np.ndarray
    kl: np.ndarray
    population: float

    @property
    def ns(self) -> np.ndarray:
        return np.array([round(r * self.d) for r in self.ratios])

    def at(self, ratio: float) -> int:
        return self.ratios.index(ratio)


def digits_transition(run: RunSpec, mean: str = "estimated") -> DigitsTransition:
    """KL/d of the linear sampler against N/d on the digits spectrum (``mean``: the centring under test)."""
    sz = run.sizes(DIGITS_TRANSITION)
    pop = population()
    seeds = [[*run.seed_list(SEED_KL), 100 + s] for s in range(sz.seeds)]
    ns = tuple(round(r * pop.dim) for r in sz.ratios)
    modes = population_modes(run, ns, seeds, mean)
    kl = np.array([generated_law(m).kl()[:, 0].mean() for m in modes])
    null = np.array([m.null_modes[:, 0] for m in modes])
    distinct = np.array([[np.unique(population_draws(n, s)).size for s in seeds] for n in ns])
    return DigitsTransition(
        pop.dim,
        tuple(sz.ratios),
        null,
        distinct,
        kl,
        float(population_kl(pop.lam)[0, 0]),
        seeds={"training sets": seeds},
        sizes=sz,
        settings={**dataclasses.asdict(SamplerSetting()), "mean": mean},
    )
