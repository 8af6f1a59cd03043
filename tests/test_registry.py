"""The catalog and the registry: ids, duplicates, controls as data, errors never pass."""

from __future__ import annotations

import dataclasses
import re

import pytest

from numerics.experiments import RunSpec
from proofs_checks.claims import CLAIMS, Claim, Paper, all_claims, get_claim, papers
from proofs_checks.evidence import Evidence, RegistryError, Verdict, describe_failure
from proofs_checks.registry import Control, check, get_check_spec, run_check


def test_catalog_matches_spec_index():
    per_paper = {p.id: len(p.claims) for p in papers()}
    assert {k: per_paper[k] for k in ("gao-li", "mfm", "merger-goldt")} == {"gao-li": 23, "mfm": 22, "merger-goldt": 19}
    for cid in CLAIMS:
        assert re.fullmatch(r"[a-z0-9-]+/[a-z0-9.\-]+", cid), cid


def test_unknown_id_names_closest():
    with pytest.raises(RegistryError, match="closest ids: common/gaussian-kl"):
        get_claim("common/gaussian-kl-closed")
    with pytest.raises(RegistryError, match="unknown paper"):
        all_claims("nope")


def test_bad_catalog_rows_are_refused():
    with pytest.raises(RegistryError, match="tag"):
        Claim("toy/x", "t", "rumour", ("symbolic",))
    with pytest.raises(RegistryError, match="look like"):
        Claim("no-prefix", "t", "derived", ("symbolic",))
    with pytest.raises(RegistryError, match="lowercase"):
        Paper("Toy", "T", "s")


def test_claims_are_declared_once_on_their_check():
    c = get_claim("common/gaussian-kl-closed-form")
    assert get_check_spec(c.id).fn.claim_id == c.id and c.tag == "derived" and c.kinds == ("symbolic",)
    spec = get_check_spec("common/gaussian-kl-closed-form")
    meta = dict(title=c.title, tag=c.tag, kinds=c.kinds)
    with pytest.raises(RegistryError, match="duplicate check"):

        @check("common/gaussian-kl-closed-form", **meta)
        def another(run):  # pragma: no cover - never runs
            raise AssertionError

    with pytest.raises(RegistryError, match="duplicate claim id"):  # one id, two statements
        check("common/gaussian-kl-closed-form", **{**meta, "title": "another statement"})(spec.fn)

    with pytest.raises(RegistryError, match="not arguments of the check"):
        check("common/gaussian-kl-closed-form", **meta, controls={"x": Control(fault={"nope": 1}, breaks="*")})(spec.fn)
    with pytest.raises(RegistryError, match="fault"):
        Control(fault={}, breaks="x")


def test_check_that_raises_is_an_error_not_a_pass(monkeypatch):
    import proofs_checks.registry as reg

    def boom(run):
        raise RuntimeError("broken check")

    spec = get_check_spec("common/gaussian-kl-closed-form")
    monkeypatch.setitem(reg._CHECKS, spec.claim_id, dataclasses.replace(spec, fn=boom))
    v = run_check("common/gaussian-kl-closed-form")
    assert not v.passed and v.status == "error" and "broken check" in v.error


def test_check_that_asserts_nothing_is_an_error(monkeypatch):
    import proofs_checks.registry as reg

    def only_reports(run):
        ev = Evidence("nowhere")
        ev.report("x", 1.0)
        return ev.verdict()

    spec = get_check_spec("common/gaussian-kl-closed-form")
    monkeypatch.setitem(reg._CHECKS, spec.claim_id, dataclasses.replace(spec, fn=only_reports))
    v = run_check("common/gaussian-kl-closed-form")
    assert v.status == "error" and "could never fail" in v.error


def test_evidence_comparisons_and_headline():
    ev = Evidence("test", seed=3)
    assert ev.within("a", 1.0 + 1e-13, 1.0, rtol=1e-12, why="r", basis="numerical")
    assert not ev.within("nan", float("nan"), 1.0, atol=1.0, why="NaN fails", basis="numerical")
    assert ev.at_most("b", [1, 2], 2, why="r", basis="theory", headline=True)
    assert not ev.at_least("c", [1, 2], 2, why="r", basis="spec")
    assert ev.p_value("p", 0.3, alpha=0.01, why="r")
    with pytest.raises(RegistryError, match="basis"):
        ev.at_most("no basis", 1, 2, why="r", basis="")
    ev.report("only reported", 5)
    with pytest.raises(RegistryError, match="unique"):
        ev.report("a", 1)
    v = ev.verdict()
    assert not v.passed and v.seed == 3 and v.status == "refuted"
    assert js_basis(v) == {"a": "numerical", "nan": "numerical", "b": "theory", "c": "spec", "p": "statistical"}
    assert v.headline().name == "nan"  # the first failing comparison
    js = v.to_json()
    assert "only reported" not in js["measured"] and js["measured"]["a"] == pytest.approx(1.0)


def js_basis(v: Verdict) -> dict[str, str]:
    return v.to_json()["basis"]


def test_status_from_sizes():
    v = Verdict("x/y", True, "s", short_of_spec=["steps"])
    assert v.status == "verified-reduced"
    assert Verdict("x/y", True, "s").status == "verified"
    assert Verdict("x/y", False, "s", error="boom").status == "error"


def _orderings(**diffs: list[float]) -> Verdict:
    ev = Evidence("test")
    for name, d in diffs.items():
        ev.ordering(name, d, why="r")
    return ev.verdict()


def test_orderings_separate_not_shown_from_refuted():
    shown = _orderings(a=[1.0, 1.1, 0.9, 1.05, 0.95], b=[2.0, 2.2, 1.9, 2.1, 2.05])
    assert shown.status == "verified" and shown.passed
    assert shown.comparisons[0].test["level"] in (0.005, 0.01)  # Holm over two orderings
    weak = _orderings(a=[1.0, 1.1, 0.9, 1.05, 0.95], b=[0.6282, 0.2133, -0.2380, 0.1944, 0.4172])
    assert weak.status == "inconclusive" and not weak.passed
    b = weak.comparisons[1]
    assert b.test["p"] == pytest.approx(0.083, abs=1e-3) and b.test["seeds_for_power"] == 26
    assert "26 seeds" in describe_failure(b)
    against = _orderings(a=[-1.0, -1.1, -0.9, -1.05, -0.95])
    assert against.status == "refuted" and against.comparisons[0].test["against"]
    identical = _orderings(a=[0.0] * 5)  # an arm identical to the other shows nothing
    assert identical.status == "inconclusive" and identical.comparisons[0].test["p"] == 1.0
    # intersection-union: every part must hold; its p is the weakest part's
    iut = _orderings(all={"x": [1.0, 1.1, 0.9], "y": [0.1, -0.2, 0.05]})
    assert iut.status == "inconclusive" and "weakest is y" in iut.comparisons[0].test["union"]


def test_precondition_and_interval_make_a_verdict_inconclusive_not_refuted():
    ev = Evidence("test")
    ev.at_most("claim", 1.0, 2.0, why="r", basis="theory")
    ev.at_most("maps transport", 3.0, 2.0, why="r", basis="spec", role="precondition")
    assert ev.verdict().status == "inconclusive"
    ev = Evidence("test")
    ev.interval_below("copies", 0.4, (0.3, 0.6), 0.5, why="r")
    assert ev.verdict().status == "inconclusive"
    ev = Evidence("test")
    ev.interval_below("copies", 0.99, (0.97, 1.0), 0.5, why="r")
    assert ev.verdict().status == "refuted"


def test_run_spec_seed_streams_and_validation():
    assert RunSpec().seed_for(7) == 7
    a, b = RunSpec(seed=1).rng(7).normal(), RunSpec(seed=1).rng(7).normal()
    assert a == b and a != RunSpec(seed=2).rng(7).normal()
    with pytest.raises(ValueError, match="non-negative"):
        RunSpec(seed=-1)
    with pytest.raises(ValueError, match="tier"):
        RunSpec(tier="huge")


def test_evidence_of_a_measurement_carries_its_seeds_sizes_and_settings():
    from dataclasses import dataclass

    from numerics.experiments import Measurement, Sizes

    @dataclass(frozen=True)
    class Steps(Sizes):
        steps: int = 10

    @dataclass(frozen=True)
    class Toy(Measurement):
        value: float

    m = Toy(1.0, seeds={"starts": 52}, sizes=Steps(), settings={"rtol": 1e-9})
    ev = Evidence.of("toy", m)
    ev.within("value", m.value, 1.0, why="r", basis="numerical")
    v = ev.verdict()
    assert v.seed == {"starts": 52} and v.details == {"settings": {"rtol": 1e-9}, "measured_at": {"steps": 10}}
