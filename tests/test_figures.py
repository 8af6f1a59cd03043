"""Every registered figure draws: the figures ``make verify`` writes, each at the fast tier.

A figure runs in the xdist group of the first claim it supports, so it reuses the measurement
that claim's test made in the same process (a figure plots what its claim judges). Figures that
train models beyond what their claims train are ``slow`` (``memgen figures`` draws them all the
same).
"""

from __future__ import annotations

import json

import pytest

from figures.registry import LOAD_ERRORS, load_all, render
from numerics.experiments import RunSpec
from proofs_checks.claims import get_claim
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
