"""Measurement of ``merger-goldt/transition-at-n-equals-d``: null modes and KL over N/d."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.merger_goldt._shared import (
    KS4,
    SamplerSetting,
    empirical_modes,
    generated_law,
    population_kl,
    row,
    seed_list,
)
from numerics.linear_diffusion import SAMPLER_SIGMAS


@dataclass(frozen=True)
class TransitionSizes(Sizes):
    d: int = 100
    ks: tuple[float, ...] = KS4
    ratios: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9, 1.1, 1.5, 2.0, 4.0, 10.0)
    seeds: int = 5


TRANSITION = Tier.same("merger-goldt/transition-at-n-equals-d", TransitionSizes(), row("transition-at-n-equals-d"))


@dataclass(frozen=True)
class Transition(Measurement):
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
    return Transition(
        sz.d,
        tuple(sz.ratios),
        tuple(sz.ks),
        np.array([m.null_modes for m in modes]),
        kl,
        pop,
        seeds={"training sets": seeds},
        sizes=sz,
    )
