"""``memgen meter``: a model named by module:factory, metered on .npy data; bad input is a usage error (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from proofs_checks.cli import main

FACTORY = """
import torch

def model():
    return lambda x, t: -x

def broken():
    raise RuntimeError("weights missing")

def wrong_shape():
    return lambda x, t: x[:, :1]

not_callable = 3
"""


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "user_models.py").write_text(FACTORY)
    rng = np.random.default_rng(0)
    np.save(tmp_path / "train.npy", rng.standard_normal((40, 3)))
    np.save(tmp_path / "test.npy", rng.standard_normal((30, 3)))
    np.save(tmp_path / "flat.npy", np.ones(4))
    nan = rng.standard_normal((10, 3))
    nan[2, 1] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    np.save(tmp_path / "wide.npy", rng.standard_normal((10, 4)))
    return tmp_path


def test_meter_writes_json_and_a_self_contained_page(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    argv = ["meter", "--model", "user_models:model", "--data", "train.npy", "--test", "test.npy", "--path", "cosine"]
    rc = main([*argv, "--json", "m.json", "--html", "m.html", "--samples", "40", "--steps", "5", "--seed", "3"])
    assert rc == 0
    rec = json.loads((workdir / "m.json").read_text())
    assert rec["model"] == "user_models:model" and rec["seed"] == 3 and rec["path"] == "cosine"
    assert rec["n_train_distinct"] == 40 and rec["n_test"] == 30 and rec["w2"]["points"] == 30
    page = (workdir / "m.html").read_text()
    assert "data:image/png;base64," in page and "<script" not in page
    err = capsys.readouterr().err
    assert "sampling 40 points" in err  # progress


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--model": "user_models:nope"}, "factory not found"),
        ({"--model": "user_models"}, "package.module:factory"),
        ({"--model": "no_such_module:model"}, "cannot import module"),
        ({"--model": "user_models:broken"}, "raised RuntimeError: weights missing"),
        ({"--model": "user_models:not_callable"}, "not callable"),
        ({"--model": "user_models:wrong_shape"}, "returned shape"),
        ({"--data": "missing.npy"}, "does not exist"),
        ({"--data": "flat.npy"}, "shape (N, d)"),
        ({"--data": "nan.npy"}, "NaN or inf"),
        ({"--test": "wide.npy"}, "dimension 4"),
        ({"--path": "nonsense-path"}, ""),
    ],
)
def test_bad_input_is_a_usage_error(workdir: Path, capsys: pytest.CaptureFixture, change: dict, message: str) -> None:
    opts = {"--model": "user_models:model", "--data": "train.npy", "--test": "test.npy", "--json": "x.json"}
    opts.update(change)
    argv = ["meter", *(s for kv in opts.items() for s in kv), "--samples", "8", "--steps", "2"]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (workdir / "x.json").exists()
