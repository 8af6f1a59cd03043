r"""Judges of claim ``gao-li/generation-error-bound``: the Grönwall bound on the generation error of a learned field."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.gao_li import SEED_BOUND, SEED_TRAIN
from numerics.experiments.gao_li.generation_error_bound import BOUND, checkpoint_bounds
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import SRC, TREND, per_step, spearman
from proofs_checks.registry import Control, check


@check(
    "gao-li/generation-error-bound",
    title="pathwise Grönwall bound on the learned-vs-exact sample distance; falls with the excess loss",
    tag="derived",
    kinds=("training", "high-precision-ode"),
    tier=BOUND,
    controls={
        "rate-shifted": Control(
            fault={"rate_shift": -50.0},
            breaks="max over samples and checkpoints of ‖x(1) − x*(1)‖ − *",
            sizes={"starts": 20},
            why="the one-sided rate ℓ replaced by ℓ − 50 (an over-optimistic contraction rate)",
        )
    },
)
def check_generation_error_bound(run: RunSpec, rate_shift: float = 0.0) -> Verdict:
    """‖x(1) − x*(1)‖ ≤ b(1) (pathwise Grönwall) for every sample; the bound falls with the excess loss.

    Control: ``rate-shifted`` (ℓ − 50 in the bound's ODE).
    """
    m = checkpoint_bounds(run, rate_shift)
    steps = run.sizes(BOUND).ode_steps
    ev = Evidence(
        SRC + "gao-li/generation-error-bound (pathwise Grönwall)",
        {"train": run.seed_for(SEED_TRAIN), "starts": run.seed_for(SEED_BOUND)},
    )
    ev.at_most(
        "max over samples and checkpoints of ‖x(1) − x*(1)‖ − (b(1)(1 + 1e-6) + 1e-8)",
        float(np.max(m.error - (m.bound * (1 + 1e-6) + 1e-8))),
        0.0,
        basis="numerical",
        why=f"spec tolerance; learned, exact and b integrated jointly by RK4 ({steps} steps), so "
        "discretisation errors are common to the three",
        headline=True,
    )
    mean_b, mean_err = m.bound.mean(axis=1), m.error.mean(axis=1)
    ev.at_least(
        "Spearman(mean b(1), excess loss) over checkpoints",
        spearman(mean_b, m.excess.total),
        0.7,
        basis="spec",
        why=TREND,
    )
    ev.report("Spearman(mean ‖x(1) − x*(1)‖, excess loss)", spearman(mean_err, m.excess.total), "reported")
    ev.report("mean ‖x(1) − x*(1)‖ per checkpoint", per_step(m.steps, mean_err), "measured error")
    ev.report("mean b(1) per checkpoint", per_step(m.steps, mean_b), "pathwise Grönwall bound")
    ev.report(
        "median b(1) per checkpoint",
        per_step(m.steps, np.median(m.bound, axis=1)),
        "robust to the few starts whose learned path lands on another training point than the exact one",
    )
    ev.report(
        "max error / b(1) per checkpoint", per_step(m.steps, np.max(m.error / m.bound, axis=1)), "tightness (≤ 1)"
    )
    ev.report(
        "median log10 of the global (Lipschitz) bound per checkpoint",
        per_step(m.steps, np.median(m.log10_global, axis=1)),
        "rigorous but astronomically loose (L_t from fact (d)); reported only",
    )
    return ev.verdict()
