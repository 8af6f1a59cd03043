"""The figure writer: files and provenance, an unchanged figure is not redrawn, parallel rendering."""

from __future__ import annotations

import json

import numpy as np
import pytest

from figures import registry as reg
from numerics.executor import make_executor
from numerics.experiments import RunSpec

CALLS: list[str] = []


def _toy(run: RunSpec) -> reg.FigureOutput:
    import matplotlib.pyplot as plt

    CALLS.append(run.tier)
    fig, ax = plt.subplots(figsize=(2, 2))
    x = run.rng(3).standard_normal(10)
    ax.plot(x)
    return reg.FigureOutput(fig, {"x": x}, {"n": 10}, "ten draws", run.seed_for(3))


@pytest.fixture
def toy_figure():
    reg.figure("common/fig-registry-test", "registry test", claims=("common/gaussian-kl-closed-form",))(_toy)
    yield "common/fig-registry-test"
    reg.FIGURES.pop("common/fig-registry-test", None)


def test_render_writes_files_and_skips_unchanged(toy_figure, tmp_path):
    CALLS.clear()
    r = reg.render(toy_figure, RunSpec(), tmp_path)
    assert not r.skipped and all(p.exists() for p in r.paths.values())
    side = json.loads(r.paths["json"].read_text())
    assert side["claims"] == ["common/gaussian-kl-closed-form"] and side["fingerprint"] and side["git_commit"]
    assert np.load(r.paths["npz"])["x"].shape == (10,)
    assert reg.render(toy_figure, RunSpec(), tmp_path).skipped
    assert not reg.render(toy_figure, RunSpec(seed=4), tmp_path).skipped  # other inputs: redrawn
    assert not reg.render(toy_figure, RunSpec(seed=4), tmp_path, force=True).skipped
    assert CALLS == ["fast", "fast", "fast"]


def test_parallel_rendering_reports_each_figure(toy_figure, tmp_path):
    with make_executor(2) as pool:
        out = reg.render_all([toy_figure, "common/fig-does-not-exist"], RunSpec(executor=pool), tmp_path)
    assert out[0].error is None and out[0].paths["png"].exists()
    assert out[1].error and "unknown figure id" in out[1].error
