"""What the ``digits/`` measurements share: the section, the seeds and streams, the nested training sets."""

from __future__ import annotations

import functools

import numpy as np

from numerics.digits import digits
from numerics.experiments import RunSpec
from numerics.memorization import MemorizationRatio, memorization_ratio

SECTION = "extension beyond the three papers (issue 24): no spec section; sizes of this project"
SUBSET_SEED = 24
# Separate seeded streams of one training run: initialisation, data indices, noise; the loop's
# own generator draws the times. Sampling noise of the trained models: its own stream.
STREAM_INIT, STREAM_DATA, STREAM_NOISE, STREAM_TIME = 1, 2, 3, 4
SEED_TRAIN, SEED_SAMPLES, SEED_EXACT, SEED_BOOT, SEED_KL, SEED_LINEAR = 0, 11, 12, 13, 14, 15


def training_subset(n: int) -> np.ndarray:
    """The first ``n`` of the 1500 training digits in a fixed seeded order (nested in ``n``)."""
    train = digits().train
    if not 2 <= n <= train.shape[0]:
        raise ValueError(f"n must lie in [2, {train.shape[0]}], got {n}")
    return train[_subset_order()[:n]]


@functools.cache
def _subset_order() -> np.ndarray:
    return np.random.default_rng(SUBSET_SEED).permutation(digits().train.shape[0])


def copy_ratio(x: np.ndarray, y: np.ndarray, threshold: float, run: RunSpec) -> MemorizationRatio:
    """The memorization ratio of ``x`` against ``y`` (copy criterion ``threshold``, bootstrap from the run's seed)."""
    return memorization_ratio(x, y, threshold=threshold, seed=run.seed_for(SEED_BOOT))
