r"""Judges of claim ``gao-li/marginal-path-pushforward``: the exact flow pushes the prior forward along the marginal path."""

from __future__ import annotations

from numerics.experiments import RunSpec
from numerics.experiments.gao_li.pushforward import PUSHFORWARD, pushforward
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


@check(
    "gao-li/marginal-path-pushforward",
    title="the flow of $v^*$ has law $\\frac1N\\sum\\mathcal N(tx^{(i)},\\sigma_t^2I)$",
    tag="derived",
    kinds=("high-precision-ode", "monte-carlo"),
    tier=PUSHFORWARD,
    controls={
        "wide-prior": Control(
            fault={"prior_scale": 1.3},
            breaks="min KS p-value*",
            sizes={"starts": 1000},
            why="starts from N(0, 1.3^2 I) instead of the prior N(0, I)",
        )
    },
)
def check_pushforward(run: RunSpec, prior_scale: float = 1.0) -> Verdict:
    """The flow of :math:`v^*` from :math:`\\mathcal N(0,I)` has law :math:`p_t` (KS of 1-D projections).

    Control: a wider prior.
    """
    m = pushforward(run, prior_scale)
    ev = Evidence.of("marginal path p_t = (1/N) sum N(t x_i, sigma_t^2 I) (spec gao_li.md §2, derived)", m)
    ev.p_value(
        f"min KS p-value over {m.p_values.size} tests (times x directions)",
        float(m.p_values.min()),
        alpha=0.01 / m.p_values.size,
        why=f"Bonferroni over {m.p_values.size} KS tests at level 0.01, fixed seed (spec)",
        headline=True,
    )
    ev.detail("KS p-values", m.p_values)
    ev.detail("median_nfev", m.median_nfev)
    return ev.verdict()
