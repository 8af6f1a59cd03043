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


def _measurements_called(fn) -> set[str]:
    """The functions of ``numerics.experiments`` that ``fn``'s body calls (by name or through a module alias)."""
    import ast
    import inspect
    import textwrap
    import types

    found = set()
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(fn)))):
        if not isinstance(node, ast.Call):
            continue
        f, obj = node.func, None
        if isinstance(f, ast.Name):
            obj = fn.__globals__.get(f.id)
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            base = fn.__globals__.get(f.value.id)
            obj = getattr(base, f.attr, None) if isinstance(base, types.ModuleType) else None
        if inspect.isfunction(obj) and obj.__module__.startswith("numerics.experiments"):
            found.add(f"{obj.__module__}.{obj.__name__}")
    return found


def test_every_figure_plots_a_measurement_that_its_claims_judge() -> None:
    """A figure calls at least one measurement that the check of one of its claims also calls: it plots what was
    judged, not a computation of its own."""
    from proofs_checks.claims import load_catalog
    from proofs_checks.registry import get_check_spec

    load_catalog()
    unjudged = {}
    for fid, spec in reg.load_all().items():
        if fid == "common/fig-registry-test":
            continue
        judged = set().union(*(_measurements_called(get_check_spec(c).fn) for c in spec.claims))
        if not _measurements_called(spec.fn) & judged:
            unjudged[fid] = sorted(_measurements_called(spec.fn))
    assert not unjudged, f"figures that plot no measurement their claims judge: {unjudged}"
