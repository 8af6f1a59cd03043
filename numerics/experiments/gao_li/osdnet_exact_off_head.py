r"""OSDNet with the closed-form off-subspace head (claim ``gao-li/osdnet-exact-off-head``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.gao_li._osdnet_run import (
    FAST_TRAIN,
    SEED_HEADS,
    SEED_TRAIN,
    SIGMA_MIN,
    SPEC_TRAIN,
    TrainSizes,
    run_config,
    seeded_starts,
    spec_section,
    trained_run,
)
from numerics.learned_field import (
    generate_in_tau,
)
from numerics.nets import OSDNet, seeded_init_, with_exact_off_head
from numerics.subspace import proper_subspace, subspace_basis


@dataclass(frozen=True)
class ExactHeadSizes(Sizes):
    train: TrainSizes = SPEC_TRAIN
    starts: int = 500
    tau_steps: int = 2000


EXACT_HEAD = Tier(
    "gao-li/osdnet-exact-off-head",
    fast=ExactHeadSizes(FAST_TRAIN, starts=100, tau_steps=500),
    spec=ExactHeadSizes(),
    section=spec_section("gao-li/osdnet-exact-off-head"),
)


@dataclass(frozen=True)
class ExactHeadRuns(Measurement):
    """Off-subspace parts of the starts and of the endpoints (RK4 in τ) per head, and the σmin of the path."""

    off0: np.ndarray
    off1: dict[str, np.ndarray]
    sigma_min: float


def exact_off_head_runs(run: RunSpec, head_sigma_min: float = SIGMA_MIN) -> ExactHeadRuns:
    """OSDNets with the closed-form off head: two untrained subspace heads (QR and SVD bases, seed 25)
    and the trained one of the shared run, integrated from the same starts by RK4 in τ.

    ``head_sigma_min`` is the σmin the closed-form heads are built with (the path's is
    :data:`SIGMA_MIN`; another value is the negative control).
    """
    sz = run.sizes(EXACT_HEAD)
    cfg = run_config(run, sz.train)
    data = cfg.points()

    def compute() -> ExactHeadRuns:
        heads: dict[str, nn.Module] = {}
        for method in ("qr", "svd"):
            head = OSDNet(subspace_basis(data, method=method).basis, head_sigma_min, sz.train.width, off_head="exact")
            heads[f"untrained ({method} basis)"] = seeded_init_(head, run.seed_for(SEED_HEADS))
        heads["trained"] = with_exact_off_head(trained_run(run, cfg).model, sigma_min=head_sigma_min)
        x0 = seeded_starts(run.seed_for(SEED_HEADS), sz.starts, data.shape[1])
        sub = proper_subspace(data)
        off1 = {name: sub.off(generate_in_tau(m, x0, SIGMA_MIN, sz.tau_steps)) for name, m in heads.items()}
        return ExactHeadRuns(
            sub.off(x0),
            off1,
            SIGMA_MIN,
            seeds={"train": run.seed_for(SEED_TRAIN), "heads and starts": run.seed_for(SEED_HEADS)},
            sizes=sz,
            settings={"head_sigma_min": head_sigma_min, "integrator": "RK4 in tau"},
        )

    params = dict(config=cfg, sizes=sz, seed=run.seed_for(SEED_HEADS), head_sigma_min=head_sigma_min)
    return measured(run, "gao-li-osdnet-exact-off-head", params, compute)
