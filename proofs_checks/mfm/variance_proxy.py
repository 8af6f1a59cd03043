"""Judge of ``mfm/variance-proxy-ordering``: the variance-proxy ordering of the couplings."""

from __future__ import annotations

from numerics.experiments import RunSpec
from numerics.experiments.mfm import variance_proxy as exp
from numerics.experiments.mfm.trained_arms import paired
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.mfm._training import FAULTY, PAIRED, SRC, report_arm
from proofs_checks.registry import Control, check

REPORTED_TOY_V = {"condot": 10.72, "stable": 1.60, "heuristic": 1.56, "batcheot": 0.57, "batchot": 0.24}


def arms_of(batchot: str = "batchot", batcheot: str = "batcheot", stable: str = "stable") -> dict[str, str]:
    """The four arms by label (a control replaces one coupling by its faulty version)."""
    return {"condot": "condot", "batchot": batchot, "batcheot": batcheot, "stable": stable}


@check(
    "mfm/variance-proxy-ordering",
    title="variance proxy ordering BatchOT < BatchEOT < CondOT, Stable < CondOT",
    tag="reported",
    kinds=("training",),
    plan=lambda run, **fault: exp.variance_proxy_plan(run, arms_of(**fault)),
    tier=exp.VARIANCE_PROXY,
    controls={
        "batchot-off-by-one": Control(
            fault={"batchot": FAULTY["batchot"]},
            breaks="0.25 V_CondOT - V_BatchOT",
            why="the BatchOT run paired one row off (x0[i] with the partner of x0[i+1])",
        ),
        "stable-shuffled-partners": Control(
            fault={"stable": FAULTY["stable"]},
            breaks="V_CondOT - V_Stable",
            why="the Stable run handing its partners out in a random order (pairs independent in law, not CondOT's)",
        ),
    },
)
def check_variance_proxy_ordering(
    run: RunSpec, batchot: str = "batchot", batcheot: str = "batcheot", stable: str = "stable"
) -> Verdict:
    """Reported 2-D toy ordering of the variance proxy: BatchOT < BatchEOT < CondOT, Stable < CondOT (paired over seeds).

    Controls: the BatchOT arm, then the Stable arm, paired one row off (x0[i] with the partner of x0[i+1]).
    """
    arms = arms_of(batchot, batcheot, stable)
    m = exp.variance_proxies(run, arms)
    ev = Evidence.of(f"{SRC}, 2-D toy variance table [reported]; spec mfm.md §3, §5", m)
    V = m.V
    why = f"spec §3 criterion (ordering of the paper's 2-D toy table, reported); {PAIRED}"
    ev.ordering("0.25 V_CondOT - V_BatchOT", paired(V["condot"], V["batchot"], 0.25), why=why, headline=True)
    ev.ordering("V_BatchEOT - V_BatchOT", paired(V["batcheot"], V["batchot"]), why=why)
    ev.ordering("V_CondOT - V_BatchEOT", paired(V["condot"], V["batcheot"]), why=why)
    ev.ordering("V_CondOT - V_Stable", paired(V["condot"], V["stable"]), why=why)
    for lab in arms:
        report_arm(ev, f"V {lab}", V[lab])
    order = sorted(arms, key=lambda lab: -V[lab].mean())
    ev.report("measured order (largest mean V first)", " > ".join(f"{lab} {V[lab].mean():.3g}" for lab in order))
    ev.report(
        "reported order (toy data set unknown; not comparable)",
        " > ".join(f"{lab} {v}" for lab, v in REPORTED_TOY_V.items()),
    )
    for eps, p in m.eot_variants.items():
        report_arm(ev, f"variant eot_eps_rel={eps}: V BatchEOT", p.V)
    return ev.verdict()
