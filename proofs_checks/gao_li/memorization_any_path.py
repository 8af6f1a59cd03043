r"""Judges of claim ``gao-li/memorization-any-path``: memorization on every built-in path with sigma_1 = 0."""

from __future__ import annotations

from scipy import stats

from numerics.experiments import RunSpec
from numerics.experiments.gao_li.memorization_any_path import MEMORIZATION_ANY_PATH, memorization_any_path
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


@check(
    "gao-li/memorization-any-path",
    title="on every built-in path with $\\sigma_1=0$ (OT, cosine, VP) the exact flow lands on a training point "
    "and each basin has mass $1/N$",
    tag="derived",
    kinds=("high-precision-ode", "monte-carlo"),
    tier=MEMORIZATION_ANY_PATH,
    controls={
        "end-width": Control(
            fault={"flow_path": "ot(0.01)"},
            breaks="max landing distance*",
            sizes={"starts": 200},
            why="every flow integrated on the OT path with sigma_min = 0.01 (sigma_1 > 0): it stops short of the points",
        )
    },
)
def check_memorization_any_path(run: RunSpec, flow_path: str | None = None) -> Verdict:
    """On every built-in path with :math:`\\sigma_1=0` (OT, cosine, VP), the exact flow lands on a training
    point, its trajectory agrees with mpmath on ``tiny``, and the basins carry mass :math:`1/N`.

    Control: the flows integrated on a path that ends at width :math:`\\sigma_1=0.01`.
    """
    m = memorization_any_path(run, flow_path)
    n = run.sizes(MEMORIZATION_ANY_PATH).starts
    paths = ", ".join(m.labels)
    ev = Evidence.of("memorization on any affine Gaussian path with sigma_1 = 0 (derived)", m)
    ev.at_most(
        f"max landing distance min_i |x(1) - alpha_1 x_i| per path ({paths})",
        m.landing_distance.max(axis=1),
        1e-10,
        basis="numerical",
        why="land by integration to 1e-10 (solver rtol 1e-10)",
        headline=True,
    )
    ev.at_most(
        f"|x_float64(0.9) - x_mpmath(0.9)| (tiny) per path ({paths})",
        m.mp_gap,
        1e-9,
        basis="numerical",
        why="mpmath.odefun (dps 30, or 20 when computed at the fast tier) vs DOP853 rtol 1e-11 (as gao-li/memorization)",
    )
    for label, counts in zip(m.labels, m.counts):
        ev.p_value(
            f"chi-square uniformity of basin counts, {n} starts from the source ({label})",
            stats.chisquare(counts).pvalue,
            alpha=0.01 / len(m.labels),
            why=f"Bonferroni over {len(m.labels)} paths at family level 0.01, fixed seed",
        )
    ev.detail("landing_counts", {label: c.tolist() for label, c in zip(m.labels, m.counts)})
    ev.detail("mpmath_reference", dict(zip(m.labels, m.mp_origin)))
    ev.detail("tiny_nfev", dict(zip(m.labels, m.tiny_nfev.tolist())))
    ev.detail("sources", dict(zip(m.labels, m.source_notes)))
    return ev.verdict()
