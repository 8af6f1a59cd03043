"""The claim registry: ids, duplicates, errors never pass, verdict bookkeeping."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from proofs_checks.catalog import CLAIMS
from proofs_checks.registry import (
    Context,
    Evidence,
    RegistryError,
    all_claims,
    check,
    checked_ids,
    get_claim,
    run_check,
)

TESTS = Path(__file__).resolve().parent


def test_catalog_matches_spec_index():
    per_paper = {p: sum(c.paper == p for c in CLAIMS.values()) for p in ("gao-li", "mfm", "merger-goldt")}
    assert per_paper == {"gao-li": 22, "mfm": 22, "merger-goldt": 19}
    for cid in CLAIMS:
        assert re.fullmatch(r"(common|gao-li|mfm|merger-goldt)/[a-z0-9.\-]+", cid), cid


def test_every_claim_has_a_check_and_a_test():
    have = checked_ids()
    missing_checks = sorted(set(CLAIMS) - have)
    assert not missing_checks, f"claims with no registered check: {missing_checks}"
    text = "\n".join(p.read_text() for p in TESTS.glob("test_*.py"))
    untested = [cid for cid in CLAIMS if f'"{cid}"' not in text]
    assert not untested, f"claims named by no test: {untested}"


def test_unknown_id_names_closest():
    with pytest.raises(RegistryError, match="closest ids: common/gaussian-kl"):
        get_claim("common/gaussian-kl-closed")
    with pytest.raises(RegistryError, match="unknown paper"):
        all_claims("nope")


def test_cannot_register_unknown_or_duplicate():
    with pytest.raises(RegistryError, match="unknown claim id"):
        check("common/not-a-claim")
    with pytest.raises(RegistryError, match="duplicate check"):

        @check("common/gaussian-kl-closed-form")
        def another(ctx):  # pragma: no cover - never runs
            raise AssertionError


def test_check_that_raises_is_an_error_not_a_pass(monkeypatch):
    import proofs_checks.registry as reg

    def boom(ctx):
        raise RuntimeError("broken check")

    monkeypatch.setitem(reg._CHECKS, "common/gaussian-kl-closed-form", boom)
    v = run_check("common/gaussian-kl-closed-form", Context())
    assert not v.passed and v.status == "error" and "broken check" in v.error


def test_check_that_asserts_nothing_is_an_error(monkeypatch):
    import proofs_checks.registry as reg

    def only_reports(ctx):
        ev = Evidence("nowhere")
        ev.report("x", 1.0)
        return ev.verdict()

    monkeypatch.setitem(reg._CHECKS, "common/gaussian-kl-closed-form", only_reports)
    v = run_check("common/gaussian-kl-closed-form", Context())
    assert v.status == "error" and "could never fail" in v.error


def test_evidence_comparisons():
    ev = Evidence("test", seed=3)
    assert ev.within("a", 1.0 + 1e-13, 1.0, rtol=1e-12, why="r")
    assert not ev.within("nan", float("nan"), 1.0, atol=1.0, why="NaN fails")
    assert ev.at_most("b", [1, 2], 2, why="r")
    assert not ev.at_least("c", [1, 2], 2, why="r")
    assert ev.p_value("p", 0.3, alpha=0.01, why="r")
    ev.report("only reported", 5)
    v = ev.verdict()
    assert not v.passed and v.seed == 3
    js = v.to_json()
    assert "only reported" not in js["measured"] and js["measured"]["a"] == pytest.approx(1.0)


def test_context_seed_streams():
    assert Context().seed_for(7) == 7
    a, b = Context(seed=1).rng(7).normal(), Context(seed=1).rng(7).normal()
    assert a == b and a != Context(seed=2).rng(7).normal()
