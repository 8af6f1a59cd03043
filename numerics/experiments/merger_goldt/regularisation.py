"""Measurement of ``merger-goldt/optimal-ridge`` and ``merger-goldt/early-stopping``: KL and test errors against a regularisation grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.merger_goldt._shared import RecursionFn, SamplerSetting, empirical_modes, generated_law, row


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
class Regularisation(Measurement):
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
    return Regularisation(
        sz.ns,
        tuple(sz.ks),
        tuple(grid),
        *(np.swapaxes(np.array(a), 1, 2) for a in (kl, t1, t10)),
        seeds={"training set": run.seed_for(0)},
        sizes=sz,
    )


def optimal_ridge(run: RunSpec, recursion: RecursionFn = ld.mode_recursion) -> Regularisation:
    """KL/d and test errors against the ridge λ (seed 0); ``recursion`` under test."""
    return _regularised(run, OPTIMAL_RIDGE, "ridge", recursion)


def early_stopping(run: RunSpec, recursion: RecursionFn = ld.mode_recursion) -> Regularisation:
    """KL/d and test errors against the gradient-flow time ητ (η = 1, seed 0); ``recursion`` under test."""
    return _regularised(run, EARLY_STOPPING, "time", recursion)
