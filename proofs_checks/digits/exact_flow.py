"""Judge of ``digits/exact-flow-memorizes`` (measurement: :mod:`numerics.experiments.digits.exact_flow`)."""

from __future__ import annotations

from numerics.experiments import RunSpec
from numerics.experiments.digits import exact_flow as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check

P_ALPHA = 0.01


@check(
    "digits/exact-flow-memorizes",
    title="the exact flow of $N$ digits lands on a training point (memorization ratio 1), each with mass $1/N$",
    tag="derived",
    kinds=("high-precision-ode", "monte-carlo"),
    tier=exp.EXACT_FLOW,
    controls={
        "duplicates-kept": Control(
            fault={"repeats": 3},
            breaks="basin masses 1/N: chi-square p-value*",
            why="half the points handed to the flow three times: their basins carry 3/(2N) each",
        ),
        "stopped-early": Control(
            fault={"t_end": 0.5},
            breaks="memorization ratio*",
            why="the flow stopped at t = 0.5: samples between points, not on them",
        ),
    },
)
def check_exact_flow_memorizes(run: RunSpec, repeats: int = 1, t_end: float = 1.0) -> Verdict:
    """[extension of Gao & Li] The exact flow of N digits copies: ratio 1 and equal basin masses 1/N.

    Controls: half the points given three times (duplicates not removed); the flow stopped at t = 0.5.
    """
    m = exp.exact_flow_memorization(run, repeats, t_end)
    sz = run.sizes(exp.EXACT_FLOW)
    ev = Evidence.of(
        "extension of Gao & Li (exact flow of an empirical target) to the digits; "
        "memorization ratio of Yoon et al. 2023 / Gu et al. 2023",
        m,
    )
    ev.at_least(
        f"memorization ratio (lower end of its {m.ratio.level:.0%} bootstrap CI), {sz.samples} samples, N={m.n}",
        m.ratio.ci[0],
        1.0,
        basis="theory",
        why="exact: the flow is integrated to tau = 40 (sigma_t = e^-40), where every sample sits on a training "
        "point to float64 rounding; one non-copy would lower the interval",
        expected=1.0,
        headline=True,
    )
    ev.p_value(
        f"basin masses 1/N: chi-square p-value of the counts over the N={m.n} points",
        m.p_value,
        alpha=P_ALPHA,
        why=f"Pearson's test at a fixed seed (level {P_ALPHA}); {sz.samples / m.n:.0f} expected samples per basin "
        "(>= 5: the chi-square approximation holds)",
    )
    ev.report("largest distance of a sample to its nearest training point", m.max_nearest)
    ev.report("memorization ratio and CI", [m.ratio.fraction, *m.ratio.ci])
    ev.report("chi-square statistic (N - 1 degrees of freedom)", m.chi2, f"{m.n - 1} dof")
    ev.report("samples per basin: min, max", [int(m.counts.min()), int(m.counts.max())])
    return ev.verdict()
