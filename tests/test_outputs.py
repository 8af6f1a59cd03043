"""No file is overwritten that should not be: links, devices, folders, collisions and empty names are
refused before any check runs; files are written before anything is printed; a full disk stops the
run with the finished verdicts kept; malformed verdict records are a usage error."""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import proofs_checks.runner as runner
from proofs_checks import outputs
from proofs_checks import verdicts_file as vf
from proofs_checks.cli import main

QUICK = "common/gaussian-kl-closed-form"
QUICK2 = "common/gaussian-kl-zero-iff-equal"


@pytest.fixture
def no_checks(monkeypatch):
    """Refusals must come before any check runs."""
    monkeypatch.setattr(runner, "run_check", lambda *a, **k: pytest.fail("a check ran"))


def test_a_symlinked_json_is_refused_and_left_alone(tmp_path, no_checks, capsys):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "v.json"
    link.symlink_to(target)
    assert main(["verify", QUICK, "--json", str(link)]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert link.is_symlink() and target.read_text() == "keep me"
    assert not (tmp_path / "ledger.json").exists()


def test_devices_and_pipes_are_refused_and_not_replaced(tmp_path, no_checks, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main(["verify", QUICK, "--json", str(fifo)]) == 2
    assert main(["verify", QUICK, "--markdown", "/dev/null"]) == 2
    assert main(["verify", QUICK, "--json", "/dev/null"]) == 2
    assert capsys.readouterr().err.count("not a regular file") == 3
    assert stat.S_ISFIFO(fifo.stat().st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert not Path("/dev/ledger.json").exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--json", "{d}/ledger.json"], "same file"),
        (["--json", "{d}/v.json", "--markdown", "{d}/v.json"], "same file"),
        (["--json", "{d}/v.json", "--markdown", "{d}/../d/ledger.md"], "same file"),
        (["--json", ""], "empty"),
        (["--markdown", " "], "empty"),
        (["--json", "{d}"], "directory"),
    ],
)
def test_colliding_or_empty_outputs_are_refused(tmp_path, no_checks, capsys, args, named):
    d = tmp_path / "d"
    d.mkdir()
    assert main(["verify", QUICK, *[a.format(d=d) for a in args]]) == 2
    assert named in capsys.readouterr().err
    assert list(d.iterdir()) == []


def test_report_and_figures_refuse_bad_outputs(tmp_path, capsys):
    rep = tmp_path / "rep"
    rep.mkdir()
    source = rep / "ledger.json"
    source.write_text("{}")
    assert main(["report", "--from", str(source), "--out", str(rep)]) == 2
    assert "input would be overwritten" in capsys.readouterr().err
    assert source.read_text() == "{}"
    assert main(["report", "--out", ""]) == 2
    assert main(["figures", "--out", ""]) == 2
    (tmp_path / "file").write_text("x")
    assert main(["figures", "--out", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err.count("--out") == 3


class _ClosedStdout:
    """A standard output whose reader has gone (``memgen verify ... | head -1``)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return False


def test_files_are_written_before_printing_so_a_closed_stdout_loses_nothing(tmp_path, monkeypatch):
    js, md = tmp_path / "v.json", tmp_path / "v.md"
    with tempfile.TemporaryFile() as sink:
        monkeypatch.setattr("sys.stdout", _ClosedStdout(sink.fileno()))
        try:
            rc = main(["verify", QUICK, "--json", str(js), "--markdown", str(md)])
        except SystemExit as exc:  # rich's own handling of a closed pipe: quiet, then exit 1
            rc = exc.code
    assert rc in (1, 141)
    assert json.loads(js.read_text())["complete"] is True
    assert QUICK in md.read_text() and (tmp_path / "ledger.html").exists()


def test_a_full_disk_stops_the_run_and_keeps_what_finished(tmp_path, monkeypatch, capsys):
    js = tmp_path / "v.json"
    real = vf.atomic_write_text
    writes = []

    def full_after_first(path, text):
        writes.append(path)
        if len(writes) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, text)

    monkeypatch.setattr(vf, "atomic_write_text", full_after_first)
    assert main(["verify", QUICK, QUICK2, "--json", str(js)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert [c["id"] for c in json.loads(js.read_text())["claims"]] == [QUICK]


def _record(**changes):
    rec = {"id": QUICK, "passed": True, "status": "verified", "comparisons": [], "seconds": 0.5}
    rec.update(changes)
    return {k: v for k, v in rec.items() if v is not None}


@pytest.mark.parametrize(
    ("rec", "named"),
    [
        (_record(seconds=None), "has no 'seconds'"),
        (_record(seconds="fast"), "seconds is a str"),
        (_record(passed=False), "contradicts passed = False"),
        (_record(status="refuted"), "contradicts passed = True"),
        (_record(comparisons=[{"name": 3, "passed": "yes", "tolerance": "x"}]), "comparisons[0].name is a int"),
        (_record(details=[]), "details is a list"),
    ],
)
def test_malformed_records_are_a_usage_error_on_resume_and_report(tmp_path, no_checks, capsys, rec, named):
    js = tmp_path / "v.json"
    run = vf.run_record("fast", None)
    js.write_text(json.dumps({"run": run, "complete": False, "claims": [rec]}))
    assert main(["verify", QUICK, "--json", str(js), "--resume"]) == 2
    assert main(["report", "--from", str(js), "--out", str(tmp_path / "rep")]) == 2
    assert capsys.readouterr().err.count(named) == 2


# ------------------------------------------------------------------ property: the output-path rules
_KINDS = ("absent", "file", "dir", "link", "fifo")
_NAMES = ("v.json", "v.md", "ledger.json", "ledger.md", "ledger.html", "sub/v.json", "")


def _make(root: Path, name: str, kind: str) -> None:
    p = root / name
    if not name or p.exists() or p.is_symlink():
        return
    p.parent.mkdir(parents=True, exist_ok=True)
    if kind == "file":
        p.write_text("old")
    elif kind == "dir":
        p.mkdir()
    elif kind == "link":
        p.symlink_to(root / "elsewhere")
    elif kind == "fifo":
        os.mkfifo(p)


def _snapshot(root: Path) -> dict[str, tuple[int, str]]:
    out = {}
    for p in sorted(root.rglob("*")):
        mode = p.lstat().st_mode
        text = p.read_text() if stat.S_ISREG(mode) else ""
        out[str(p.relative_to(root))] = (stat.S_IFMT(mode), text)
    return out


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    existing=st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(_KINDS)), max_size=4),
    json_name=st.one_of(st.none(), st.sampled_from(_NAMES)),
    md_name=st.one_of(st.none(), st.sampled_from(_NAMES)),
)
def test_output_rules_accept_only_distinct_regular_or_absent_files(existing, json_name, md_name):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, kind in existing:
            _make(root, name, kind)
        before = _snapshot(root)
        js = None if json_name is None else (str(root / json_name) if json_name else "")
        md = None if md_name is None else (str(root / md_name) if md_name else "")
        try:
            outputs.check_verify_outputs(js, md)
        except outputs.OutputPathError:
            accepted = False
        else:
            accepted = True
        # Checking never changes an existing entry (it may create the missing parent folder only).
        after = _snapshot(root)
        assert {k: v for k, v in after.items() if k in before} == before
        if accepted:
            written = [Path(p) for p in (js, md) if p is not None]
            if js is not None:
                written += outputs.ledger_files(Path(js).parent)
            assert len({p.resolve() for p in written}) == len(written)
            for p in written:
                assert str(p).strip() and not p.is_symlink() and (not p.exists() or p.is_file())
