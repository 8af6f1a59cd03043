r"""OSDNet samples per training checkpoint (claims ``gao-li/osdnet-off-subspace-decays-in-training`` and ``gao-li/osdnet-generalizes-in-subspace``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.gao_li._osdnet_run import (
    FAST_TRAIN,
    SEED_COPIES,
    SEED_EXCESS,
    SEED_TRAIN,
    SEED_TREND,
    SPEC_TRAIN,
    VARIANTS,
    FieldOfRun,
    LearnedFieldConfig,
    TrainSizes,
    checkpoint_excess,
    checkpoint_steps,
    run_config,
    seeded_starts,
    spec_section,
    trained_checkpoints,
    trained_run,
)
from numerics.learned_field import (
    ExcessLoss,
    generate,
    median_data_gap,
    sample_metrics,
)
from numerics.memorization import memorization_ratio


def checkpoint_samples(
    run: RunSpec, config: LearnedFieldConfig, starts: int, ode_steps: int, field: FieldOfRun = trained_checkpoints
) -> tuple[np.ndarray, np.ndarray]:
    """``(starts (M, d), samples (K, M, d))``: RK4 in t from the same seeded starts (seed 27) for every checkpoint."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        res = trained_run(run, config)
        x0 = seeded_starts(run.seed_for(SEED_TREND), starts, config.points().shape[1])
        run.progress(f"generating {starts} samples at {len(res.checkpoints)} checkpoints")
        return x0, generate(field(res, config), x0, ode_steps)

    params = dict(config=config, starts=starts, ode_steps=ode_steps, seed=run.seed_for(SEED_TREND), field=field)
    return measured(run, "gao-li-osdnet-checkpoint-samples", params, compute)


@dataclass(frozen=True)
class TrendSizes(Sizes):
    train: TrainSizes = SPEC_TRAIN
    starts: int = 1000
    ode_steps: int = 500
    excess_draws: int = 8192
    variants: tuple[tuple[str, str], ...] = VARIANTS


TREND_FAST = TrendSizes(FAST_TRAIN, starts=200, ode_steps=250, variants=())
DECAY = Tier(
    "gao-li/osdnet-off-subspace-decays-in-training",
    fast=TREND_FAST,
    spec=TrendSizes(),
    section=spec_section("gao-li/osdnet-off-subspace-decays-in-training"),
)
GENERALIZES = Tier(
    "gao-li/osdnet-generalizes-in-subspace",
    fast=TREND_FAST,
    spec=TrendSizes(),
    section=spec_section("gao-li/osdnet-generalizes-in-subspace"),
)


@dataclass(frozen=True)
class CheckpointTrend(Measurement):
    """Per-checkpoint sample metrics and excess loss of one run (arrays indexed like ``steps``).

    ``rho`` = mean ‖x⊥(1)‖/‖x⊥(0)‖, ``off_fraction`` = mean ‖x⊥(1)‖/‖x(1)‖, ``nn_distance`` = mean
    nearest-training-point distance, ``distinct_fraction`` = fraction of samples farther than 5% of
    the median data gap from every point, ``coverage`` = fraction of points nearest to some sample
    (:class:`numerics.learned_field.SampleMetrics`); ``copy_fraction`` = the memorization ratio
    (fraction of samples whose nearest / second-nearest training distance is below 1/3,
    :func:`numerics.memorization.memorization_ratio`) with its 95% bootstrap interval ``copy_ci``
    (K, 2; seed ``SEED_COPIES``); ``samples`` (K, M, d) from ``starts`` (M, d).
    """

    steps: np.ndarray
    rho: np.ndarray
    off_fraction: np.ndarray
    nn_distance: np.ndarray
    distinct_fraction: np.ndarray
    coverage: np.ndarray
    excess: ExcessLoss
    median_gap: float
    starts: np.ndarray
    samples: np.ndarray
    train_seconds: float
    device: str
    copy_fraction: np.ndarray
    copy_ci: np.ndarray

    def crossing_step(self, level: float) -> float:
        """First training step at which the mean NN distance falls through ``level`` (log-linear between
        checkpoints; NaN if it never does)."""
        d = self.nn_distance
        below = np.flatnonzero(d < level)
        if below.size == 0:
            return float("nan")
        i = int(below[0])
        if i == 0:
            return float(self.steps[0])
        a, b = np.log(d[i - 1]), np.log(d[i])
        return float(self.steps[i - 1] + (self.steps[i] - self.steps[i - 1]) * (a - np.log(level)) / (a - b))

    def index(self, step: int) -> int:
        """Position of checkpoint ``step``."""
        hits = np.flatnonzero(self.steps == step)
        if hits.size == 0:
            raise ValueError(f"no checkpoint at step {step}; have {self.steps.tolist()}")
        return int(hits[0])


def checkpoint_trend(
    run: RunSpec,
    tier: Tier[TrendSizes] = DECAY,
    field: FieldOfRun = trained_checkpoints,
    variant: tuple[str, str] | None = None,
    **changes: object,
) -> CheckpointTrend:
    """Samples and excess loss at every checkpoint of the shared run (``variant``: one ``(field, value)``
    of :data:`VARIANTS`; ``changes``: other fields of the run)."""
    sz = run.sizes(tier)
    config = run_config(run, sz.train, **dict([variant] if variant else []), **changes)
    x0, samples = checkpoint_samples(run, config, sz.starts, sz.ode_steps, field)
    excess = checkpoint_excess(run, config, sz.excess_draws, field)
    data = config.points()
    metrics = [sample_metrics(x0, x1, data, config.basis_method) for x1 in samples]
    cols = {
        k: np.array([getattr(m, k) for m in metrics])
        for k in ("rho", "off_fraction", "nn_distance", "distinct_fraction", "coverage")
    }
    copies = [memorization_ratio(x1, data, seed=run.seed_for(SEED_COPIES)) for x1 in samples]
    res = trained_run(run, config)
    return CheckpointTrend(
        np.array(checkpoint_steps(res)),
        **cols,
        excess=excess,
        median_gap=median_data_gap(data),
        starts=x0,
        samples=samples,
        train_seconds=res.seconds,
        device=res.device,
        copy_fraction=np.array([c.fraction for c in copies]),
        copy_ci=np.array([c.ci for c in copies]),
        seeds={
            "train": run.seed_for(SEED_TRAIN),
            "starts": run.seed_for(SEED_TREND),
            "excess": run.seed_for(SEED_EXCESS),
            "copies": run.seed_for(SEED_COPIES),
        },
        sizes=sz,
        settings={"config": repr(config), "integrator": "RK4 in t"},
    )
