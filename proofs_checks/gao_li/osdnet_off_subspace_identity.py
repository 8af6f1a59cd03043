r"""Judges of claim ``gao-li/osdnet-off-subspace-identity``: the variation-of-constants identity of the off-subspace part."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.gao_li import SEED_IDENTITY
from numerics.experiments.gao_li.osdnet_off_subspace_identity import IDENTITY, off_subspace_identity_run
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import SRC
from proofs_checks.registry import Control, check


@check(
    "gao-li/osdnet-off-subspace-identity",
    title="variation-of-constants identity and bound for a learned off-subspace head",
    tag="derived",
    kinds=("high-precision-ode", "training"),
    tier=IDENTITY,
    controls={
        "kernel-sigma-min-doubled": Control(
            fault={"kernel_sigma_min": 0.02},
            breaks="max ‖x⊥(1) − σmin x⊥(0) − ∫σmin/σs e⊥ ds‖ / *",
            sizes={"starts": 20},
            why="the kernel σmin/σs of the variation-of-constants formula with σmin doubled",
        )
    },
)
def check_osdnet_off_subspace_identity(run: RunSpec, kernel_sigma_min: float | None = None) -> Verdict:
    """x⊥(1) = σmin x⊥(0) + ∫ σmin/σs e⊥ ds along learned paths, and the norm bound it implies.

    Control: ``kernel-sigma-min-doubled`` (the kernel σmin/σs with σmin = 0.02).
    """
    idt = off_subspace_identity_run(run, kernel_sigma_min)
    steps = run.sizes(IDENTITY).ode_steps
    ev = Evidence(SRC + "gao-li/osdnet-off-subspace-identity (Φ(1,s) = σ1/σs)", run.seed_for(SEED_IDENTITY))
    lhs = np.linalg.norm(idt.off1, axis=1)
    exact_part = idt.sigma_min * np.linalg.norm(idt.off0, axis=1)
    bound = exact_part + idt.norm_integral
    ev.within(
        "max ‖x⊥(1) − σmin x⊥(0) − ∫σmin/σs e⊥ ds‖ / (σmin‖x⊥(0)‖ + ∫σmin/σs‖e⊥‖ds)",
        float(np.max(np.linalg.norm(idt.off1 - idt.predicted_off1, axis=1) / bound)),
        0.0,
        atol=1e-6,
        basis="numerical",
        why=f"spec tolerance 1e-6: RK4 in t with {steps} steps on the augmented state; the stiffest rate "
        "(1−σmin)/σ1 = 99 gives h·99 ≤ 0.05, RK4 error O((h·99)^5/120) per step",
        headline=True,
    )
    ev.at_most(
        "max over samples of ‖x⊥(1)‖ / (σmin‖x⊥(0)‖ + ∫σmin/σs‖e⊥‖ds)",
        float(np.max(lhs / bound)),
        1.0 + 1e-6,
        basis="theory",
        why="triangle inequality on the identity; 1e-6 = the identity's discretisation level",
    )
    ev.report("mean ‖x⊥(1)‖", float(lhs.mean()), "learned off head")
    ev.report("mean σmin‖x⊥(0)‖", float(exact_part.mean()), "exact-field value")
    ev.report("mean ∫σmin/σs‖e⊥‖ds", float(idt.norm_integral.mean()), "error term of the bound")
    ev.report("min bound slack (bound − ‖x⊥(1)‖)", float(np.min(bound - lhs)), "≥ 0 expected")
    return ev.verdict()
