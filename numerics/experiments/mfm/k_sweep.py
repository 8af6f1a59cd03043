"""``mfm/theorem-4.2-variance-straightness-limit``: BatchOT flows trained in blocks of every ``k``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from numerics.datasets import FlowTarget
from numerics.experiments import Measurement, Prerequisite, RunSpec, Sizes, Tier, measured
from numerics.experiments.mfm.trained_arms import (
    FAST_TRAIN,
    SPEC_TRAIN,
    TRAINING_SECTION,
    Arm,
    TrainSizes,
    arm,
    arm_paths,
    arm_prerequisites,
    arm_proxy,
    train_seeds,
    trained_arms,
    transport_floor,
    w2_reference,
)


# ----------------------------------------------------------------------------------------------
# mfm/theorem-4.2-variance-straightness-limit
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KSweepSizes(Sizes):
    """``cost_seeds``: seeds of the two end arms (k = 1 and the largest k) for the transport-cost ordering
    (:data:`PILOTS`); every other comparison uses the first ``train.seeds``."""

    train: TrainSizes = SPEC_TRAIN
    ks: tuple[int, ...] = (1, 4, 16, 64, 256)
    v_pairs: int = 100_000
    starts: int = 2000
    rk4_steps: int = 1000
    w2_samples: int = 5000
    # no pilot at the spec's sizes yet: the spec tier runs 5 seeds and reports the seeds its effect would need
    cost_seeds: int = 5


K_SWEEP = Tier(
    "mfm/theorem-4.2-variance-straightness-limit",
    KSweepSizes(FAST_TRAIN, (1, 4, 16, 64), v_pairs=20_000, rk4_steps=200, w2_samples=2000, cost_seeds=26),
    KSweepSizes(),
    TRAINING_SECTION + "; row mfm/theorem-4.2-variance-straightness-limit",
)


@dataclass(frozen=True)
class KSweep(Measurement):
    """Per block size ``k`` (rows) and seed (columns, the first ``train.seeds``): variance proxy and its SE,
    straightness, transport cost, KE; the two end arms (k = 1, largest k) over ``cost_seeds`` seeds: C and the
    transport error :math:`W_2^2(\\psi_1\\#q_0,q_1)`, with the two-sample floor of that error."""

    ks: tuple[int, ...]
    V: np.ndarray
    V_se: np.ndarray
    S: np.ndarray
    C: np.ndarray
    KE: np.ndarray
    w2_reference: float
    C_ends: np.ndarray
    W2_ends: np.ndarray
    transport_floor: float


def _end_arms(sz: KSweepSizes) -> tuple[tuple[int, int], TrainSizes]:
    """The two end block sizes and their training sizes (``cost_seeds`` seeds, at least ``train.seeds``)."""
    return (sz.ks[0], sz.ks[-1]), dataclasses.replace(sz.train, seeds=max(sz.cost_seeds, sz.train.seeds))


def _configs(run: RunSpec, sz: KSweepSizes, coupling: str) -> dict[int, Arm]:
    ends, wide = _end_arms(sz)
    return {k: arm(run, wide if k in ends else sz.train, coupling, k) for k in sz.ks}


def k_sweep_plan(run: RunSpec, coupling: str = "batchot") -> list[Prerequisite]:
    """The arms :func:`k_sweep` trains, as prerequisites (:func:`arm_prerequisites`)."""
    return arm_prerequisites(run, _configs(run, run.sizes(K_SWEEP), coupling).values())


def k_sweep(run: RunSpec, coupling: str = "batchot") -> KSweep:
    """Models trained with ``coupling`` in blocks of ``k`` for every ``k`` of the tier; ``V`` (seed 99), path metrics (starts seed 52)."""
    sz = run.sizes(K_SWEEP)
    ends, wide = _end_arms(sz)
    arms = _configs(run, sz, coupling)
    trained_arms(run, arms)
    run.progress("variance proxy and path metrics per k and seed")
    n = sz.train.seeds
    proxies = [arm_proxy(run, arms[k][:n], sz.v_pairs) for k in sz.ks]
    seed = run.seed_list(52)
    paths = {k: arm_paths(run, arms[k], seed, sz.starts, sz.rk4_steps) for k in sz.ks}
    w2 = measured(
        run,
        "mfm-w2-reference",
        {"samples": sz.w2_samples, "seed": seed},
        lambda: w2_reference(FlowTarget(), sz.w2_samples, seed),
    )
    floor = measured(
        run, "mfm-transport-floor", {"target": "8gaussians", "seed": seed}, lambda: transport_floor(FlowTarget(), seed)
    )
    first = [paths[k].first(n) for k in sz.ks]
    return KSweep(
        sz.ks,
        np.array([p.V for p in proxies]),
        np.array([p.se for p in proxies]),
        *(np.array([getattr(q, key) for q in first]) for key in ("S", "C", "KE")),
        w2,
        np.array([paths[k].C[: sz.cost_seeds] for k in ends]),
        np.array([paths[k].W2_gen[: sz.cost_seeds] for k in ends]),
        floor,
        seeds={
            "train": train_seeds(run, sz.train),
            "cost": train_seeds(run, wide),
            "V": run.seed_for(99),
            "starts": run.seed_for(52),
        },
        sizes=sz,
        settings={"reference": f"RK4 {sz.rk4_steps} steps", "W2 reference": "POT emd2 (upward biased)"},
    )
