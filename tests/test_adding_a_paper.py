"""A new paper is one package of claims and checks (plus its experiments and figures modules):
registered here from a test module, it is listed, verified, controlled and reported like the others."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from numerics.experiments import RunSpec, Sizes, Tier
from proofs_checks.claims import Paper, claim, register_paper, unregister_paper
from proofs_checks.cli import main
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check, run_check, run_control


@dataclass(frozen=True)
class MeanSizes(Sizes):
    samples: int = 1000


TIER = Tier("toy-paper/sample-mean", fast=MeanSizes(1000), spec=MeanSizes(100_000), section="toy spec §1")


def sample_mean(run: RunSpec, shift: float = 0.0) -> tuple[float, float]:
    """The measurement (it would live in numerics/experiments/toy_paper.py)."""
    x = run.rng(7).standard_normal(run.sizes(TIER).samples) + shift
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))


PAPER = Paper(
    id="toy-paper",
    title="A toy paper",
    source_note="registered by a test",
    claims=(claim("toy-paper/sample-mean", "the mean of N(0,1) samples is 0", "derived", ("monte-carlo",)),),
    check_modules=(),
    order=999,
)


@pytest.fixture
def toy_paper():
    register_paper(PAPER)

    @check(
        "toy-paper/sample-mean",
        tier=TIER,
        controls={"shifted": Control(fault={"shift": 0.5}, breaks="|mean| / SE", why="samples of N(0.5, 1)")},
    )
    def check_sample_mean(run: RunSpec, shift: float = 0.0) -> Verdict:
        mean, se = sample_mean(run, shift)
        ev = Evidence("toy spec §1", run.seed_for(7))
        ev.at_most("|mean| / SE", abs(mean) / se, 4.0, why="4 standard errors", basis="statistical", headline=True)
        return ev.verdict()

    yield PAPER
    import proofs_checks.registry as reg

    reg._CHECKS.pop("toy-paper/sample-mean", None)
    unregister_paper("toy-paper")


def test_toy_paper_is_verified_with_sizes_and_status(toy_paper, tmp_path):
    v = run_check("toy-paper/sample-mean")
    assert v.passed and v.status == "verified-reduced" and v.short_of_spec == ["samples"]
    assert v.sizes == {"samples": 1000} and v.spec_sizes == {"samples": 100_000}
    assert run_check("toy-paper/sample-mean", RunSpec(tier="spec")).status == "verified"
    out = run_control("toy-paper/sample-mean", "shifted")
    assert out.broke_named and out.broken == ["|mean| / SE"]
    js = tmp_path / "v.json"
    assert main(["verify", "--paper", "toy-paper", "--json", str(js)]) == 0
    assert json.loads(js.read_text())["claims"][0]["status"] == "verified-reduced"
    assert main(["report", "--from", str(js), "--out", str(tmp_path / "rep")]) == 0
    ledger = json.loads((tmp_path / "rep" / "ledger.json").read_text())
    assert ledger["papers"]["toy-paper"]["counts"]["verified-reduced"] == 1
