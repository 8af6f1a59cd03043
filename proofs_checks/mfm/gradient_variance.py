"""Judge of ``mfm/gradient-variance-reduction``: gradient variance, CondOT vs BatchOT."""

from __future__ import annotations

from numerics.experiments import RunSpec
from numerics.experiments.mfm import gradient_variance as exp
from numerics.experiments.mfm.trained_arms import paired
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.mfm._training import FAULTY, PAIRED, SRC, condot_vs, report_arm
from proofs_checks.registry import Control, check


@check(
    "mfm/gradient-variance-reduction",
    title="BatchOT training has lower gradient variance than CondOT",
    tag="paper",
    kinds=("training",),
    plan=lambda run, batchot_coupling="batchot": exp.gradient_variance_plan(run, condot_vs(batchot_coupling)),
    tier=exp.GRADIENT_VARIANCE,
    controls={
        "batchot-off-by-one": Control(
            fault={"batchot_coupling": FAULTY["batchot"]},
            breaks="G_CondOT - G_BatchOT at step *",
            why="the BatchOT run paired one row off (x0[i] with the partner of x0[i+1]) (trained and evaluated so)",
        )
    },
)
def check_gradient_variance_reduction(run: RunSpec, batchot_coupling: str = "batchot") -> Verdict:
    """Abstract (i): BatchOT training has lower minibatch-gradient variance than CondOT (mid and end of training).

    Control: the BatchOT arm paired one row off (x0[i] with the partner of x0[i+1]).
    """
    m = exp.gradient_variances(run, condot_vs(batchot_coupling))
    ev = Evidence.of(f"{SRC}, abstract (i) [paper]; spec mfm.md §3", m)
    half = run.sizes(exp.GRADIENT_VARIANCE).train.steps // 2
    for s in m.judged:
        condot, batchot = m.at("condot", s), m.at("batchot", s)
        if s < half:
            ev.report(f"step {s}: mean G_BatchOT / G_CondOT (early step)", float(batchot.mean() / condot.mean()))
            continue
        ev.ordering(
            f"G_CondOT - G_BatchOT at step {s}",
            paired(condot, batchot),
            why=f"abstract claim (i), spec §3 criterion; {PAIRED}",
            headline=s == m.judged[-1],
        )
    for lab in m.trace:
        for s in m.judged:
            report_arm(ev, f"tr Cov(g) {lab}, step {s}", m.at(lab, s))
    return ev.verdict()
