r"""When two training points are told apart (claim ``gao-li/pair-resolution-time``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from numerics.empirical_field import (
    posterior_weights,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.gao_li._shared import SIGMA_MINS, spec_row
from numerics.paths import CondOTPath
from theory import flow_matching as th


@dataclass(frozen=True)
class PairSizes(Sizes):
    draws: int = 20_001
    deltas: tuple[float, ...] = (0.3, 1.0, 4.0)
    step: float = 1e-3
    window: float = 1.0


PAIR_RESOLUTION = Tier(
    "gao-li/pair-resolution-time",
    fast=PairSizes(window=0.03),
    spec=PairSizes(),
    section=spec_row("pair-resolution-time")
    + "; window = half-width of the searched t-grid around t_0.99 (1.0: the whole grid from 0, the spec's)",
)


@dataclass(frozen=True)
class PairResolution(Measurement):
    """Per case (sigma_min major, Delta minor): the predicted t_0.99 and three independent crossings."""

    cases: tuple[tuple[float, float], ...]
    predicted: np.ndarray
    semi_analytic: np.ndarray
    sympy: np.ndarray
    monte_carlo: np.ndarray
    a_star: float
    symbolic_zero: bool


def pair_resolution(run: RunSpec, a_star: float | None = None) -> PairResolution:
    r"""Two points at distance :math:`\Delta` in d = 20: where the median of :math:`w_j` crosses 0.99.

    ``predicted`` is :math:`a_*/(\Delta+a_*(1-\sigma_{\min}))` with ``a_star`` (default: the
    SymPy root :math:`\sqrt{2\ln99}`). ``semi_analytic``: root of the :math:`Z=0` median
    :math:`1/(1+e^{-a^2/2})`; ``sympy``: the lambdified solution; ``monte_carlo``: first
    t on the grid of step ``step`` within ``window`` of the prediction where the median over
    ``draws`` samples reaches 0.99 (NaN if the median is already above 0.99 at the window start:
    the crossing is then not located).
    """
    sz = run.sizes(PAIR_RESOLUTION)
    sym = th.pair_resolution()
    ast = float(sym["a_star"]) if a_star is None else a_star
    t_fn = th.pair_resolution_time_fn()
    z = run.rng(21).standard_normal((sz.draws, 20))
    cases = tuple((smin, delta) for smin in SIGMA_MINS for delta in sz.deltas)
    pred, semi, sym_t, mc = [], [], [], []
    for smin, delta in cases:
        path = CondOTPath(smin)
        t_star = ast / (delta + ast * (1 - smin))

        def median_minus(t: float, delta: float = delta, path: CondOTPath = path) -> float:
            a = t * delta / float(path.sigma(t))
            return 1.0 / (1.0 + np.exp(-(a**2) / 2)) - 0.99

        data = np.zeros((2, 20))
        data[1, 0] = delta
        lo = max(0.0, round(t_star - sz.window, 3))
        crossing = np.nan
        for k, t in enumerate(np.arange(lo, 1.0, sz.step)):
            median = np.median(posterior_weights(path.sample(z, data[0], t), t, data, smin)[:, 0])
            if median >= 0.99:
                crossing = float(t) if k > 0 else np.nan
                break
        pred.append(t_star)
        semi.append(brentq(median_minus, 1e-9, 1 - 1e-9, xtol=1e-16, rtol=1e-15))
        sym_t.append(float(t_fn(delta, smin)))
        mc.append(crossing)
    return PairResolution(
        cases,
        np.array(pred),
        np.array(semi),
        np.array(sym_t),
        np.array(mc),
        float(sym["a_star"]),
        sym["res_t_star"] == 0,
        seeds={"draws": run.seed_for(21)},
        sizes=sz,
        settings={"brentq_xtol": 1e-16, "brentq_rtol": 1e-15},
    )
