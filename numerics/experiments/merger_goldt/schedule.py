"""Measurement of ``merger-goldt/beta-schedule``: the linear schedule against an mpmath product (spec §1.1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mpmath as mp
import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec, Sizes, Tier
from numerics.experiments.merger_goldt._shared import row
from numerics.linear_diffusion import Schedule


@dataclass(frozen=True)
class ScheduleSizes(Sizes):
    T: int = 1000
    mp_dps: int = 30
    report_T: tuple[int, ...] = (500, 2000)


BETA_SCHEDULE = Tier.same("merger-goldt/beta-schedule", ScheduleSizes(), row("beta-schedule", "§1.1, §6 (T)"))


@dataclass(frozen=True)
class ScheduleValues:
    r"""The schedule under test and :math:`\bar\alpha_T` of the spec's formula at ``mp_dps`` digits."""

    beta: np.ndarray
    abar_T: float
    abar_T_mp: float
    abar_T_other: tuple[tuple[int, float], ...]

    @property
    def rel_mp(self) -> float:
        return abs(self.abar_T - self.abar_T_mp) / self.abar_T_mp


def schedule_values(run: RunSpec, schedule: Callable[[int], Schedule] = ld.beta_schedule) -> ScheduleValues:
    """``schedule(T)`` and an independent mpmath product of the spec's :math:`1-\\beta_t` (§1.1)."""
    sz = run.sizes(BETA_SCHEDULE)
    sch = schedule(sz.T)
    with mp.workdps(sz.mp_dps):
        lo, hi = mp.mpf("1e-4"), mp.mpf("1e-2")
        abar = mp.fprod(1 - ((hi - lo) / sz.T * t + lo) for t in range(1, sz.T + 1))
    other = tuple((t, float(schedule(t).abar[-1])) for t in sz.report_T)
    return ScheduleValues(sch.beta, float(sch.abar[-1]), float(abar), other)
