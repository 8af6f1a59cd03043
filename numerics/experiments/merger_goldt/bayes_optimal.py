"""Measurement of ``merger-goldt/bayes-optimal-linear``: the population-optimal denoiser's error, Monte Carlo against the Bayes error (spec §1.4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numerics import linear_diffusion as ld
from numerics.datasets import power_law_spectrum
from numerics.experiments import RunSpec, Sizes, Tier, measured
from numerics.experiments.merger_goldt._shared import MonteCarloAgreement, row, stream


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
    return MonteCarloAgreement(
        tuple(f"t={t}" for t in sz.steps),
        mc,
        se,
        closed,
        seeds={"data": run.seed_for(63), "noise": [*run.seed_list(63), 1]},
        sizes=sz,
    )
