"""docs/meters.md is a test: its blocks run in order, as a user would run them, in one folder."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "meters.md"
BLOCK = re.compile(r"```(python|bash)( torchcfm)?\n(.*?)```", re.DOTALL)
HAS_TORCHCFM = importlib.util.find_spec("torchcfm") is not None


def test_meters_doc_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    blocks = BLOCK.findall(DOC.read_text())
    five = [code for kind, tag, code in blocks if kind == "python" and "meter(" in code]
    assert len(five) == 1 and len([ln for ln in five[0].splitlines() if ln.strip()]) <= 5
    namespace: dict = {}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    for kind, tag, code in blocks:
        if tag and not HAS_TORCHCFM:
            continue  # the torchcfm block runs only where torchcfm is installed
        if kind == "python":
            exec(compile(code, str(DOC), "exec"), namespace)
            continue
        cmd = code.strip().replace("memgen ", f"{sys.executable} -m proofs_checks ", 1)
        done = subprocess.run(cmd, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = capsys.readouterr().out
    assert "memorization ratio" in out and "W2 to train" in out
    record = json.loads((tmp_path / "m.json").read_text())
    assert record["n_train_distinct"] == 256 and record["data_copying_C_T"] is not None
    assert "data:image/png;base64," in (tmp_path / "m.html").read_text()
