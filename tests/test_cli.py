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
        ev.within("x", 1.0, 2.0, atol=0.1, why="deliberately wrong", basis="numerical")
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
    assert ledger["papers"]["common"]["counts"]["not-run"] == 5


def test_python_dash_m_works():
    r = subprocess.run([sys.executable, "-m", "proofs_checks", "verify", "nope/x"], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown claim id" in r.stderr


def test_figures_unknown_id_exits_2(capsys):
    assert main(["figures", "mfm/fig-does-not-exist"]) == 2


def test_unwritable_output_is_a_usage_error_before_any_check(tmp_path, capsys, monkeypatch):
    import proofs_checks.runner as runner

    monkeypatch.setattr(runner, "run_check", lambda *a, **k: (_ for _ in ()).throw(AssertionError("ran a check")))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["verify", "common/gaussian-kl-closed-form", "--json", str(blocker / "v.json")]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert main(["verify", "common/gaussian-kl-closed-form", "--markdown", str(tmp_path)]) == 2
    assert main(["verify", "common/gaussian-kl-closed-form", "--resume"]) == 2


def test_verdicts_written_as_each_claim_finishes_and_resume(tmp_path, monkeypatch):
    import proofs_checks.runner as runner

    js = tmp_path / "v.json"
    ids = ["common/gaussian-kl-closed-form", "common/gaussian-kl-zero-iff-equal", "common/gaussian-kl-monte-carlo"]
    real = runner.run_check
    seen = []

    def interrupt_third(cid, run):
        seen.append(cid)
        if len(seen) == 3:
            raise KeyboardInterrupt
        return real(cid, run)

    monkeypatch.setattr(runner, "run_check", interrupt_third)
    assert main(["verify", *ids, "--json", str(js)]) == 130
    partial = json.loads(js.read_text())
    assert partial["complete"] is False and [c["id"] for c in partial["claims"]] == ids[:2]

    seen.clear()
    monkeypatch.setattr(runner, "run_check", lambda cid, run: seen.append(cid) or real(cid, run))
    assert main(["verify", *ids, "--json", str(js), "--resume"]) == 0
    assert seen == ids[2:]  # the two finished claims are kept, not rerun
    final = json.loads(js.read_text())
    assert final["complete"] is True and [c["id"] for c in final["claims"]] == ids
    assert oct(js.stat().st_mode & 0o777) == oct(0o644 & ~_umask())


def _umask() -> int:
    import os

    m = os.umask(0)
    os.umask(m)
    return m


def test_report_validates_its_input(tmp_path, capsys):
    bad = {
        "empty-object": {},
        "list": [],
        "string": "hello",
        "no-id": {"claims": [{"passed": True, "status": "verified", "comparisons": []}]},
        "unknown-id": {
            "claims": [{"id": "mfm/nope", "passed": True, "status": "verified", "comparisons": [], "seconds": 0.1}]
        },
    }
    for name, payload in bad.items():
        f = tmp_path / f"{name}.json"
        f.write_text(json.dumps(payload))
        assert main(["report", "--from", str(f), "--out", str(tmp_path / "rep")]) == 2, name
        err = capsys.readouterr().err
        assert str(f) in err, (name, err)
    assert "mfm/nope" in err
    (tmp_path / "broken.json").write_text("{not json")
    assert main(["report", "--from", str(tmp_path / "broken.json"), "--out", str(tmp_path / "rep")]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_check_that_raises_exits_3(monkeypatch):
    import dataclasses

    import proofs_checks.registry as reg

    def boom(run):
        raise RuntimeError("a bug in the check")

    spec = reg.get_check_spec("common/gaussian-kl-closed-form")
    monkeypatch.setitem(reg._CHECKS, spec.claim_id, dataclasses.replace(spec, fn=boom))
    assert main(["verify", "common/gaussian-kl-closed-form"]) == 3


def test_path_option_is_checked_before_work_and_recorded(tmp_path, capsys):
    assert main(["verify", "gao-li/cond-ot-field", "--path", "alpha=t; sigma=t"]) == 2
    assert "sigma_0 must be > 0" in capsys.readouterr().err
    js = tmp_path / "v.json"
    rc = main(
        ["verify", "gao-li/velocity-orthogonal-split", "gao-li/cond-ot-field", "--path", "cosine", "--json", str(js)]
    )
    assert rc == 0
    assert "followed by 1 claims; 1 ran on their own path" in capsys.readouterr().out
    records = {r["id"]: r for r in json.loads(js.read_text())["claims"]}
    assert records["gao-li/velocity-orthogonal-split"]["details"]["path"]["name"] == "cosine"
    assert "not applied" in records["gao-li/cond-ot-field"]["details"]["path"]
