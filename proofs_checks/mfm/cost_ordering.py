"""Judge of ``mfm/coupling-cost-ordering``: per-batch coupling costs."""

from __future__ import annotations

from numerics.couplings import batch_ot_coupling, stable_coupling
from numerics.experiments import RunSpec
from numerics.experiments.mfm import cost_ordering as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


@check(
    "mfm/coupling-cost-ordering",
    title="per batch, BatchOT cost ≤ every other coupling's cost",
    tag="derived",
    kinds=("symbolic",),
    tier=exp.COST_ORDERING,
    controls={
        "stable-as-batchot": Control(
            fault={"batchot": stable_coupling},
            breaks="max over batches of c(BatchOT) - c(*)",
            sizes={"batches": 50},
            why="the stable matching in place of BatchOT",
        )
    },
)
def check_cost_ordering(run: RunSpec, batchot=batch_ot_coupling) -> Verdict:
    """On every batch BatchOT's cost is at most that of Stable, CondOT, a random permutation and the EOT plan.

    Control: Stable in place of BatchOT.
    """
    m = exp.cost_ordering(run, batchot)
    costs = m.costs
    ev = Evidence("spec mfm.md §1.6, §3 (derived: BatchOT minimises over B_k)", m.seeds["batches"])
    for other in ("stable", "condot", "random_perm", "eot_plan"):
        ev.at_most(
            f"max over batches of c(BatchOT) - c({other})",
            (costs["batchot"] - costs[other]).max(),
            1e-12,
            basis="theory",
            why="exact inequality; slack 1e-12",
            headline=other == "stable",
        )
    for n, c in costs.items():
        ev.report(f"mean cost {n}", float(c.mean()))
    ev.report(f"example batch (k={len(m.example.x0)}): mean pair cost per coupling", m.example.cost)
    return ev.verdict()
