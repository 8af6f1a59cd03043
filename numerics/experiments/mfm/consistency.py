"""``mfm/straighter-flows-consistency``: straightness and few-step Euler consistency of trained flows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm.trained_arms import (
    FAST_TRAIN,
    SPEC_TRAIN,
    TRAINING_SECTION,
    ArmPaths,
    TrainSizes,
    arm,
    arm_paths,
    train_seeds,
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
class PathConsistency(Measurement):
    """Few-step consistency of every arm from the same noises ``x0`` (seed 54); ``sigma_min_variants``: the same
    arms trained with each further :math:`\\sigma_{\\min}` of the tier (reported, spec §6)."""

    nfe: tuple[int, ...]
    x0: np.ndarray
    arms: dict[str, ArmPaths]
    sigma_min_variants: dict[float, dict[str, ArmPaths]]


def _arm_paths(
    run: RunSpec, sz: ConsistencySizes, arms: Mapping[str, str], sigma_min: float, seed: list[int]
) -> dict[str, ArmPaths]:
    configs = {lab: arm(run, sz.train, c, sigma_min=sigma_min) for lab, c in arms.items()}
    trained_arms(run, configs)
    return {lab: arm_paths(run, configs[lab], seed, sz.starts, sz.rk4_steps, tuple(sz.nfe)) for lab in arms}


def path_consistency(run: RunSpec, arms: Mapping[str, str]) -> PathConsistency:
    """Straightness and Euler consistency :math:`\\kappa_m` against the RK4 sample, per arm (label -> coupling)
    and seed, at the tier's sizes, and at each of its ``sigma_min_variants``."""
    sz = run.sizes(CONSISTENCY)
    seed = run.seed_list(54)
    x0 = np.random.default_rng(seed).standard_normal((sz.starts, 2))
    return PathConsistency(
        tuple(sz.nfe),
        x0,
        _arm_paths(run, sz, arms, 0.0, seed),
        {sm: _arm_paths(run, sz, arms, sm, seed) for sm in sz.sigma_min_variants},
        seeds={"train": train_seeds(run, sz.train), "noise": run.seed_for(54)},
        sizes=sz,
        settings={"reference": f"RK4 {sz.rk4_steps} steps", "few-step sampler": "Euler"},
    )
