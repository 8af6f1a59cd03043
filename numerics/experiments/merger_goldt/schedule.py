"""Measurement of ``merger-goldt/beta-schedule``: the linear schedule against an mpmath product (spec §1.1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mpmath as mp
import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.merger_goldt._shared import row
from numerics.linear_diffusion import Schedule


@dataclass(frozen=True)
class ScheduleSizes(Sizes):
    T: int = 1000
    mp_dps: int = 30
    report_T: tuple[int, ...] = (500, 2000)


BETA_SCHEDULE = Tier.same("merger-goldt/beta-schedule", ScheduleSizes(), row("beta-schedule", "§1.1, §6 (T)"))

# The spec's linear schedule (§1.1): beta_t from 1e-4 to 1e-2, the reference of the mpmath product.
BETA_RANGE = (1e-4, 1e-2)


@dataclass(frozen=True)
class ScheduleValues(Measurement):
    r"""The schedule under test (``schedule``, its ``beta``) and :math:`\bar\alpha_T` of the spec's formula at ``mp_dps`` digits."""

    schedule: Schedule
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
        lo, hi = mp.mpf(repr(BETA_RANGE[0])), mp.mpf(repr(BETA_RANGE[1]))
        abar = mp.fprod(1 - ((hi - lo) / sz.T * t + lo) for t in range(1, sz.T + 1))
    other = tuple((t, float(schedule(t).abar[-1])) for t in sz.report_T)
    return ScheduleValues(
        sch,
        sch.beta,
        float(sch.abar[-1]),
        float(abar),
        other,
        sizes=sz,
        settings={"beta_min": BETA_RANGE[0], "beta_max": BETA_RANGE[1]},
    )
