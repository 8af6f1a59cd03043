"""Measurement of ``merger-goldt/population-optimum-kl``: the KL of the population-optimal sampler (spec §1.6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numerics import linear_diffusion as ld
from numerics.datasets import power_law_spectrum
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.merger_goldt._shared import KS4, SamplerSetting, population_kl, row
from numerics.linear_diffusion import SAMPLER_SIGMAS, Schedule


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
class PopulationKL(Measurement):
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
    return PopulationKL(Ts, tuple(sz.ks), table[:, :, 0], table[:, :, 1], no_final, sizes=sz)
