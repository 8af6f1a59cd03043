"""``mfm/straighter-flows-consistency``: straightness and few-step Euler consistency of trained flows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from numerics.experiments import RunSpec, Sizes, Tier
from numerics.experiments.mfm.trained_arms import (
    FAST_TRAIN,
    SPEC_TRAIN,
    TRAINING_SECTION,
    ArmPaths,
    TrainSizes,
    arm,
    arm_paths,
    trained_arms,
)


# ----------------------------------------------------------------------------------------------
# mfm/straighter-flows-consistency
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsistencySizes(Sizes):
    train: TrainSizes = SPEC_TRAIN
    starts: int = 2000
    rk4_steps: int = 1000
    nfe: tuple[int, ...] = (1, 2, 4, 8)
    sigma_min_variants: tuple[float, ...] = (1e-4,)


CONSISTENCY = Tier(
    "mfm/straighter-flows-consistency",
    ConsistencySizes(FAST_TRAIN, rk4_steps=200, sigma_min_variants=()),
    ConsistencySizes(),
    TRAINING_SECTION + "; row mfm/straighter-flows-consistency; sigma_min = 1e-4 variant reported (spec §6)",
)


@dataclass(frozen=True)
class PathConsistency:
    """Few-step consistency of every arm from the same noises ``x0`` (seed 54)."""

    nfe: tuple[int, ...]
    x0: np.ndarray
    arms: dict[str, ArmPaths]


def path_consistency(
    run: RunSpec,
    train: TrainSizes,
    arms: Mapping[str, str],
    starts: int,
    rk4_steps: int,
    nfe: tuple[int, ...],
    sigma_min: float = 0.0,
) -> PathConsistency:
    """Straightness and Euler consistency :math:`\\kappa_m` against the RK4 sample, per arm and seed."""
    configs = {lab: arm(run, train, c, sigma_min=sigma_min) for lab, c in arms.items()}
    trained_arms(run, configs)
    seed = run.seed_list(54)
    x0 = np.random.default_rng(seed).standard_normal((starts, 2))
    return PathConsistency(
        tuple(nfe), x0, {lab: arm_paths(run, configs[lab], seed, starts, rk4_steps, tuple(nfe)) for lab in arms}
    )
