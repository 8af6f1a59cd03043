"""Judge of ``merger-goldt/null-mode-variance`` (measurement: :mod:`numerics.experiments.merger_goldt.null_modes`); its controls' wrong forms."""

from __future__ import annotations

import dataclasses

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import null_modes as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check
from theory import linear_diffusion as sym


def coefficient_wrong_sign(w: np.ndarray, s: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """:math:`a_t` with the denoiser term added instead of subtracted."""
    return (1 + beta / np.sqrt(s) * w) / np.sqrt(1 - beta)


def schedule_rounded_one_minus_abar(T: int) -> ld.Schedule:
    """The schedule with :math:`1-\\bar\\alpha_t` formed as ``1 - abar`` (loses ~4 digits at t = 1)."""
    sch = ld.beta_schedule(T)
    return dataclasses.replace(sch, one_minus_abar=1.0 - sch.abar)


@check(
    "merger-goldt/null-mode-variance",
    title="unseen directions get variance $\\sigma_1^2$ (linear memorisation)",
    tag="derived",
    kinds=("symbolic",),
    tier=exp.NULL_MODES,
    controls={
        "coefficient-wrong-sign": Control(
            fault={"coefficient": coefficient_wrong_sign}, breaks="|a_1|", why="denoiser term added in a_t"
        ),
        "one-minus-abar-rounded": Control(
            fault={"schedule": schedule_rounded_one_minus_abar},
            breaks="|a_1|",
            why="1 - abar_t formed in floating point: a_1 = 1 - beta_1 / s_1 keeps ~1e-12",
        ),
    },
)
def check_null_mode_variance(run: RunSpec, coefficient=None, schedule=ld.beta_schedule) -> Verdict:
    """Null modes (lambda_hat = 0): a_1 = 0 and f(0) = sigma_1^2 (§1.6), SymPy and float64.

    Controls: a_t with the wrong sign; 1 - alpha_bar_t formed by subtraction.
    """
    m = exp.null_modes(run, coefficient, schedule)
    ev = Evidence.of("spec merger_goldt.md §1.6 (null modes, derived)", m)
    res = sym.null_mode_residual()
    ev.holds(
        "SymPy: a_t - sqrt(alpha_t)(1-abar_{t-1})/(1-abar_t) at lambda_hat = 0",
        res == 0,
        measured=str(res),
        expected="0",
        basis="theory",
        why="exact simplification",
    )
    ev.at_most(
        "|a_1|",
        abs(float(m.a[0])),
        1e-15,
        basis="numerical",
        why="float64 with 1 - alpha_bar_t kept to full relative precision",
    )
    ev.at_most(
        "max over t of |a_t - sqrt(alpha_t)(1-abar_{t-1})/(1-abar_t)| / (1e-12 |closed form| + 1e-15)",
        float(np.max(np.abs(m.a - m.closed) / (1e-12 * np.abs(m.closed) + 1e-15))),
        1.0,
        basis="numerical",
        why="float64 evaluation of two algebraically equal forms (rtol 1e-12, atol 1e-15)",
    )
    for (sig, fn), f0 in m.f0.items():
        expected = 1.099e-4 if (sig == "beta" and fn) else 0.0
        ev.within(
            f"f(0) sigma^2={sig} final_noise={fn}",
            f0,
            expected,
            atol=1e-15,
            basis="numerical",
            why="a_1 = 0 leaves only the last step's noise; float64",
            headline=(sig, fn) == ("beta", True),
        )
    for r, f0 in m.f0_ridge.items():
        ev.report(f"f(0) with ridge {r}", f0, "ridge raises the null-mode variance")
    for tau, f0 in m.f0_early.items():
        ev.report(f"f(0) early-stopped at eta*tau={tau:g}", f0, "early stopping raises it")
    return ev.verdict()
