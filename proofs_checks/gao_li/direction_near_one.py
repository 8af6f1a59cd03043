r"""Judges of claim ``gao-li/direction-near-one``: near t = 1 the field points at the nearest training point."""

from __future__ import annotations

from numerics.experiments import RunSpec
from numerics.experiments.gao_li.direction_near_one import DIRECTION_NEAR_ONE, direction_near_one
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


@check(
    "gao-li/direction-near-one",
    title="as $t\\to1$, $v^*$ blows up like $1/(1-t)$ and points to the nearest point",
    tag="reported",
    kinds=("symbolic",),
    tier=DIRECTION_NEAR_ONE,
    controls={
        "t-far-from-one": Control(
            fault={"t": 0.5}, breaks="min cosine(v*, x_j - x)", why="the limit statements evaluated at t = 0.5"
        )
    },
)
def check_direction_near_one(run: RunSpec, t: float = 1.0 - 1e-4) -> Verdict:
    """At :math:`t=1-10^{-4}`: the largest weight is on the nearest point, :math:`v^*` points to it,
    :math:`|v^*|\\sim|x^{(j)}-x|/(1-t)`.

    Control: the same statements at ``t = 0.5``.
    """
    m = direction_near_one(run, t)
    ev = Evidence.of("near-terminal direction (Bertrand et al. 2025, reported); spec gao_li.md §3", m)
    ev.holds(
        "argmax_i w_i == nearest point for every kept x",
        m.argmax_mismatches == 0,
        basis="theory",
        why="exact (index comparison)",
        measured=m.argmax_mismatches,
        expected=0,
    )
    ev.at_least(
        "min cosine(v*, x_j - x)",
        m.min_cosine,
        1 - 1e-12,
        basis="numerical",
        why="spec: 1 - 1e-12 (float64)",
        headline=True,
    )
    ev.at_most("max |(1-t)|v*| / |x_j - x| - 1|", m.max_ratio_error, 1e-3, basis="spec", why="spec: 1e-3")
    ev.detail("kept_points", m.kept)
    return ev.verdict()
