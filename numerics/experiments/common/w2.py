"""Measurements of ``common/gaussian-w2-closed-form`` and ``common/gaussian-w2-empirical-1d``: the Bures–Wasserstein closed form against POT, SymPy and sorted matchings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ot

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.common._shared import SECTION, GaussianPairFn, random_pairs
from numerics.gaussians import expected_sorted_matching_cost, sorted_matching_cost
from theory.gaussians import gaussian_w2_squared_diagonal


@dataclass(frozen=True)
class W2Sizes(Sizes):
    dims: tuple[int, ...] = (1, 2, 3, 5, 8, 16, 1, 2, 3, 5, 8, 16)
    diagonal_dims: tuple[int, ...] = (1, 4, 9)


W2_CLOSED_FORM = Tier.same("common/gaussian-w2-closed-form", W2Sizes(), SECTION)


@dataclass(frozen=True)
class W2ClosedForm(Measurement):
    """Closed form vs POT on random pairs, and the general form vs the SymPy diagonal form."""

    ours: np.ndarray
    pot: np.ndarray
    diagonal_general: np.ndarray
    diagonal_sympy: np.ndarray


def w2_closed_form(run: RunSpec, w2: GaussianPairFn) -> W2ClosedForm:
    sz = run.sizes(W2_CLOSED_FORM)
    rng = run.rng(100)
    pairs = random_pairs(rng, sz.dims, cond=100.0)
    ours = np.array([w2(*p) for p in pairs])
    pot = np.array([ot.gaussian.bures_wasserstein_distance(m0, m1, c0, c1) ** 2 for m0, c0, m1, c1 in pairs])
    diag = [
        (rng.normal(size=d), rng.uniform(0.1, 4.0, d), rng.normal(size=d), rng.uniform(0.1, 4.0, d))
        for d in sz.diagonal_dims
    ]
    sym = np.array([gaussian_w2_squared_diagonal(*p) for p in diag])
    num = np.array([w2(m0, np.diag(a), m1, np.diag(b)) for m0, a, m1, b in diag])
    return W2ClosedForm(ours, pot, num, sym, seeds={"pairs": run.seed_for(100)}, sizes=sz)


@dataclass(frozen=True)
class W2Empirical1dSizes(Sizes):
    n: int = 200
    replicates: int = 2000


W2_EMPIRICAL_1D = Tier.same("common/gaussian-w2-empirical-1d", W2Empirical1dSizes(), SECTION)
W2_1D_CASES = ((0.0, 1.0, 2.0, 0.5), (1.0, 2.0, -0.5, 0.7), (0.0, 1.0, 0.0, 3.0))


@dataclass(frozen=True)
class W2Empirical1d(Measurement):
    """Mean sorted-matching cost per case, its SE, and the closed form plus the exact finite-n bias."""

    mean_cost: np.ndarray
    se: np.ndarray
    expected: np.ndarray

    @property
    def z(self) -> np.ndarray:
        return np.abs(self.mean_cost - self.expected) / self.se


def w2_empirical_1d(run: RunSpec, w2: GaussianPairFn) -> W2Empirical1d:
    sz = run.sizes(W2_EMPIRICAL_1D)
    rng = run.rng(101)
    means, ses, expected = [], [], []
    for m0, s0, m1, s1 in W2_1D_CASES:
        costs = sorted_matching_cost(
            rng.normal(m0, s0, (sz.replicates, sz.n)), rng.normal(m1, s1, (sz.replicates, sz.n))
        )
        # E[cost] = W2^2 + finite-sample bias 2 s0 s1 (1 - mean mu_{i:n}^2); the bias is exact,
        # the W2^2 part comes from the closed form under test.
        bias = expected_sorted_matching_cost(m0, s0, m1, s1, sz.n) - ((m0 - m1) ** 2 + (s0 - s1) ** 2)
        expected.append(w2([m0], [[s0**2]], [m1], [[s1**2]]) + bias)
        means.append(costs.mean())
        ses.append(costs.std(ddof=1) / np.sqrt(sz.replicates))
    return W2Empirical1d(
        np.array(means), np.array(ses), np.array(expected), seeds={"samples": run.seed_for(101)}, sizes=sz
    )
