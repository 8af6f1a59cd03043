"""The ``memgen`` command: exit codes, JSON/Markdown output, report, figures."""

from __future__ import annotations

import json
import subprocess
import sys

from proofs_checks.cli import main


def test_unknown_id_exits_2_with_closest(capsys):
    assert main(["verify", "common/does-not-exist"]) == 2
    err = capsys.readouterr().err
    assert "unknown claim id 'common/does-not-exist'" in err and "closest ids" in err


def test_bad_option_exits_2():
    assert main(["verify", "--paper", "nope"]) == 2
    assert main(["verify", "--workers", "-3", "common/gaussian-kl-closed-form"]) == 2


def test_verify_json_and_markdown(tmp_path, capsys):
    js, md = tmp_path / "v.json", tmp_path / "v.md"
    rc = main(
        [
            "verify",
            "common/gaussian-kl-closed-form",
            "common/gaussian-kl-zero-iff-equal",
            "--json",
            str(js),
            "--markdown",
            str(md),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "2 passed, 0 failed" in out
    data = json.loads(js.read_text())
    rec = data["claims"][0]
    for key in ("id", "tag", "passed", "status", "sizes", "spec_sizes", "measured", "expected", "tolerance", "seed"):
        assert key in rec
    assert rec["status"] == "verified"
    assert "| `common/gaussian-kl-closed-form` |" in md.read_text()


def test_verify_failure_exits_1(monkeypatch, tmp_path):
    import dataclasses

    import proofs_checks.registry as reg
    from proofs_checks.evidence import Evidence

    def failing(run):
        ev = Evidence("test")
        ev.within("x", 1.0, 2.0, atol=0.1, why="deliberately wrong")
        return ev.verdict()

    spec = reg.get_check_spec("common/gaussian-kl-closed-form")
    monkeypatch.setitem(reg._CHECKS, spec.claim_id, dataclasses.replace(spec, fn=failing))
    assert main(["verify", "common/gaussian-kl-closed-form"]) == 1


def test_report_from_json(tmp_path):
    js = tmp_path / "v.json"
    assert main(["verify", "common/gaussian-kl-closed-form", "--json", str(js)]) == 0
    assert main(["report", "--out", str(tmp_path / "rep"), "--from", str(js)]) == 0
    md = (tmp_path / "rep" / "ledger.md").read_text()
    assert "verified at spec size: 1 of 6" in md
    assert "derived for this project; the paper's exact form is not confirmed" in md
    assert (tmp_path / "rep" / "ledger.html").exists()
    ledger = json.loads((tmp_path / "rep" / "ledger.json").read_text())
    assert ledger["papers"]["common"]["counts"]["verified"] == 1
    assert ledger["papers"]["common"]["counts"]["not-run-at-spec"] == 5


def test_python_dash_m_works():
    r = subprocess.run([sys.executable, "-m", "proofs_checks", "verify", "nope/x"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown claim id" in r.stderr


def test_figures_unknown_id_exits_2(capsys):
    assert main(["figures", "mfm/fig-does-not-exist"]) == 2
