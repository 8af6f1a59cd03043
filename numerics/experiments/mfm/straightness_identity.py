"""``mfm/straightness-identity``: Eq. 18 and Eq. 19 forms of the straightness on exact and trained fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    SANDWICH_FAMILY,
)
from numerics.experiments.mfm.trained_arms import (
    TrainSizes,
    arm,
    train_seeds,
)
from numerics.flow_metrics import flow_metrics
from numerics.gaussian_family import GaussianCoupling
from numerics.training import (
    train_many,
)

# ----------------------------------------------------------------------------------------------
# mfm/straightness-identity
# ----------------------------------------------------------------------------------------------
ONE_SEED = TrainSizes(seeds=1)


@dataclass(frozen=True)
class IdentitySizes(Sizes):
    starts: int = 2000
    train: TrainSizes = ONE_SEED


STRAIGHTNESS_IDENTITY = Tier(
    "mfm/straightness-identity",
    IdentitySizes(train=TrainSizes(width=64, steps=1500, batch=64, seeds=1)),
    IdentitySizes(),
    "spec mfm.md §3, row mfm/straightness-identity (M = 2000 starts, RK4 1000 steps; trained models: training defaults)",
)


@dataclass(frozen=True)
class StraightnessIdentity(Measurement):
    """Per field: S (Eq. 18, Simpson), KE (RK4-carried), C and |S_18 - (KE - C)|."""

    names: tuple[str, ...]
    S: np.ndarray
    KE: np.ndarray
    C: np.ndarray
    gap: np.ndarray


def straightness_identity(run: RunSpec, rk4_steps: int = 1000) -> StraightnessIdentity:
    """Eq. 18 and Eq. 19 forms of the straightness on RK4 paths from ``starts`` noises (seed 50).

    Fields: the exact affine fields of three Gaussian-family members, and the trained CondOT and
    BatchOT models of seed 0 (the models every training claim uses).
    """
    sz = run.sizes(STRAIGHTNESS_IDENTITY)
    x0 = run.rng(50).standard_normal((sz.starts, 2))
    fields: list[tuple[str, Any]] = [
        (f"exact rho={r}, phi={p:.3f}", GaussianCoupling(rho=r, phi=p).velocity) for r, p in SANDWICH_FAMILY[:3]
    ]
    configs = [arm(run, sz.train, c)[0] for c in ("condot", "batchot")]
    results = train_many(configs, run.executor, run.cache)
    fields += [(f"trained {c.coupling}", r.model) for c, r in zip(configs, results)]
    rows = []
    for _, v in fields:
        fm = flow_metrics(v, x0, rk4_steps, error_estimate=False)
        rows.append((fm["straightness"], fm["kinetic_energy"], fm["transport_cost"], fm["quadrature_gap"]))
    return StraightnessIdentity(
        tuple(n for n, _ in fields),
        *np.array(rows).T,
        seeds={"starts": run.seed_for(50), "train": train_seeds(run, sz.train)},
        sizes=sz,
        settings={"rk4_steps": rk4_steps},
    )
