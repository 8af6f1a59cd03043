r"""Near t = 1 the field points at the nearest training point (claim ``gao-li/direction-near-one``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.datasets import dataset
from numerics.empirical_field import (
    optimal_velocity,
    posterior_weights,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.gao_li._shared import spec_row


@dataclass(frozen=True)
class DirectionSizes(Sizes):
    points: int = 1000
    min_gap: float = 1e-2


DIRECTION_NEAR_ONE = Tier.same("gao-li/direction-near-one", DirectionSizes(), spec_row("direction-near-one"))


@dataclass(frozen=True)
class DirectionNearOne(Measurement):
    """At time ``t``: points whose largest weight is not on the nearest point, min cosine, max norm-ratio error."""

    argmax_mismatches: int
    min_cosine: float
    max_ratio_error: float
    kept: int


def direction_near_one(run: RunSpec, t: float = 1.0 - 1e-4) -> DirectionNearOne:
    r""":math:`v^*` at ``t`` on ``sparse-d20`` (:math:`x\sim\mathcal N(0,I)`, seed 19; points whose two smallest
    distances differ by less than ``min_gap`` are dropped) against the nearest point :math:`x^{(j)}`."""
    sz = run.sizes(DIRECTION_NEAR_ONE)
    data = dataset("sparse-d20")
    x = run.rng(19).standard_normal((sz.points, 20))
    d = np.linalg.norm(x[:, None, :] - data[None], axis=-1)
    srt = np.sort(d, axis=1)
    keep = (srt[:, 1] - srt[:, 0]) >= sz.min_gap
    x, d = x[keep], d[keep]
    j = d.argmin(axis=1)
    w = posterior_weights(x, t, data)
    v = optimal_velocity(x, t, data)
    target = data[j] - x
    cos = np.sum(v * target, axis=1) / (np.linalg.norm(v, axis=1) * np.linalg.norm(target, axis=1))
    ratio = (1 - t) * np.linalg.norm(v, axis=1) / np.linalg.norm(target, axis=1)
    return DirectionNearOne(
        int(np.sum(w.argmax(axis=1) != j)),
        float(cos.min()),
        float(np.abs(ratio - 1).max()),
        int(keep.sum()),
        seeds={"points": run.seed_for(19)},
        sizes=sz,
        settings={"t": t},
    )
