r"""Judges of claim ``gao-li/osdnet-exact-off-head``: OSDNet with the closed-form off-subspace head."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.gao_li import SEED_HEADS, SIGMA_MIN
from numerics.experiments.gao_li.osdnet_exact_off_head import EXACT_HEAD, exact_off_head_runs
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import SRC
from proofs_checks.registry import Control, check


@check(
    "gao-li/osdnet-exact-off-head",
    title="with the closed-form off-subspace head, $\\|x_\\perp(1)\\|=\\sigma_{\\min}\\|x_\\perp(0)\\|$ for any subspace head",
    tag="derived",
    kinds=("high-precision-ode",),
    tier=EXACT_HEAD,
    controls={
        "head-sigma-min-doubled": Control(
            fault={"head_sigma_min": 0.02},
            breaks="max |‖x⊥(1)‖/(σmin‖x⊥(0)‖) − 1|, trained head",
            sizes={"starts": 20},
            why="the closed-form heads built with σmin = 0.02 while the path has σmin = 0.01",
        )
    },
)
def check_osdnet_exact_off_head(run: RunSpec, head_sigma_min: float = SIGMA_MIN) -> Verdict:
    """With the closed-form off head, ‖x⊥(1)‖ = σmin‖x⊥(0)‖ whatever the subspace head (untrained, trained).

    Control: ``head-sigma-min-doubled`` (heads built with σmin = 0.02).
    """
    m = exact_off_head_runs(run, head_sigma_min)
    steps = run.sizes(EXACT_HEAD).tau_steps
    ev = Evidence(SRC + "gao-li/osdnet-exact-off-head (exact off head, fact (c))", run.seed_for(SEED_HEADS))
    scale = m.sigma_min * np.linalg.norm(m.off0, axis=1)
    rk4_error = -np.log(m.sigma_min) * (-np.log(m.sigma_min) / steps) ** 4 / 120
    for name, off1 in m.off1.items():
        ev.within(
            f"max |‖x⊥(1)‖/(σmin‖x⊥(0)‖) − 1|, {name} head",
            float(np.max(np.abs(np.linalg.norm(off1, axis=1) / scale - 1.0))),
            0.0,
            atol=1e-8,
            basis="numerical",
            why=f"spec tolerance; in τ the off-subspace ODE is dx⊥/dτ = −x⊥ and RK4 with {steps} steps has relative "
            f"error τ_end·h⁴/120 = {rk4_error:.1e} (h = τ_end/{steps}, τ_end = ln(1/σmin)); projections in float64",
            headline=name == "trained",
        )
        ev.report(
            f"max ‖x⊥(1) − σmin x⊥(0)‖/(σmin‖x⊥(0)‖), {name} head",
            float(np.max(np.linalg.norm(off1 - m.sigma_min * m.off0, axis=1) / scale)),
            "vector form of the same identity",
        )
    return ev.verdict()
