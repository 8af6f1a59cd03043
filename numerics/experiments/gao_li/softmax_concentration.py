r"""Concentration of the posterior weight of the conditioning point (claim ``gao-li/softmax-concentration``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from numerics.datasets import dataset
from numerics.empirical_field import (
    posterior_weights,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.gao_li._shared import SIGMA_MINS, spec_row
from numerics.paths import CondOTPath
from theory import flow_matching as th


@dataclass(frozen=True)
class ConcentrationSizes(Sizes):
    draws: int = 20_000
    grid_points: int = 50
    eps: tuple[float, ...] = (0.01, 0.1)
    datasets: tuple[str, ...] = ("sparse-d20", "clustered")


SOFTMAX_CONCENTRATION = Tier.same(
    "gao-li/softmax-concentration", ConcentrationSizes(), spec_row("softmax-concentration")
)
MIN_EVENTS = 400
"""Monte Carlo events (and non-events) a grid point needs to enter a two-sided comparison: the
relative standard error of the estimated probability is then at most 5%."""


def concentration_bound(a: np.ndarray, eps: float, n: int) -> np.ndarray:
    r"""Union bound :math:`\sum_{i\ne j}\Phi\big(-\frac{a_{ij}}2+\frac1{a_{ij}}\log\frac{(1-\varepsilon)(N-1)}\varepsilon\big)` (spec §2).

    Sums over the last axis of ``a`` (one entry per competitor :math:`i\ne j`).
    """
    c = np.log((1 - eps) * (n - 1) / eps)
    return special.ndtr(-a / 2 + c / a).sum(axis=-1)


@dataclass(frozen=True)
class ConcentrationCase:
    r"""One (data set, sigma_min, eps) on the t grid.

    ``p_hat``: MC :math:`\Pr[w_j<1-\varepsilon]`; ``bound``: the bound under test;
    ``term_p_hat[k, i]``: MC :math:`\Pr[w_i/w_j>\varepsilon/((1-\varepsilon)(N-1))]`, the event
    of union-bound term ``i``; ``term_bound[k, i]``: that term of the bound under test.
    """

    dataset: str
    sigma_min: float
    eps: float
    n_points: int
    p_hat: np.ndarray
    bound: np.ndarray
    term_p_hat: np.ndarray
    term_bound: np.ndarray


@dataclass(frozen=True)
class SoftmaxConcentration(Measurement):
    """The cases on the t grid and the KS p-values of the log-ratio law at t = 0.5, per data set."""

    grid: np.ndarray
    draws: int
    cases: tuple[ConcentrationCase, ...]
    ks_pvalues: dict[str, float]
    log_ratio_residual: str

    def se(self, p: np.ndarray) -> np.ndarray:
        return np.sqrt(p * (1 - p) / (self.draws - 1))

    def window(self, p: np.ndarray) -> np.ndarray:
        """Grid entries with at least :data:`MIN_EVENTS` events and non-events."""
        return (p * self.draws >= MIN_EVENTS) & ((1 - p) * self.draws >= MIN_EVENTS)

    def excess(self, case: ConcentrationCase) -> float:
        """:math:`\\max_t[\\hat P-\\text{bound}-3\\,\\mathrm{SE}]` (spec criterion: at most 0)."""
        return float(np.max(case.p_hat - case.bound - 3 * self.se(case.p_hat)))

    def term_z(self) -> np.ndarray:
        """:math:`|\\hat P_i-\\text{term}_i|/\\mathrm{SE}` over every term and grid point in the window."""
        z = [
            (np.abs(c.term_p_hat - c.term_bound) / np.where(self.window(c.term_p_hat), self.se(c.term_p_hat), np.inf))[
                self.window(c.term_p_hat)
            ]
            for c in self.cases
        ]
        return np.concatenate(z)

    def tightness(self, case: ConcentrationCase) -> np.ndarray:
        r""":math:`(\text{bound}/\hat P)/\sqrt{N-1}` where the bound is informative (:math:`\le1`) and :math:`\hat P` is in the window."""
        keep = self.window(case.p_hat) & (case.bound <= 1.0)
        return case.bound[keep] / case.p_hat[keep] / np.sqrt(case.n_points - 1)


def softmax_concentration(
    run: RunSpec, bound: Callable[[np.ndarray, float, int], np.ndarray] = concentration_bound
) -> SoftmaxConcentration:
    r"""Monte Carlo of the weight of the conditioning point :math:`j=0` along its conditional path (seed 20).

    Draws :math:`x=tx^{(j)}+\sigma_tz` with one set of ``draws`` :math:`z` per data set (common
    random numbers over the t grid), weights from :func:`~numerics.empirical_field.posterior_weights`.
    """
    sz = run.sizes(SOFTMAX_CONCENTRATION)

    def compute() -> SoftmaxConcentration:
        rng = run.rng(20)
        grid = np.linspace(0.02, 0.99, sz.grid_points)
        j, cases, ks = 0, [], {}
        for name in sz.datasets:
            data = dataset(name)
            n = data.shape[0]
            others = np.arange(n) != j
            gaps = np.linalg.norm(data - data[j], axis=1)[others]
            z = rng.standard_normal((sz.draws, data.shape[1]))
            for smin in SIGMA_MINS:
                path = CondOTPath(smin)
                p = np.empty((len(sz.eps), grid.size))
                b = np.empty_like(p)
                tp = np.empty((len(sz.eps), grid.size, n - 1))
                tb = np.empty_like(tp)
                for k, t in enumerate(grid):
                    w = posterior_weights(path.sample(z, data[j], t), t, data, smin)
                    log_ratio = np.log(w[:, others]) - np.log(w[:, [j]])
                    a = t * gaps / float(path.sigma(t))
                    for e, eps in enumerate(sz.eps):
                        p[e, k] = np.mean(w[:, j] < 1 - eps)
                        b[e, k] = float(bound(a, eps, n))
                        tp[e, k] = np.mean(log_ratio > np.log(eps / ((1 - eps) * (n - 1))), axis=0)
                        tb[e, k] = bound(a[:, None], eps, n)
                cases += [
                    ConcentrationCase(name, smin, eps, n, p[e], b[e], tp[e], tb[e]) for e, eps in enumerate(sz.eps)
                ]
            # Exact law of the log-ratio at t = 0.5 for the pair (i, j) = (1, 0), from squared distances.
            t, i = 0.5, 1
            sig = float(CondOTPath(0.0).sigma(t))
            x = t * data[j] + sig * rng.standard_normal((sz.draws, data.shape[1]))
            lr = -(np.sum((x - t * data[i]) ** 2, 1) - np.sum((x - t * data[j]) ** 2, 1)) / (2 * sig**2)
            a = t * np.linalg.norm(data[i] - data[j]) / sig
            ks[name] = float(stats.kstest((lr + a**2 / 2) / (-a), "norm").pvalue)
        return SoftmaxConcentration(
            grid,
            sz.draws,
            tuple(cases),
            ks,
            str(th.weight_log_ratio()["residual"]),
            seeds={"draws": run.seed_for(20)},
            sizes=sz,
        )

    return measured(
        run, "gao-li/softmax-concentration", {"sizes": sz, "seed": run.seed_for(20), "bound": bound}, compute
    )
