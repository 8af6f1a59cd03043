r"""Judges of claim ``gao-li/pair-resolution-time``: when two training points are told apart."""

from __future__ import annotations

from numerics.experiments import RunSpec
from numerics.experiments.gao_li.pair_resolution import PAIR_RESOLUTION, pair_resolution
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import SYMPY
from proofs_checks.registry import Control, check


@check(
    "gao-li/pair-resolution-time",
    title="a pair at distance $\\Delta$ is resolved at $t_{0.99}=a_*/(\\Delta+a_*(1-\\sigma_{\\min}))$",
    tag="derived",
    kinds=("symbolic", "monte-carlo"),
    tier=PAIR_RESOLUTION,
    controls={
        "wrong-threshold": Control(
            fault={"a_star": 2.5},
            breaks="MC crossing of median w_j*",
            sizes={"draws": 2001},
            why="a_* = 2.5 instead of sqrt(2 ln 99) = 3.03",
        )
    },
)
def check_pair_resolution(run: RunSpec, a_star: float | None = None) -> Verdict:
    """Two points at distance :math:`\\Delta`: the median of :math:`w_j` reaches 0.99 at
    :math:`t_{0.99}=a_*/(\\Delta+a_*(1-\\sigma_{\\min}))`.

    Control: another threshold :math:`a_*` (``None``: the SymPy root).
    """
    m = pair_resolution(run, a_star)
    sz = run.sizes(PAIR_RESOLUTION)
    ev = Evidence.of("pair resolution time (spec gao_li.md §2, derived)", m)
    ev.holds(
        "t_0.99 solved by SymPy equals a*/(Delta + a*(1 - sigma_min))",
        m.symbolic_zero,
        basis="theory",
        why=SYMPY,
        measured="residual 0",
    )
    cases = f"(sigma_min, Delta) in {list(m.cases)}"
    ev.within(
        f"semi-analytic crossing vs t_0.99, {cases}",
        m.semi_analytic,
        m.predicted,
        atol=1e-12,
        basis="numerical",
        why="root of the Z=0 median (spec: 1e-12)",
    )
    ev.within(
        f"lambdified SymPy t_0.99, {cases}", m.sympy, m.predicted, atol=1e-12, basis="numerical", why="same closed form"
    )
    ev.within(
        f"MC crossing of median w_j, {cases}",
        m.monte_carlo,
        m.predicted,
        atol=0.01,
        basis="spec",
        why=f"grid step {sz.step:g} plus MC median noise, M = {sz.draws} (spec: +-0.01)",
        headline=True,
    )
    ev.detail("a_star", m.a_star)
    ev.detail("t grid", f"step {sz.step:g}, searched within {sz.window:g} of t_0.99 (1: the whole grid from 0)")
    return ev.verdict()
