"""The tutorial docs/extending.md is a test: every code block runs, in order, as a user would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "extending.md"
BLOCK = re.compile(r"```(python|bash)\n(.*?)```", re.DOTALL)


def _blocks(lang: str) -> list[str]:
    return [code for kind, code in BLOCK.findall(DOC.read_text()) if kind == lang]


def test_the_tutorial_has_its_blocks_and_a_short_path():
    python = _blocks("python")
    assert len(python) >= 4 and _blocks("bash")
    # Adding a path takes at most 15 lines of user code (the first block, comments and blanks aside).
    lines = [ln for ln in python[0].splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert len(lines) <= 15


def test_python_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)  # figures are written under the current directory
    monkeypatch.syspath_prepend(str(ROOT))
    namespace: dict = {}
    for code in _blocks("python"):
        exec(compile(code, str(DOC), "exec"), namespace)
    out = capsys.readouterr().out
    assert "sigma_t must decrease" in out
    assert "passed" not in out and "verified" in out
    assert (tmp_path / "figures" / "out" / "sin2-cos" / "gao-li__fig-basin-map.png").is_file()


def test_bash_blocks_run() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for code in _blocks("bash"):
        cmd = code.strip().replace("python ", f"{sys.executable} ", 1)
        done = subprocess.run(cmd, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert "followed by 2 claims" in done.stdout
