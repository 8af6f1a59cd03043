"""Measurement of ``merger-goldt/null-mode-variance``: the recursion on null modes (spec §1.6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.merger_goldt._shared import row
from numerics.linear_diffusion import SAMPLER_SIGMAS, Schedule
from theory import linear_diffusion as sym


@dataclass(frozen=True)
class NullModeSizes(Sizes):
    T: int = 1000
    report_ridges: tuple[float, ...] = (1e-3, 1e-1)
    report_taus: tuple[float, ...] = (1e2, 1e4)


NULL_MODES = Tier.same("merger-goldt/null-mode-variance", NullModeSizes(), row("null-mode-variance", "§1.6"))


@dataclass(frozen=True)
class NullModes(Measurement):
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
    return NullModes(a, closed, f0, ridge, early, sizes=sz)
