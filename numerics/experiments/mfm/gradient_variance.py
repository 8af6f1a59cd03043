"""``mfm/gradient-variance-reduction``: tr Cov of the minibatch gradient along training, CondOT vs BatchOT."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from numerics.experiments import Measurement, Prerequisite, RunSpec, Sizes, Tier
from numerics.experiments.mfm.trained_arms import (
    FAST_TRAIN,
    SPEC_TRAIN,
    TRAINING_SECTION,
    TrainSizes,
    arm,
    arm_gradients,
    arm_prerequisites,
    nearest_checkpoint,
    train_seeds,
    trained_arms,
)

EVERY_TENTH = tuple(i / 10 for i in range(11))


@dataclass(frozen=True)
class GradientVarianceSizes(Sizes):
    """``fractions``: the training fractions the claim judges (steps past half-way) or reports (earlier);
    ``shown_fractions``: further checkpoints measured for the figure's curve (reported, never judged)."""

    train: TrainSizes = SPEC_TRAIN
    grad_batches: int = 100
    fractions: tuple[float, ...] = (0.1, 0.5, 1.0)
    shown_fractions: tuple[float, ...] = EVERY_TENTH


GRADIENT_VARIANCE = Tier(
    "mfm/gradient-variance-reduction",
    GradientVarianceSizes(FAST_TRAIN),
    GradientVarianceSizes(),
    TRAINING_SECTION + "; row mfm/gradient-variance-reduction (steps 1000, 5000, 10000 of 10000)",
)


@dataclass(frozen=True)
class GradientVariances(Measurement):
    """tr Cov of the minibatch gradient per arm, as an array (measured checkpoints ``steps`` x seeds);
    ``judged`` are the checkpoints nearest the claim's ``fractions``."""

    steps: tuple[int, ...]
    judged: tuple[int, ...]
    trace: dict[str, np.ndarray]

    def at(self, arm_label: str, step: int) -> np.ndarray:
        """The per-seed values of one arm at one measured checkpoint."""
        return self.trace[arm_label][self.steps.index(step)]


def gradient_variance_plan(run: RunSpec, arms: Mapping[str, str]) -> list[Prerequisite]:
    """The arms :func:`gradient_variances` trains, as prerequisites (:func:`arm_prerequisites`)."""
    sz = run.sizes(GRADIENT_VARIANCE)
    return arm_prerequisites(run, [arm(run, sz.train, c) for c in arms.values()])


def gradient_variances(run: RunSpec, arms: Mapping[str, str]) -> GradientVariances:
    """tr Cov of the minibatch gradient (seed 53) at the checkpoints nearest the tier's ``fractions`` and
    ``shown_fractions`` of training, per arm and seed."""
    sz = run.sizes(GRADIENT_VARIANCE)
    configs = {lab: arm(run, sz.train, c) for lab, c in arms.items()}
    res = trained_arms(run, configs)
    have = sorted(res[next(iter(res))][0].checkpoints)
    judged = tuple(nearest_checkpoint(have, round(f * sz.train.steps)) for f in sz.fractions)
    shown = (nearest_checkpoint(have, round(f * sz.train.steps)) for f in sz.shown_fractions)
    steps = tuple(sorted({*judged, *shown}))
    return GradientVariances(
        steps,
        judged,
        {lab: arm_gradients(run, configs[lab], steps, sz.grad_batches) for lab in arms},
        seeds={"train": train_seeds(run, sz.train), "grad": run.seed_for(53)},
        sizes=sz,
        settings={"gradient": "full-minibatch gradient, fresh minibatches of each run's own coupling"},
    )
