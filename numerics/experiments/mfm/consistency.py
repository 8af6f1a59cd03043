"""``mfm/straighter-flows-consistency``: straightness and few-step Euler consistency of trained flows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from numerics.experiments import Measurement, Prerequisite, RunSpec, Sizes, Tier
from numerics.experiments.mfm.trained_arms import (
    FAST_TRAIN,
    SPEC_TRAIN,
    TRAINING_SECTION,
    Arm,
    ArmPaths,
    TrainSizes,
    arm,
    arm_paths,
    arm_prerequisites,
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


def _configs(run: RunSpec, sz: ConsistencySizes, arms: Mapping[str, str], sigma_min: float) -> dict[str, Arm]:
    return {lab: arm(run, sz.train, c, sigma_min=sigma_min) for lab, c in arms.items()}


def consistency_plan(run: RunSpec, arms: Mapping[str, str]) -> list[Prerequisite]:
    """The arms :func:`path_consistency` trains, as prerequisites (:func:`arm_prerequisites`)."""
    sz = run.sizes(CONSISTENCY)
    groups = [_configs(run, sz, arms, sm) for sm in (0.0, *sz.sigma_min_variants)]
    return arm_prerequisites(run, [a for g in groups for a in g.values()])


def _arm_paths(
    run: RunSpec, sz: ConsistencySizes, arms: Mapping[str, str], sigma_min: float, seed: list[int]
) -> dict[str, ArmPaths]:
    configs = _configs(run, sz, arms, sigma_min)
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
