r"""The optimal field of a general Gaussian path as a softmax (claim ``gao-li/optimal-velocity-gaussian-path``)."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.gao_li._shared import TINY_SYMBOLIC, is_zero, spec_row
from theory import flow_matching as th


@dataclass(frozen=True)
class GaussianPathSizes(Sizes):
    points: int = 5
    digits: int = 30


GAUSSIAN_PATH = Tier.same(
    "gao-li/optimal-velocity-gaussian-path", GaussianPathSizes(), spec_row("optimal-velocity-gaussian-path")
)


@dataclass(frozen=True)
class GaussianPathPosterior(Measurement):
    """Symbolic residuals and the 30-digit gap between the posterior and the softmax form under test."""

    general_residuals: list[str]
    general_zero: bool
    ot_residuals_zero: bool
    max_gap: float
    gap_without_log_term: float


def gaussian_path_posterior(run: RunSpec, log_term: bool = True) -> GaussianPathPosterior:
    r"""Bayes posterior of a general Gaussian path vs the softmax form, on ``tiny`` (SymPy and 30 digits).

    Path :math:`\sigma_t(x_1)=1-(1-s\|x_1\|^2)t`. ``log_term`` selects the softmax form under
    test: with :math:`-d\ln\sigma_t(x^{(i)})` (the derived one) or without it. The unsimplified
    difference is evaluated at random rational points (seed 9).
    """
    sz = run.sizes(GAUSSIAN_PATH)
    r = th.gaussian_path_posterior(TINY_SYMBOLIC)
    raw = r["general_minus_with_log"] if log_term else r["general_minus_no_log"]
    ys, s = r["symbols"], r["s"]
    rng = run.rng(9)
    worst, subs = 0.0, {}
    for _ in range(sz.points):
        y0, y1 = (sp.Rational(int(v), 100) for v in rng.integers(-200, 200, 2))
        tv, sv = sp.Rational(int(rng.integers(5, 95)), 100), sp.Rational(int(rng.integers(1, 60)), 100)
        subs = {ys[0]: y0, ys[1]: y1, th.t: tv, s: sv}
        worst = max(worst, max(float(abs(sp.N(e.subs(subs), sz.digits))) for e in raw))
    gap = max(float(abs(sp.N(e.subs(subs), sz.digits))) for e in r["general_minus_no_log"])
    general = r["res_general"]
    return GaussianPathPosterior(
        [str(e)[:80] for e in general],
        is_zero(general),
        is_zero(r["res_ot"]),
        worst,
        gap,
        seeds={"rational points": run.seed_for(9)},
        sizes=sz,
    )
