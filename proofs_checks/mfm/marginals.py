"""Judge of ``mfm/lemma-4.1-marginals``: Lemma 4.1."""

from __future__ import annotations

from numerics.couplings import batch_ot_coupling
from numerics.experiments import RunSpec
from numerics.experiments.mfm import marginals as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.mfm._common import FOUR_SE
from proofs_checks.registry import Control, check


@check(
    "mfm/lemma-4.1-marginals",
    title="minibatch couplings preserve both marginals",
    tag="reported",
    kinds=("monte-carlo",),
    tier=exp.LEMMA_41,
    controls={
        "nearest-neighbour-pairing": Control(
            fault={"batchot": exp.nearest_neighbour_pairing},
            breaks="batchot/*: min KS p over 6 projections",
            sizes={"couplings": ("condot", "batchot")},
            why="each x0 takes its nearest x1 (with replacement): not a coupling of the marginals",
        )
    },
)
def check_lemma_41(run: RunSpec, batchot=batch_ot_coupling) -> Verdict:
    """Lemma 4.1: every minibatch coupling preserves both marginals (KS, moments, plan sums); the OT-type ones are dependent.

    Control: nearest-neighbour pairing in place of BatchOT.
    """
    m = exp.marginal_tests(run, batchot)
    tests = m.tests
    sz = run.sizes(exp.LEMMA_41)
    ev = Evidence("Lemma 4.1 (reported), spec mfm.md §1.6, §2, §3", m.seeds["batches"])
    for r in tests:
        tag = f"{r.coupling}/{r.target}"
        ev.p_value(
            f"{tag}: min KS p over 6 projections",
            r.ks_p.min(),
            alpha=0.01 / 6,
            why="KS at a fixed seed, Bonferroni over 6 tests",
        )
        for name, z in r.moment_z.items():
            ev.at_most(f"{tag}: {name} max |mean, cov error| / SE", z, 4.0, basis="statistical", why=FOUR_SE)
        entropic = r.coupling.startswith("batcheot")
        ev.at_most(
            f"{tag}: plan row/col sum error",
            r.plan_error,
            1e-9 if entropic else 1e-12,
            basis="numerical",
            why="Sinkhorn tolerance 1e-10 on marginals" if entropic else "permutation (exact)",
        )
        if r.coupling == "condot":
            ev.at_most(
                f"{tag}: |E x0.(x1-mu)| / SE (independent)", abs(r.dependence_z), 4.0, basis="statistical", why=FOUR_SE
            )
        else:
            ev.at_least(
                f"{tag}: E x0.(x1-mu) / SE (positive dependence)", r.dependence_z, 4.0, basis="statistical", why=FOUR_SE
            )
    ev.p_value(
        "min KS p over couplings, targets and projections",
        min(r.ks_p.min() for r in tests),
        alpha=0.01 / 6,
        why="per (coupling, target): Bonferroni over its 6 tests",
        headline=True,
    )
    ev.detail("k, batches", [sz.k, sz.batches])
    return ev.verdict()
