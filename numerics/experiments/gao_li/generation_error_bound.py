r"""The Grönwall bound on the generation error of a learned field (claim ``gao-li/generation-error-bound``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.gao_li._osdnet_run import (
    FAST_TRAIN,
    SEED_BOUND,
    SEED_EXCESS,
    SEED_TRAIN,
    SIGMA_MIN,
    SPEC_TRAIN,
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
    generation_error_bound,
)


@dataclass(frozen=True)
class BoundSizes(Sizes):
    train: TrainSizes = SPEC_TRAIN
    starts: int = 500
    ode_steps: int = 2000
    excess_draws: int = 8192


BOUND = Tier(
    "gao-li/generation-error-bound",
    fast=BoundSizes(FAST_TRAIN, starts=100, ode_steps=500),
    spec=BoundSizes(),
    section=spec_section("gao-li/generation-error-bound"),
)


@dataclass(frozen=True)
class CheckpointBounds(Measurement):
    """Per checkpoint (rows) and start (columns): ‖x(1) − x*(1)‖, the pathwise bound b(1) and the log10 of
    the global bound; the excess loss of every checkpoint."""

    steps: np.ndarray
    error: np.ndarray
    bound: np.ndarray
    log10_global: np.ndarray
    excess: ExcessLoss


def checkpoint_bounds(run: RunSpec, rate_shift: float = 0.0) -> CheckpointBounds:
    """Learned flow, exact flow and the Grönwall bound integrated jointly for every checkpoint (seed 28).

    ``rate_shift`` is added to the one-sided rate ℓ (a wrong rate: negative control).
    """
    sz = run.sizes(BOUND)
    cfg = run_config(run, sz.train)

    def compute() -> tuple[np.ndarray, ...]:
        res = trained_run(run, cfg)
        data = cfg.points()
        x0 = seeded_starts(run.seed_for(SEED_BOUND), sz.starts, data.shape[1])
        run.progress(f"integrating learned, exact and bound for {len(res.checkpoints)} checkpoints")
        b = generation_error_bound(trained_checkpoints(res, cfg), x0, data, SIGMA_MIN, sz.ode_steps, rate_shift)
        return np.array(checkpoint_steps(res)), b.error, b.bound, b.log10_global_bound

    params = dict(
        config=cfg, starts=sz.starts, ode_steps=sz.ode_steps, seed=run.seed_for(SEED_BOUND), rate_shift=rate_shift
    )
    steps, error, bound, log10_global = measured(run, "gao-li-osdnet-checkpoint-bounds", params, compute)
    return CheckpointBounds(
        steps,
        error,
        bound,
        log10_global,
        checkpoint_excess(run, cfg, sz.excess_draws),
        seeds={
            "train": run.seed_for(SEED_TRAIN),
            "starts": run.seed_for(SEED_BOUND),
            "excess": run.seed_for(SEED_EXCESS),
        },
        sizes=sz,
        settings={"rate_shift": rate_shift, "integrator": "RK4 in t"},
    )
