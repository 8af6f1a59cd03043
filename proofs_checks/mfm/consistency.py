"""Judge of ``mfm/straighter-flows-consistency``: straightness and few-step consistency."""

from __future__ import annotations

from numerics.experiments import RunSpec
from numerics.experiments.mfm import consistency as exp
from numerics.experiments.mfm.trained_arms import paired
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.mfm._training import FAULTY, PAIRED, SRC, condot_vs, report_arm
from proofs_checks.registry import Control, check


@check(
    "mfm/straighter-flows-consistency",
    title="BatchOT flows are straighter; few-step samples closer to the reference",
    tag="paper",
    kinds=("training",),
    plan=lambda run, batchot_coupling="batchot": exp.consistency_plan(run, condot_vs(batchot_coupling)),
    tier=exp.CONSISTENCY,
    controls={
        "batchot-off-by-one": Control(
            fault={"batchot_coupling": FAULTY["batchot"]},
            breaks="0.5 S_CondOT - S_BatchOT",
            why="the BatchOT run paired one row off (x0[i] with the partner of x0[i+1])",
        )
    },
)
def check_straighter_flows_consistency(run: RunSpec, batchot_coupling: str = "batchot") -> Verdict:
    """Abstract (ii), Fig. 1, Table 3: BatchOT flows are straighter and their few-step samples closer to the reference.

    S_BatchOT <= 0.5 S_CondOT and kappa_m(BatchOT) < kappa_m(CondOT) for every m, paired over
    seeds. Control: the BatchOT arm paired one row off (x0[i] with the partner of x0[i+1]).
    """
    sz = run.sizes(exp.CONSISTENCY)
    m = exp.path_consistency(run, condot_vs(batchot_coupling))
    ev = Evidence.of(f"{SRC}, abstract (ii), Fig. 1 [paper], Table 3 [reported]; spec mfm.md §3", m)
    b, c = m.arms["batchot"], m.arms["condot"]
    ev.ordering(
        "0.5 S_CondOT - S_BatchOT",
        paired(c.S, b.S, 0.5),
        why=f"spec §3: S_BatchOT <= 0.5 S_CondOT; {PAIRED}",
        headline=True,
    )
    for n, nfe in enumerate(m.nfe):
        ev.ordering(
            f"kappa_{nfe}(CondOT) - kappa_{nfe}(BatchOT)",
            paired(c.kappa[n], b.kappa[n]),
            why=f"spec §3: Fig. 1 / Table 3; {PAIRED}",
        )
    for lab, a in m.arms.items():
        for name in ("S", "KE", "C", "W2_gen"):
            report_arm(ev, f"{lab}: {name}", getattr(a, name))
        ev.report(f"{lab}: mean kappa_m (L2)", dict(zip(m.nfe, a.kappa.mean(1).tolist())))
        ev.report(f"{lab}: mean kappa_m (squared L2)", dict(zip(m.nfe, a.kappa2.mean(1).tolist())))
    for sm, variant in m.sigma_min_variants.items():
        for lab, a in variant.items():
            ev.report(
                f"variant sigma_min={sm}, {lab}: mean S, mean kappa_m", [float(a.S.mean()), a.kappa.mean(1).tolist()]
            )
    ev.detail("reference", f"RK4 {sz.rk4_steps} steps, {sz.starts} noises")
    return ev.verdict()
