"""Every registered figure draws: the figures ``make verify`` writes, each at the fast tier.

A figure runs in the xdist group of the first claim it supports, so it reuses the measurement
that claim's test made in the same process (a figure plots what its claim judges). Figures that
train models beyond what their claims train are ``slow`` (``memgen figures`` draws them all the
same).
"""

from __future__ import annotations

import importlib
import json

import pytest

from figures.registry import LOAD_ERRORS, load_all, render
from numerics.experiments import RunSpec
from proofs_checks.claims import all_claims, get_claim
from proofs_checks.registry import get_check_spec
from proofs_checks.runner import group_key

FIGURES = load_all()


def _marks(fig_id: str) -> list[pytest.MarkDecorator]:
    spec = FIGURES[fig_id]
    marks = [pytest.mark.xdist_group(group_key(get_claim(spec.claims[0])) if spec.claims else fig_id)]
    if spec.slow:
        marks.append(pytest.mark.slow)
    return marks


def test_every_figure_module_imports() -> None:
    assert not LOAD_ERRORS, f"figure modules that fail to import: {LOAD_ERRORS}"


@pytest.mark.parametrize("fig_id", [pytest.param(f, marks=_marks(f)) for f in sorted(FIGURES)])
def test_figure_draws(fig_id: str, tmp_path) -> None:
    r = render(fig_id, RunSpec(), tmp_path, force=True)
    assert not r.skipped and all(p.exists() and p.stat().st_size > 0 for p in r.paths.values())
    side = json.loads(r.paths["json"].read_text())
    assert side["caption"] and side["tier"] == "fast"


def test_mfm_topic_is_one_module_per_layer() -> None:
    """Each mfm claim's judge, its measurement's tier and its figures live in modules of one topic name."""
    for claim in all_claims("mfm"):
        check = get_check_spec(claim.id)
        assert check is not None, claim.id
        package, topic = check.fn.__module__.rsplit(".", 1)
        assert package == "proofs_checks.mfm", (claim.id, check.fn.__module__)
        measurements = importlib.import_module(f"numerics.experiments.mfm.{topic}")
        assert any(v is check.tier for v in vars(measurements).values()), (claim.id, topic)
    for spec in (s for s in FIGURES.values() if s.paper == "mfm"):
        topic = spec.fn.__module__.rsplit(".", 1)[1]
        assert spec.fn.__module__ == f"figures.mfm.{topic}" and spec.claims, spec.id
        for claim_id in spec.claims:
            assert get_check_spec(claim_id).fn.__module__ == f"proofs_checks.mfm.{topic}", (spec.id, claim_id)
