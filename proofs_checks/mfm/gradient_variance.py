"""Judge of ``mfm/gradient-variance-reduction``: gradient variance, CondOT vs BatchOT."""

from __future__ import annotations

from numerics.experiments import RunSpec
from numerics.experiments.mfm import gradient_variance as exp
from numerics.experiments.mfm.trained_arms import paired, train_seeds
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.mfm._training import FAULTY, PAIRED, SRC, report_arm
from proofs_checks.registry import Control, check


@check(
    "mfm/gradient-variance-reduction",
    title="BatchOT training has lower gradient variance than CondOT",
    tag="paper",
    kinds=("training",),
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
    sz = run.sizes(exp.GRADIENT_VARIANCE)
    m = exp.gradient_variances(
        run, sz.train, {"condot": "condot", "batchot": batchot_coupling}, sz.grad_batches, sz.fractions
    )
    ev = Evidence(
        f"{SRC}, abstract (i) [paper]; spec mfm.md §3",
        {"train": train_seeds(run, sz.train), "grad": run.seed_for(53)},
    )
    for n, s in enumerate(m.steps):
        if s < sz.train.steps // 2:
            ev.report(
                f"step {s}: mean G_BatchOT / G_CondOT (early step)",
                float(m.trace["batchot"][n].mean() / m.trace["condot"][n].mean()),
            )
            continue
        ev.ordering(
            f"G_CondOT - G_BatchOT at step {s}",
            paired(m.trace["condot"][n], m.trace["batchot"][n]),
            why=f"abstract claim (i), spec §3 criterion; {PAIRED}",
            headline=s == m.steps[-1],
        )
    for lab, tr in m.trace.items():
        for n, s in enumerate(m.steps):
            report_arm(ev, f"tr Cov(g) {lab}, step {s}", tr[n])
    return ev.verdict()
