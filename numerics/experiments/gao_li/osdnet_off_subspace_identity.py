r"""The variation-of-constants identity of the off-subspace part (claim ``gao-li/osdnet-off-subspace-identity``)."""

from __future__ import annotations

from dataclasses import dataclass

from numerics.experiments import RunSpec, Sizes, Tier, measured
from numerics.experiments.gao_li._osdnet_run import (
    FAST_TRAIN,
    SEED_IDENTITY,
    SIGMA_MIN,
    SPEC_TRAIN,
    TrainSizes,
    run_config,
    seeded_starts,
    spec_section,
    trained_run,
)
from numerics.learned_field import (
    OffSubspaceIdentity,
    off_subspace_identity,
)


@dataclass(frozen=True)
class IdentitySizes(Sizes):
    train: TrainSizes = SPEC_TRAIN
    starts: int = 500
    ode_steps: int = 2000


IDENTITY = Tier(
    "gao-li/osdnet-off-subspace-identity",
    fast=IdentitySizes(FAST_TRAIN, starts=100),
    spec=IdentitySizes(),
    section=spec_section("gao-li/osdnet-off-subspace-identity"),
)


def off_subspace_identity_run(run: RunSpec, kernel_sigma_min: float | None = None) -> OffSubspaceIdentity:
    """The identity's terms along paths of the final trained model (RK4 in t, augmented state; seed 26).

    ``kernel_sigma_min`` replaces σmin in the kernel σmin/σs (negative control).
    """
    sz = run.sizes(IDENTITY)
    cfg = run_config(run, sz.train)

    def compute() -> OffSubspaceIdentity:
        model = trained_run(run, cfg).model
        x0 = seeded_starts(run.seed_for(SEED_IDENTITY), sz.starts, model.dim)
        return off_subspace_identity(
            model, x0, cfg.points(), SIGMA_MIN, sz.ode_steps, method=cfg.basis_method, kernel_sigma_min=kernel_sigma_min
        )

    params = dict(config=cfg, sizes=sz, seed=run.seed_for(SEED_IDENTITY), kernel_sigma_min=kernel_sigma_min)
    return measured(run, "gao-li-osdnet-off-subspace-identity", params, compute)
