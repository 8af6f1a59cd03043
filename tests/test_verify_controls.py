"""``memgen verify --controls``: each claim's negative controls in the verdict, the CLI and the ledger.

A control that does not fail on the comparison it names is a defect of the check: exit 3, a red
line in the CLI and in the ledger. A run without ``--controls`` says "controls not run".
"""

from __future__ import annotations

import dataclasses
import json

import pytest

import proofs_checks.registry as reg
from proofs_checks import verdicts_file as vf
from proofs_checks.claims import all_claims
from proofs_checks.cli import main
from proofs_checks.evidence import CONTROL_FIELDS, verdict_from_json

CHEAP = "common/gaussian-kl-closed-form"


def _claims(path) -> list[dict]:
    return json.loads(path.read_text())["claims"]


def _break_nothing(monkeypatch: pytest.MonkeyPatch, claim_id: str) -> str:
    """Point the first control of ``claim_id`` at a comparison the check does not make; returns its name."""
    spec = reg.get_check_spec(claim_id)
    name, control = next(iter(spec.controls.items()))
    controls = {**spec.controls, name: dataclasses.replace(control, breaks="no such comparison")}
    monkeypatch.setitem(reg._CHECKS, claim_id, dataclasses.replace(spec, controls=controls))
    return name


def test_common_paper_with_controls_records_and_shows_each_control(tmp_path, capsys):
    js = tmp_path / "v.json"
    assert main(["verify", "--paper", "common", "--controls", "--json", str(js)]) == 0
    n = sum(len(reg.controls_of(c.id)) for c in all_claims("common"))
    out = capsys.readouterr().out
    assert f"controls: {n} of {n} fail on the comparison they name" in out
    records = _claims(js)
    for rec in records:
        declared = reg.controls_of(rec["id"])
        assert list(rec["controls"]) == list(declared), "every control, by name, in declaration order"
        for name, c in rec["controls"].items():
            assert set(CONTROL_FIELDS) <= set(c)
            assert c["breaks"] == declared[name].breaks and c["why"] == declared[name].why
            assert c["broke"] and set(c["broke"]) <= set(c["failing"]), "broken comparisons by name"
            assert c["status"] in ("refuted", "inconclusive") and c["fails_as_it_should"]
    v = verdict_from_json(records[0])  # the typed outcome comes back from JSON
    assert v.controls is not None and not v.control_defects()

    md = (tmp_path / "ledger.md").read_text()
    assert f"Negative controls: {n} run, {n} fail on the comparison they name." in md
    w2 = reg.controls_of("common/gaussian-w2-closed-form")["no-mean-term"]
    assert f"(no-mean-term: {w2.why})" in md
    assert md.count("- fails as it should on: `") == n and "controls not run" not in md
    assert "| 2 of 2 fail as they should |" in md  # common/gaussian-w2-closed-form's row
    html = (tmp_path / "ledger.html").read_text()
    assert html.count("<li class='control-ok'") == n and "class='control-defect'" not in html
    ledger = json.loads((tmp_path / "ledger.json").read_text())
    assert ledger["controls"] == {"run": n, "fail_as_they_should": n, "defects": [], "claims_not_run": 0}
    (row,) = [c for c in ledger["papers"]["common"]["claims"] if c["id"] == CHEAP]
    assert set(row["controls"]) == set(reg.controls_of(CHEAP))


def test_a_control_that_does_not_break_exits_3_with_a_red_line(monkeypatch, tmp_path, capsys):
    name = _break_nothing(monkeypatch, CHEAP)
    js = tmp_path / "v.json"
    assert main(["verify", CHEAP, "--controls", "--json", str(js)]) == 3
    out = capsys.readouterr().out
    assert f"control {name}" in out and "does NOT fail as it should" in out
    assert "0 of 1 fail on the comparison they name; 1 do not" in out
    assert "1 of 1 did not fail" in out  # the claim's row
    (rec,) = _claims(js)
    c = rec["controls"][name]
    assert rec["status"] == "verified", "the claim's own status is unchanged"
    assert c["broke"] == [] and c["failing"] and not c["fails_as_it_should"]
    md = (tmp_path / "ledger.md").read_text()
    assert f"- **✗ control {name}" in md and "`no such comparison` passes with the fault" in md
    assert f"| **✗ 1 of 1 do NOT fail: {name}** |" in md  # the claim's row in the table of every claim
    html = (tmp_path / "ledger.html").read_text()
    assert f"<li class='control-defect' data-control='{name}'>" in html
    assert "<p id='controls-overview' class='control-defect'>" in html
    assert json.loads((tmp_path / "ledger.json").read_text())["controls"]["defects"] == [[CHEAP, name]]


def test_without_controls_the_ledger_says_not_run(tmp_path):
    js = tmp_path / "v.json"
    assert main(["verify", CHEAP, "--json", str(js)]) == 0
    (rec,) = _claims(js)
    assert rec["controls"] is None
    assert "Controls: controls not run (memgen verify --controls runs them)." in (tmp_path / "ledger.md").read_text()
    assert "not run for 1 claims" in (tmp_path / "ledger.html").read_text()


def test_verdicts_files_with_and_without_controls_are_valid(tmp_path):
    js = tmp_path / "v.json"
    assert main(["verify", CHEAP, "--controls", "--json", str(js)]) == 0
    data = json.loads(js.read_text())
    with_controls = data["claims"][0]
    without = {k: v for k, v in with_controls.items() if k != "controls"}  # a file written before controls
    vf.validate({"claims": [with_controls]}, "with")
    vf.validate({"claims": [without]}, "without")
    vf.validate({"claims": [{**without, "controls": None}]}, "not run")
    name = next(iter(with_controls["controls"]))
    bad = json.loads(json.dumps(with_controls))
    bad["controls"][name]["broke"] = "a formatted line"
    del bad["controls"][name]["status"]
    with pytest.raises(vf.VerdictsFileError, match=r"broke is a str, not a list.*has no 'status'"):
        vf.validate({"claims": [bad]}, "bad")
    with pytest.raises(vf.VerdictsFileError, match="controls is a list"):
        vf.validate({"claims": [{**without, "controls": []}]}, "bad")
    assert main(["report", "--out", str(tmp_path / "rep"), "--from", str(js)]) == 0


def test_resume_with_controls_reruns_claims_whose_controls_were_not_run(tmp_path, capsys):
    js = tmp_path / "v.json"
    assert main(["verify", CHEAP, "--json", str(js)]) == 0
    assert main(["verify", CHEAP, "--json", str(js), "--resume"]) == 0
    assert "resuming: 1 claims kept" in capsys.readouterr().err
    assert main(["verify", CHEAP, "--json", str(js), "--resume", "--controls"]) == 0
    assert "resuming" not in capsys.readouterr().err
    (rec,) = _claims(js)
    assert rec["controls"] and all(c["fails_as_it_should"] for c in rec["controls"].values())
    assert main(["verify", CHEAP, "--json", str(js), "--resume", "--controls"]) == 0
    assert "resuming: 1 claims kept" in capsys.readouterr().err


def test_a_control_is_a_defect_unless_the_fault_alone_breaks_the_named_comparison():
    from proofs_checks.evidence import ControlResult, control_from_json

    shown = ControlResult("max *", "a wrong law", ["max err"], ["max err", "mean"], "refuted", True, 0.1)
    sizes = dataclasses.replace(shown, positive_passed=False)  # the control's sizes already break it
    raised = dataclasses.replace(shown, status="error", broke=[], failing=[], error="ValueError: bad")
    assert shown.fails_as_it_should and shown.describe("w").startswith("fails as it should on: `max err` (w:")
    assert not sizes.fails_as_it_should and "positive case at the control's sizes already fails" in sizes.describe("w")
    assert not raised.fails_as_it_should and "it raised: ValueError: bad" in raised.describe("w")
    assert all(control_from_json(c.to_json()) == c for c in (shown, sizes, raised))


def test_a_control_that_cannot_run_is_a_defect_not_skipped(monkeypatch, tmp_path, capsys):
    spec = reg.get_check_spec(CHEAP)
    name, control = next(iter(spec.controls.items()))
    controls = {**spec.controls, name: dataclasses.replace(control, sizes={"bogus": 1})}
    monkeypatch.setitem(reg._CHECKS, CHEAP, dataclasses.replace(spec, controls=controls))
    js = tmp_path / "v.json"
    assert main(["verify", CHEAP, "--controls", "--json", str(js)]) == 3
    c = _claims(js)[0]["controls"][name]
    assert c["error"] and "bogus" in c["error"] and not c["fails_as_it_should"]
    assert "it raised" in capsys.readouterr().out
