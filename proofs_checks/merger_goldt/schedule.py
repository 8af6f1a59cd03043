"""Judge of ``merger-goldt/beta-schedule`` (measurement: :mod:`numerics.experiments.merger_goldt.schedule`); its controls' wrong forms."""

from __future__ import annotations

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import schedule as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.merger_goldt._shared import ho_schedule
from proofs_checks.registry import Control, check


def schedule_indexed_from_zero(T: int) -> ld.Schedule:
    """:math:`\\beta_t` evaluated at :math:`t-1` (an off-by-one in the step index)."""
    delta = (1e-2 - 1e-4) / T
    return ld.beta_schedule(T, beta_min=1e-4 - delta, beta_max=1e-2 - delta)


# -------------------------------------------------------------------------- checks
@check(
    "merger-goldt/beta-schedule",
    title="linear $\\beta_t$ schedule values, $\\bar\\alpha_T=6.2705\\times10^{-3}$ at $T=1000$",
    tag="reported",
    kinds=("symbolic",),
    tier=exp.BETA_SCHEDULE,
    controls={
        "ho-schedule": Control(fault={"schedule": ho_schedule}, breaks="beta_T", why="beta_max = 0.02 (Ho et al.)"),
        "step-index-from-zero": Control(
            fault={"schedule": schedule_indexed_from_zero}, breaks="beta_1", why="beta_t evaluated at t - 1"
        ),
    },
)
def check_beta_schedule(run: RunSpec, schedule=ld.beta_schedule) -> Verdict:
    """Linear schedule values at T = 1000 (spec §1.1), float64 against a 30-digit mpmath product.

    Controls: Ho et al.'s schedule; the step index off by one.
    """
    m = exp.schedule_values(run, schedule)
    ev = Evidence.of("spec merger_goldt.md §1.1 (linear schedule, slides) and §3 row beta-schedule", m)
    ev.within("beta_1", m.beta[0], 1.099e-4, atol=1e-15, basis="numerical", why="exact decimal value; float64 rounding")
    ev.within("beta_T", m.beta[-1], 1e-2, atol=1e-15, basis="numerical", why="exact decimal value; float64 rounding")
    ev.within(
        "alpha_bar_T",
        m.abar_T,
        6.2705e-3,
        atol=5e-8,
        basis="numerical",
        why="reference quoted to 5 significant digits (half a unit of the 5th digit)",
        headline=True,
    )
    ev.within(
        "sum_t beta_t",
        m.beta.sum(),
        5.05495,
        atol=1e-12,
        basis="numerical",
        why="exact sum of the arithmetic series; float64",
    )
    ev.at_most(
        "alpha_bar_T float64 vs mpmath of the spec's formula (rel)",
        m.rel_mp,
        1e-12,
        basis="numerical",
        why="T = 1000 products of float64 factors against mp.dps = 30",
    )
    for T, abar in m.abar_T_other:
        ev.report(f"alpha_bar_T at T={T}", abar, "report-only T variant (spec §6)")
    return ev.verdict()
