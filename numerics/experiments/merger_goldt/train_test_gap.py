"""Measurement of ``merger-goldt/train-test-gap``: test and train errors of one training set (spec §1.4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.merger_goldt._shared import WeightFn, empirical_modes, optimal_errors, row


@dataclass(frozen=True)
class GapSizes(Sizes):
    d: int = 400
    k: float = 1.5
    ns: tuple[int, ...] = (200, 1600)
    steps: tuple[int, ...] = (1, 10)
    ridges: tuple[float, ...] = (0.0, 0.1)


TRAIN_TEST_GAP = Tier.same("merger-goldt/train-test-gap", GapSizes(), row("train-test-gap", "§1.4"))


@dataclass(frozen=True)
class TrainTestGap(Measurement):
    """Test and train errors of one training set (seed 1, known mean), arrays ``(N, ridge, t)``."""

    ns: tuple[int, ...]
    ridges: tuple[float, ...]
    steps: tuple[int, ...]
    test: np.ndarray
    train: np.ndarray

    def ratio(self, n: int, ridge: float, t: int) -> float:
        i, j, k = self.ns.index(n), self.ridges.index(ridge), self.steps.index(t)
        return float(self.test[i, j, k] / self.train[i, j, k])


def train_test_gap(run: RunSpec, weights: WeightFn = ld.mode_weights) -> TrainTestGap:
    """:math:`E^{\\rm test}` and :math:`E^{\\rm train}` of the ridge denoiser with per-mode weights ``weights``."""
    sz = run.sizes(TRAIN_TEST_GAP)
    modes = empirical_modes(run, sz.d, sz.ns, (sz.k,), [run.seed_for(1)], mean="known")
    errs = [optimal_errors(m, sz.steps, sz.ridges, weights) for m in modes]
    test = np.array([e[0][0, 0] for e in errs])
    train = np.array([e[1][0, 0] for e in errs])
    return TrainTestGap(sz.ns, sz.ridges, sz.steps, test, train, seeds={"training set": run.seed_for(1)}, sizes=sz)
