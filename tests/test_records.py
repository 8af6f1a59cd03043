"""Spec-size records (:mod:`proofs_checks.records`): the committed ones, their schema, current or stale, the ledger."""

from __future__ import annotations

import copy
import json

import pytest

from numerics.cache import DiskCache
from numerics.experiments import RunSpec
from proofs_checks import records
from proofs_checks.claims import all_claims, get_claim
from proofs_checks.cli import main
from proofs_checks.registry import run_check
from proofs_checks.report import build_ledger, ledger_markdown
from proofs_checks.runner import pool_tasks, prerequisites

CHEAP = "common/gaussian-kl-closed-form"
TRAINED = (
    "mfm/variance-proxy-ordering",
    "mfm/gradient-variance-reduction",
    "mfm/straighter-flows-consistency",
    "mfm/theorem-4.2-variance-straightness-limit",
    "mfm/lower-transport-cost-high-dim",
)


# ------------------------------------------------------------------------ the committed records
def test_every_claim_has_a_committed_record_that_matches_the_schema() -> None:
    ids = [c.id for c in all_claims()]
    missing = [cid for cid in ids if not records.record_path(cid, records.RECORDS_DIR).is_file()]
    assert not missing, f"claims without a spec-size record: {missing}"
    problems = []
    for cid in ids:
        path = records.record_path(cid, records.RECORDS_DIR)
        problems += records.validate_record(json.loads(path.read_text()), str(path))
        rec = json.loads(path.read_text())
        if rec["id"] != cid:
            problems.append(f"{path}: id {rec['id']}")
        if rec["short_of_spec"]:
            problems.append(f"{path}: measured below the spec's sizes ({rec['short_of_spec']})")
    assert not problems, problems
    stray = {p.relative_to(records.RECORDS_DIR).as_posix() for p in records.RECORDS_DIR.rglob("*.json")}
    assert stray == {
        records.record_path(cid, records.RECORDS_DIR).relative_to(records.RECORDS_DIR).as_posix() for cid in ids
    }


# ------------------------------------------------------------------------ building, reading, schema
def _verdicts(claim_id: str = CHEAP) -> tuple[dict, dict]:
    fast = run_check(claim_id, RunSpec()).to_json()
    spec = run_check(claim_id, RunSpec(tier="spec")).to_json()
    return fast, spec


def _record(tmp_path, claim_id: str = CHEAP) -> tuple[dict, dict]:
    fast, spec = _verdicts(claim_id)
    rec = records.make_record(spec, fast, {"commit": "abc", "seed": None}, records.machine(2, 1))
    records.write_record(rec, tmp_path)
    return records.load_record(claim_id, tmp_path), fast


def test_a_record_round_trips_and_matches_the_schema(tmp_path) -> None:
    rec, _ = _record(tmp_path)
    assert records.validate_record(rec, "x") == []
    assert rec["status"] == "verified" and rec["tier"] == "spec" and rec["commit"] == "abc"
    assert set(records.MACHINE_KEYS) <= set(rec["machine"])
    assert rec["fast"]["measured"] == records.measured_values(rec)  # this claim runs at the spec's sizes


def test_a_malformed_record_is_named(tmp_path) -> None:
    rec, _ = _record(tmp_path)
    bad = {k: v for k, v in rec.items() if k != "commit"} | {"status": "fine", "format": 99}
    problems = records.validate_record(bad, "f.json")
    assert any("'commit'" in p for p in problems)
    path = records.record_path(CHEAP, tmp_path)
    path.write_text("{not json")
    with pytest.raises(records.RecordError, match="JSONDecodeError"):
        records.load_record(CHEAP, tmp_path)
    assert isinstance(records.load_records([CHEAP], tmp_path)[CHEAP], str)  # the ledger shows the problem
    path.write_text(json.dumps(rec | {"format": 99}))
    assert "format 99" in records.load_records([CHEAP], tmp_path)[CHEAP]


# ------------------------------------------------------------------------ current or stale, by measurement
def test_a_run_that_measures_the_record_again_finds_it_current(tmp_path) -> None:
    rec, fast = _record(tmp_path)
    state = records.record_state(rec, fast, {"seed": None})
    assert state.state == "current" and state.moved == [] and "current" in state.text()


def test_a_moved_value_makes_the_record_stale_and_is_named(tmp_path) -> None:
    rec, fast = _record(tmp_path)
    moved = copy.deepcopy(fast)
    c = moved["comparisons"][0]
    c["measured"] = [x * (1 + 1e-4) for x in c["measured"]]
    state = records.record_state(rec, moved, {"seed": None})
    assert state.state == "stale" and state.moved == [c["name"]]
    assert "STALE" in state.text()
    # rounding is not a move; a gone or added comparison is
    close = copy.deepcopy(fast)
    close["comparisons"][0]["measured"] = [x * (1 + 1e-9) for x in fast["comparisons"][0]["measured"]]
    assert records.record_state(rec, close, {"seed": None}).state == "current"
    renamed = copy.deepcopy(fast)
    renamed["comparisons"][0]["name"] += " (new)"
    assert len(records.record_state(rec, renamed, {"seed": None}).moved) == 2


def test_runs_that_measure_something_else_are_not_compared(tmp_path) -> None:
    rec, fast = _record(tmp_path)
    assert records.record_state(rec, fast, {"seed": 3}).state == "not comparable"
    on_path = copy.deepcopy(fast) | {"details": {"path": {"alpha": "t"}}}
    assert records.record_state(rec, on_path, {"seed": None}).state == "not comparable"
    spec_only = rec | {"fast": None}
    assert records.record_state(spec_only, fast, {"seed": None}).state == "not comparable"
    assert records.record_state(None, fast, {}).state == "none"


def test_same_value_to_rounding() -> None:
    assert records.same_value([1.0, {"a": 2.0}], [1.0 + 1e-12, {"a": 2.0}])
    assert not records.same_value([1.0], [1.0, 2.0])
    assert not records.same_value(1.0, 1.001)
    assert records.same_value(float("nan"), float("nan"))
    assert records.same_value("a > b", "a > b") and not records.same_value(True, 1)


def test_the_ledger_shows_the_record_beside_the_run(tmp_path, monkeypatch) -> None:
    _, fast = _record(tmp_path)
    monkeypatch.setenv("MEMGEN_RECORDS", str(tmp_path))
    ledger = build_ledger([fast], None, {"seed": None, "tier": "fast"})
    row = next(r for p in ledger["papers"] for r in p["rows"] if r["claim"].id == CHEAP)
    assert row["record_state"].state == "current"
    md = ledger_markdown(ledger)
    assert "spec-size records: 1 of" in md and "verified at spec size" in md and "This run: current." in md


# ------------------------------------------------------------------------ the command
def test_record_needs_full(capsys) -> None:
    assert main(["verify", "--record", CHEAP]) == 2
    assert "--full" in capsys.readouterr().err


def test_verify_full_record_writes_one_record_per_claim(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv(records.RECORDS_ENV, "")  # --records-dir sets it for this process: restored afterwards
    rc = main(["verify", "--full", "--record", "--records-dir", str(tmp_path), CHEAP, "common/gaussian-w2-closed-form"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "records: 2 written" in out and "time per claim" in out
    for cid in (CHEAP, "common/gaussian-w2-closed-form"):
        rec = records.load_record(cid, tmp_path)
        assert rec is not None and rec["fast"] is not None and rec["status"] == "verified"


# ------------------------------------------------------------------------ training run ahead
def test_prerequisites_are_shared_and_never_trained_twice(tmp_path) -> None:
    run = RunSpec(cache=DiskCache(tmp_path))
    claims = [get_claim(c) for c in TRAINED]
    needs = prerequisites(claims, run, controls=True)
    kept = {p.key: p for ps in needs.values() for p in ps}
    assert all(needs[c] for c in TRAINED)
    for a in kept.values():  # no kept prerequisite does work another one also does
        assert not any(a.parts & b.parts for b in kept.values() if b is not a)
    # the 5-seed CondOT arm of the variance proxy is part of the 26-seed arm of the k sweep
    assert len(kept) < sum(len(get_claim_plan(c, run)) for c in TRAINED)
    tasks = pool_tasks(claims, run, True, {})
    planned = [t for t in tasks if t.claims]
    assert sorted(c.id for t in planned for c in t.claims) == sorted(TRAINED)
    assert all(len(t.claims) == 1 and t.after for t in planned)  # alone, after their training
    assert {t.prerequisite.key for t in tasks if t.prerequisite is not None} == set(kept)


def get_claim_plan(claim_id: str, run: RunSpec) -> list:
    from proofs_checks.registry import get_check_spec

    return get_check_spec(claim_id).prerequisites(run, controls=True)


def test_no_prerequisites_without_a_disk_cache() -> None:
    assert prerequisites([get_claim(c) for c in TRAINED], RunSpec()) == {c: [] for c in TRAINED}


# ------------------------------------------------------------------------ regenerating a committed record
@pytest.mark.slow
def test_a_regenerated_record_measures_the_committed_values(tmp_path, monkeypatch) -> None:
    """A cheap claim recorded again from this checkout: same status and the same values, to rounding."""
    monkeypatch.setenv(records.RECORDS_ENV, "")  # --records-dir sets it for this process: restored afterwards
    cid = "gao-li/terminal-law"
    committed = records.load_record(cid, records.RECORDS_DIR)
    assert main(["verify", "--full", "--record", "--records-dir", str(tmp_path), cid]) in (0, 1)
    fresh = records.load_record(cid, tmp_path)
    assert fresh["status"] == committed["status"]
    then, now = records.measured_values(committed), records.measured_values(fresh)
    assert then.keys() == now.keys()
    assert [n for n in then if not records.same_value(then[n], now[n])] == []
    assert records.same_value(committed["fast"]["measured"], fresh["fast"]["measured"])


@pytest.mark.slow
def test_training_run_ahead_on_a_pool_gives_the_in_process_numbers(tmp_path) -> None:
    """The arms trained ahead as prerequisites (two workers, a disk cache) are the models a claim trains itself."""
    import concurrent.futures as cf
    import multiprocessing as mp

    from proofs_checks.runner import PREREQUISITE_SECONDS, run_claims

    cid = "mfm/gradient-variance-reduction"
    alone = run_check(cid, RunSpec()).to_json()
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        [pooled] = run_claims([get_claim(cid)], RunSpec(executor=pool, cache=DiskCache(tmp_path)))
    assert len(PREREQUISITE_SECONDS) == 2 and set(pooled.details["prerequisite_seconds"]) == set(PREREQUISITE_SECONDS)
    assert records.same_value(records.measured_values(pooled.to_json()), records.measured_values(alone))


def test_the_ledger_lists_the_committed_records_that_are_not_verified() -> None:
    """With no run at all, the ledger still shows every committed record, and the not-verified ones with why."""
    from proofs_checks.report import ledger_html

    ledger = build_ledger([], None, {})
    listed = {x["claim"]: x for p in ledger["papers"] for x in p["not_reproduced"] if x["claim"]}
    committed = records.load_records([c.id for c in all_claims()], records.RECORDS_DIR)
    not_verified = {cid for cid, r in committed.items() if r["status"] not in ("verified", "verified-reduced")}
    assert not_verified <= set(listed)
    for cid in not_verified:
        assert listed[cid]["status"].startswith("spec-size record") and listed[cid]["text"]
    assert ledger["records"]["none"] == 0 and "spec-size records:" in ledger_markdown(ledger)
    assert "records-overview" in ledger_html(ledger)
