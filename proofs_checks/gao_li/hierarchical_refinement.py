r"""Judges of claim ``gao-li/hierarchical-refinement``: clusters are resolved before points."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.gao_li.hierarchical_refinement import HIERARCHICAL, gap_resolution_times, resolution_paths
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


@check(
    "gao-li/hierarchical-refinement",
    title="clustered data: cluster resolved before point; sparse data resolve early",
    tag="reported",
    kinds=("high-precision-ode",),
    tier=HIERARCHICAL,
    controls={
        "swapped-data": Control(
            fault={"clustered": "sparse-sphere"},
            breaks="median t_B(clustered) - median t_W(clustered)",
            sizes={"starts": 40},
            why="the sparse data set in place of the clustered one",
        )
    },
)
def check_hierarchical(run: RunSpec, clustered: str = "clustered", sparse: str = "sparse-sphere") -> Verdict:
    """Clustered data resolve the cluster before the point; sparse data resolve points earlier.

    Control: the sparse data set passed as the clustered one.
    """
    c, s = resolution_paths(run, clustered), resolution_paths(run, sparse)
    med_b, med_wc, med_ws = (float(np.median(v)) for v in (c.t_cluster, c.t_point, s.t_point))
    ev = Evidence.of("path geometry (reported, third-party summaries); spec gao_li.md §3", c)
    ev.at_most(
        "median t_B(clustered) - median t_W(clustered)",
        med_b - med_wc,
        -0.2,
        basis="spec",
        why="spec margin 0.2",
        headline=True,
    )
    ev.at_most("median t_W(sparse) - median t_W(clustered)", med_ws - med_wc, -0.2, basis="spec", why="spec margin 0.2")
    ev.report("median t_B / t_W (clustered), t_W (sparse)", [med_b, med_wc, med_ws], "medians over starts")
    ev.report(
        "t_0.99 of median inter / intra nearest-neighbour gap",
        list(gap_resolution_times(clustered)),
        "informational (spec)",
    )
    return ev.verdict()
