r"""Judges of claim ``gao-li/terminal-law``: where the exact flow lands: uniform over the training points."""

from __future__ import annotations

import numpy as np
from scipy import stats

from numerics.experiments import RunSpec
from numerics.experiments.gao_li import paths_text
from numerics.experiments.gao_li.terminal_law import BASIN_DATASETS, TERMINAL_LAW, basins, terminal_law
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


@check(
    "gao-li/terminal-law",
    title="terminal law is uniform over points ($\\sigma_{\\min}=0$) or a Gaussian mixture of width $\\sigma_{\\min}$",
    tag="derived",
    kinds=("high-precision-ode", "monte-carlo"),
    tier=TERMINAL_LAW,
    controls={
        "shifted-prior": Control(
            fault={"prior_shift": 0.5},
            breaks="chi-square uniformity of landing counts (N=5)",
            why="starts shifted by 0.5 toward point 0 (a wrong prior)",
        ),
        "shifted-prior-basins": Control(
            fault={"prior_shift": 0.5},
            breaks="chi-square uniformity of basin masses, toy2d-sparse*",
            why="the 2-D source draws shifted by 0.5 toward point 0 (a wrong prior)",
        ),
        "flow-sigma-min": Control(
            fault={"flow_path": "ot(0.05)"},
            breaks="KS of pooled residuals*",
            why="the sigma_min = 0.01 case integrated with sigma_min = 0.05",
        ),
    },
    follows_path=True,
)
def check_terminal_law(run: RunSpec, prior_shift: float = 0.0, flow_path: str | None = None) -> Verdict:
    """Terminal law: uniform over the points (:math:`\\sigma_1=0`; 2/(N+1) for a doubled point) or
    :math:`\\frac1N\\sum\\mathcal N(\\alpha_1x^{(i)},\\sigma_1^2I)` (:math:`\\sigma_1>0`).

    Controls: a shifted prior; the sigma_min = 0.01 flow integrated with sigma_min = 0.05.
    """
    m = terminal_law(run, prior_shift, flow_path)
    n = run.sizes(TERMINAL_LAW).starts
    ev = Evidence.of("terminal law (spec gao_li.md §2, derived)", m)
    if m.end is not None:
        counts, counts_d = m.counts("end"), m.counts("end_duplicate")
        ev.at_most(
            "max landing distance " + ("(sigma_min=0)" if run.path is None else f"({paths_text(run)})"),
            float(m.landing_distance.max()),
            1e-10,
            basis="numerical",
            why="solver rtol 1e-10",
        )
        ev.p_value(
            "chi-square uniformity of landing counts (N=5)",
            stats.chisquare(counts).pvalue,
            alpha=0.01,
            why="level 0.01, fixed seed (spec)",
            headline=True,
        )
        ev.at_most(
            "max landing distance (duplicated point)",
            float(m.landing_distance_duplicate.max()),
            1e-10,
            basis="numerical",
            why="ties split exactly",
        )
        ev.p_value(
            "chi-square of landing counts vs (2,1,1,1,1)/6 (point 0 duplicated)",
            stats.chisquare(counts_d, n * np.array([2, 1, 1, 1, 1]) / 6.0).pvalue,
            alpha=0.01,
            why="level 0.01, fixed seed",
        )
        ev.detail("landing_counts", counts.tolist())
        ev.detail("landing_counts_duplicate", counts_d.tolist())
    else:
        ev.report(
            "landing counts on the points", "not tested", "sigma_1 > 0 on this path: the Gaussian-mixture law applies"
        )
    if m.end_sigma is not None:
        ev.p_value(
            "KS of pooled residuals (x(1) - alpha_1 x_i)/sigma_1 vs N(0,1)",
            stats.kstest(m.residuals, "norm").pvalue,
            alpha=0.01,
            why="level 0.01, fixed seed (spec)",
            headline=m.end is None,
        )
        ev.p_value(
            "chi-square uniformity of landing counts (sigma_min=0.01)"
            if run.path is None
            else "chi-square uniformity of landing counts (sigma_1 > 0)",
            stats.chisquare(m.counts("end_sigma")).pvalue,
            alpha=0.01,
            why="level 0.01, fixed seed",
        )
    if m.end is not None:  # the 2-D basins of the figure gao-li/fig-basin-map, judged here
        b = basins(run, prior_shift)
        for name in BASIN_DATASETS:
            ev.p_value(
                f"chi-square uniformity of basin masses, {name} (N={len(b.counts[name])})",
                stats.chisquare(b.counts[name]).pvalue,
                alpha=0.01,
                why=f"{b.counts[name].sum()} source draws, level 0.01, fixed seed",
            )
            ev.at_most(
                f"max landing distance, {name} basins (grid and draws)",
                b.landing_distance[name],
                1e-10,
                basis="numerical",
                why="solver rtol 1e-10",
            )
    return ev.verdict()
