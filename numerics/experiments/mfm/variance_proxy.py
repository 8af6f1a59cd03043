"""``mfm/variance-proxy-ordering``: the variance proxy of flows trained with each coupling."""

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
    ArmProxy,
    TrainSizes,
    arm,
    arm_prerequisites,
    arm_proxy,
    train_seeds,
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


@dataclass(frozen=True)
class VarianceProxies(Measurement):
    """Variance proxy ``V`` and its SE per seed of every arm, by label; ``eot_variants``: the BatchEOT arm at
    each further ``eot_eps_rel`` of the tier (reported, spec §6)."""

    arms: dict[str, ArmProxy]
    eot_variants: dict[float, ArmProxy]

    @property
    def V(self) -> dict[str, np.ndarray]:
        """Per-seed ``V`` of every arm."""
        return {lab: p.V for lab, p in self.arms.items()}


def _configs(run: RunSpec, train: TrainSizes, arms: Mapping[str, str], eot_eps_rel: float) -> dict[str, Arm]:
    return {lab: arm(run, train, c, eot_eps_rel=eot_eps_rel) for lab, c in arms.items()}


def _variant_eps(sz: VarianceProxySizes, arms: Mapping[str, str]) -> tuple[float, ...]:
    return sz.eot_eps_variants if "batcheot" in arms else ()


def variance_proxy_plan(run: RunSpec, arms: Mapping[str, str]) -> list[Prerequisite]:
    """The arms :func:`variance_proxies` trains, as prerequisites (:func:`arm_prerequisites`)."""
    sz = run.sizes(VARIANCE_PROXY)
    variants = [_configs(run, sz.train, {"batcheot": arms["batcheot"]}, eps) for eps in _variant_eps(sz, arms)]
    return arm_prerequisites(run, [a for c in (_configs(run, sz.train, arms, 0.05), *variants) for a in c.values()])


def _proxies(
    run: RunSpec, train: TrainSizes, arms: Mapping[str, str], v_pairs: int, eot_eps_rel: float
) -> dict[str, ArmProxy]:
    configs = _configs(run, train, arms, eot_eps_rel)
    trained_arms(run, configs)
    return {lab: arm_proxy(run, configs[lab], v_pairs) for lab in arms}


def variance_proxies(run: RunSpec, arms: Mapping[str, str]) -> VarianceProxies:
    """Variance proxy ``V`` of every arm (label -> coupling) and seed on fresh batches of its own coupling
    (seed 99); the ``"batcheot"`` arm also at the tier's ``eot_eps_variants``."""
    sz = run.sizes(VARIANCE_PROXY)
    variants = {
        eps: _proxies(run, sz.train, {"batcheot": arms["batcheot"]}, sz.v_pairs, eps)["batcheot"]
        for eps in _variant_eps(sz, arms)
    }
    return VarianceProxies(
        _proxies(run, sz.train, arms, sz.v_pairs, 0.05),
        variants,
        seeds={"train": train_seeds(run, sz.train), "V": run.seed_for(99)},
        sizes=sz,
        settings={"eot_eps_rel": 0.05},
    )
