"""Measurement of ``digits/exact-flow-memorizes``: the exact flow of N digits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from numerics.empirical_field import integrate_flow
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.digits._shared import SECTION, SEED_BOOT, SEED_EXACT, copy_ratio, training_subset
from numerics.memorization import COPY_RATIO, MemorizationRatio
from numerics.meters import nearest_distances


@dataclass(frozen=True)
class ExactFlowSizes(Sizes):
    n: int = 1500
    samples: int = 15_000


EXACT_FLOW = Tier(
    "digits/exact-flow-memorizes", fast=ExactFlowSizes(n=100, samples=1000), spec=ExactFlowSizes(), section=SECTION
)


def exact_flow_samples(run: RunSpec, y: np.ndarray, samples: int, t_end: float = 1.0) -> np.ndarray:
    """End points of the exact flow of the points ``y`` (OT path, :math:`\\sigma_{\\min}=0`) from seeded noise (memoised)."""

    def compute() -> np.ndarray:
        x0 = run.rng(SEED_EXACT).standard_normal((samples, y.shape[1]))
        return integrate_flow(x0, y, t_end=t_end)

    key = {"points": y, "samples": samples, "t_end": t_end, "seed": run.seed_for(SEED_EXACT)}
    return measured(run, "digits/exact-flow-samples", key, compute)


@dataclass(frozen=True)
class ExactFlowMemorization(Measurement):
    """Memorization ratio of the exact flow's samples and the count of samples per basin (nearest training point).

    ``chi2``, ``p_value``: Pearson's test of the counts against equal masses :math:`1/N` over the
    ``n`` distinct training points; ``max_nearest``: the largest sample-to-nearest-point distance.
    """

    n: int
    ratio: MemorizationRatio
    counts: np.ndarray
    chi2: float
    p_value: float
    max_nearest: float
    flow_points: int


def exact_flow_memorization(run: RunSpec, repeats: int = 1, t_end: float = 1.0) -> ExactFlowMemorization:
    """The exact flow of ``n`` digits, metered against the distinct points.

    Injection points: ``repeats`` > 1 hands the flow the first half of the points that many times
    (duplicates not removed from the flow's data); ``t_end`` < 1 stops the flow early.
    """
    sz = run.sizes(EXACT_FLOW)
    y = training_subset(sz.n)
    flow_points = np.concatenate([np.repeat(y[: sz.n // 2], repeats, axis=0), y[sz.n // 2 :]])
    x = exact_flow_samples(run, flow_points, sz.samples, t_end)
    nn = nearest_distances(x, y)
    counts = np.bincount(nn.index, minlength=sz.n)
    chi = stats.chisquare(counts)
    ratio = copy_ratio(x, y, COPY_RATIO, run)
    return ExactFlowMemorization(
        sz.n,
        ratio,
        counts,
        float(chi.statistic),
        float(chi.pvalue),
        float(nn.first.max()),
        flow_points.shape[0],
        seeds={"noise": run.seed_for(SEED_EXACT), "bootstrap": run.seed_for(SEED_BOOT)},
        sizes=sz,
        settings={"t_end": t_end, "repeats": repeats, "copy_ratio": COPY_RATIO},
    )
