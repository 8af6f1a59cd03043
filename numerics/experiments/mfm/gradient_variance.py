"""``mfm/gradient-variance-reduction``: tr Cov of the minibatch gradient along training, CondOT vs BatchOT."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from numerics.experiments import RunSpec, Sizes, Tier
from numerics.experiments.mfm.trained_arms import (
    FAST_TRAIN,
    SPEC_TRAIN,
    TRAINING_SECTION,
    TrainSizes,
    arm,
    arm_gradients,
    nearest_checkpoint,
    trained_arms,
)


# ----------------------------------------------------------------------------------------------
# mfm/gradient-variance-reduction
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradientVarianceSizes(Sizes):
    train: TrainSizes = SPEC_TRAIN
    grad_batches: int = 100
    fractions: tuple[float, ...] = (0.1, 0.5, 1.0)


GRADIENT_VARIANCE = Tier(
    "mfm/gradient-variance-reduction",
    GradientVarianceSizes(FAST_TRAIN),
    GradientVarianceSizes(),
    TRAINING_SECTION + "; row mfm/gradient-variance-reduction (steps 1000, 5000, 10000 of 10000)",
)


@dataclass(frozen=True)
class GradientVariances:
    """tr Cov of the minibatch gradient per arm, as an array (training steps x seeds)."""

    steps: tuple[int, ...]
    trace: dict[str, np.ndarray]


def gradient_variances(
    run: RunSpec, train: TrainSizes, arms: Mapping[str, str], grad_batches: int, fractions: tuple[float, ...]
) -> GradientVariances:
    """tr Cov of the minibatch gradient at the checkpoints nearest ``fractions`` of training, per arm and seed."""
    configs = {lab: arm(run, train, c) for lab, c in arms.items()}
    res = trained_arms(run, configs)
    have = sorted(res[next(iter(res))][0].checkpoints)
    steps = tuple(nearest_checkpoint(have, round(f * train.steps)) for f in fractions)
    return GradientVariances(steps, {lab: arm_gradients(run, configs[lab], steps, grad_batches) for lab in arms})
