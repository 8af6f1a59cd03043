"""Judge of ``mfm/straightness-identity``: Eq. 18 = Eq. 19 on exact and trained fields."""

from __future__ import annotations

from numerics.experiments import RunSpec
from numerics.experiments.mfm import straightness_identity as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check

COARSE_STEPS = 4  # an RK4 grid too coarse to resolve the time integrals of Eq. 18/19


@check(
    "mfm/straightness-identity",
    title="straightness (Eq. 18) equals KE minus transport cost (Eq. 19)",
    tag="reported",
    kinds=("high-precision-ode",),
    models="mfm/training",
    tier=exp.STRAIGHTNESS_IDENTITY,
    controls={
        "unresolved-quadrature": Control(
            fault={"rk4_steps": COARSE_STEPS},
            breaks="*: |S_18 - (KE - C)| / KE",
            why="4 RK4 steps cannot resolve the time integrals: Eq. 18 and Eq. 19 forms then disagree",
        )
    },
)
def check_straightness_identity(run: RunSpec, rk4_steps: int = 1000) -> Verdict:
    """Eq. 18 form of S (Simpson on the RK4 grid) equals KE - C (KE carried by RK4), for exact and trained fields.

    Part (i): exact affine fields of the Gaussian family; part (ii): the trained CondOT and BatchOT
    models of seed 0 (shared with the training claims). Control: a 4-step grid.
    """
    m = exp.straightness_identity(run, rk4_steps)
    ev = Evidence("Eqs. 18–19 (reported existence; derived form), spec mfm.md §1.4, §3", m.seeds["starts"])
    rel = m.gap / m.KE
    for name, r, s, ke, c in zip(m.names, rel, m.S, m.KE, m.C):
        ev.at_most(
            f"{name}: |S_18 - (KE - C)| / KE",
            r,
            1e-6,
            why="quadrature consistency (RK4 + Simpson, 4th order)",
            basis="numerical",
        )
        ev.report(f"{name}: S, KE, C", [s, ke, c])
    ev.at_most(
        "max over fields of |S_18 - (KE - C)| / KE",
        rel.max(),
        1e-6,
        why="quadrature consistency",
        basis="numerical",
        headline=True,
    )
    ev.detail("rk4_steps", rk4_steps)
    return ev.verdict()
