"""A new paper is one module per layer: written to disk as a researcher would write it, it is found by
discovery (no registration anywhere), listed, verified, controlled, drawn and reported like the others."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap
from pathlib import Path

import pytest

import figures
import numerics.experiments
import proofs_checks
from proofs_checks import claims as catalog
from proofs_checks.cli import main
from proofs_checks.registry import run_check, run_control

EXPERIMENT = '''
"""The measurement of the toy paper: seeded, sized."""
from dataclasses import dataclass

import numpy as np

from numerics.experiments import RunSpec, Sizes, Tier


@dataclass(frozen=True)
class MeanSizes(Sizes):
    samples: int = 100_000


SAMPLE_MEAN = Tier("toy-paper/sample-mean", fast=MeanSizes(1000), spec=MeanSizes(), section="toy spec §1")


@dataclass(frozen=True)
class SampleMean:
    mean: float
    se: float
    samples: np.ndarray


def sample_mean(run: RunSpec, shift: float = 0.0) -> SampleMean:
    x = run.rng(7).standard_normal(run.sizes(SAMPLE_MEAN).samples) + shift
    return SampleMean(float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size)), x)
'''

PAPER = '''
"""A toy paper: its record; its claims are declared by its judges."""
from proofs_checks.claims import Paper

PAPER = Paper(id="toy-paper", title="A toy paper", source_note="written by a test", order=999)
'''

JUDGE = '''
"""The judge of the toy paper's one claim, declared here."""
from numerics.experiments import RunSpec
from numerics.experiments import toy_paper as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


@check(
    "toy-paper/sample-mean",
    title="the mean of N(0,1) samples is 0",
    tag="derived",
    kinds=("monte-carlo",),
    tier=exp.SAMPLE_MEAN,
    controls={"shifted": Control(fault={"shift": 0.5}, breaks="|mean| / SE", why="samples of N(0.5, 1)")},
)
def check_sample_mean(run: RunSpec, shift: float = 0.0) -> Verdict:
    m = exp.sample_mean(run, shift)
    ev = Evidence("toy spec §1", run.seed_for(7))
    ev.at_most("|mean| / SE", abs(m.mean) / m.se, 4.0, why="4 standard errors", basis="statistical", headline=True)
    return ev.verdict()
'''

FIGURE = '''
"""The figure of the toy paper: it plots the measurement its claim judges."""
import matplotlib.pyplot as plt

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments import toy_paper as exp


@figure("toy-paper/fig-samples", "Histogram of the samples", claims=("toy-paper/sample-mean",))
def fig_samples(run: RunSpec) -> FigureOutput:
    m = exp.sample_mean(run)
    fig, ax = plt.subplots()
    ax.hist(m.samples, bins=30)
    return FigureOutput(fig, {"samples": m.samples}, {"samples": m.samples.size}, "toy-paper/sample-mean")
'''

MODULES = ("numerics.experiments.toy_paper", "proofs_checks.toy_paper", "proofs_checks.toy_paper.checks")


@pytest.fixture
def toy_paper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The toy paper's four files in folders that the three packages search, as if in the repository."""
    layers = {name: tmp_path / name for name in ("experiments", "checks", "figures")}
    for folder in layers.values():
        folder.mkdir()
    (layers["experiments"] / "toy_paper.py").write_text(textwrap.dedent(EXPERIMENT))
    (layers["checks"] / "toy_paper").mkdir()
    (layers["checks"] / "toy_paper" / "__init__.py").write_text(textwrap.dedent(PAPER))
    (layers["checks"] / "toy_paper" / "checks.py").write_text(textwrap.dedent(JUDGE))
    (layers["figures"] / "toy_paper.py").write_text(textwrap.dedent(FIGURE))
    monkeypatch.setattr(numerics.experiments, "__path__", [*numerics.experiments.__path__, str(layers["experiments"])])
    monkeypatch.setattr(proofs_checks, "__path__", [*proofs_checks.__path__, str(layers["checks"])])
    monkeypatch.setattr(figures, "__path__", [*figures.__path__, str(layers["figures"])])
    monkeypatch.setattr(catalog, "_LOADED", False)  # discover again, with the new folders
    importlib.invalidate_caches()
    yield
    import figures.registry as fig_registry
    import proofs_checks.registry as registry

    registry._CHECKS.pop("toy-paper/sample-mean", None)
    fig_registry.FIGURES.pop("toy-paper/fig-samples", None)
    catalog.unregister_paper("toy-paper")
    for name in (*MODULES, "figures.toy_paper"):
        sys.modules.pop(name, None)


def test_a_paper_is_found_verified_controlled_drawn_and_reported(toy_paper, tmp_path):
    assert main(["list", "--paper", "toy-paper"]) == 0
    assert [c.id for c in catalog.all_claims("toy-paper")] == ["toy-paper/sample-mean"]
    v = run_check("toy-paper/sample-mean")
    assert v.passed and v.status == "verified-reduced" and v.short_of_spec == ["samples"]
    assert v.sizes == {"samples": 1000} and v.spec_sizes == {"samples": 100_000}
    out = run_control("toy-paper/sample-mean", "shifted")
    assert out.broke_named and out.broken == ["|mean| / SE"]
    js = tmp_path / "v.json"
    assert main(["verify", "--paper", "toy-paper", "--json", str(js)]) == 0
    assert json.loads(js.read_text())["claims"][0]["status"] == "verified-reduced"
    fig_out = tmp_path / "figs"
    assert main(["figures", "toy-paper/fig-samples", "--out", str(fig_out)]) == 0
    assert (fig_out / "toy-paper__fig-samples.png").exists()
    assert main(["report", "--from", str(js), "--out", str(tmp_path / "rep"), "--figures-dir", str(fig_out)]) == 0
    ledger = json.loads((tmp_path / "rep" / "ledger.json").read_text())
    assert ledger["papers"]["toy-paper"]["counts"]["verified-reduced"] == 1


def test_a_judge_module_that_fails_to_import_is_reported_not_hidden(toy_paper, tmp_path, capsys):
    broken = Path(proofs_checks.__path__[-1]) / "toy_paper" / "broken.py"
    broken.write_text("raise ImportError('a typo in a judge module')\n")
    try:
        assert main(["verify", "--paper", "toy-paper"]) == 3
        assert "a typo in a judge module" in capsys.readouterr().err
    finally:
        catalog.LOAD_ERRORS.pop("proofs_checks.toy_paper.broken", None)
