"""``mfm/variance-proxy-ordering``: the variance proxy of flows trained with each coupling."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from numerics.experiments import RunSpec, Sizes, Tier
from numerics.experiments.mfm.trained_arms import (
    FAST_TRAIN,
    SPEC_TRAIN,
    TRAINING_SECTION,
    ArmProxy,
    TrainSizes,
    arm,
    arm_proxy,
    trained_arms,
)


# ----------------------------------------------------------------------------------------------
# mfm/variance-proxy-ordering
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VarianceProxySizes(Sizes):
    train: TrainSizes = SPEC_TRAIN
    v_pairs: int = 100_000
    eot_eps_variants: tuple[float, ...] = (0.01, 0.2)


VARIANCE_PROXY = Tier(
    "mfm/variance-proxy-ordering",
    VarianceProxySizes(FAST_TRAIN, v_pairs=20_000, eot_eps_variants=()),
    VarianceProxySizes(),
    TRAINING_SECTION + "; row mfm/variance-proxy-ordering; eot_eps_rel variants reported (spec §6)",
)


def variance_proxies(
    run: RunSpec, train: TrainSizes, arms: Mapping[str, str], v_pairs: int, eot_eps_rel: float = 0.05
) -> dict[str, ArmProxy]:
    """Variance proxy ``V`` of every arm and seed on fresh batches of its own coupling (seed 99)."""
    configs = {lab: arm(run, train, c, eot_eps_rel=eot_eps_rel) for lab, c in arms.items()}
    trained_arms(run, configs)
    return {lab: arm_proxy(run, configs[lab], v_pairs) for lab in arms}
