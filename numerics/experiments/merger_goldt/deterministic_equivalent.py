"""Measurement of ``merger-goldt/deterministic-equivalent``: simulated test errors against the deterministic equivalent (spec §1.5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.merger_goldt._shared import empirical_modes, mean_and_se, optimal_errors, row, seed_list


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
class DetEquiv(Measurement):
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
    return DetEquiv(sz.ns, sz.ridges, sz.steps, mean, se, pred, seeds={"training sets": seeds}, sizes=sz)
