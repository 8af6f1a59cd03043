"""Shared pytest set-up: the ``claim`` marker names the claim id a test exercises."""

from __future__ import annotations

import os

# Keep each xdist worker on one BLAS/torch thread: two workers on two cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest

from numerics.experiments import RunSpec


@pytest.fixture
def run() -> RunSpec:
    """A default run: spec seeds, fast tier, in-process executor, no disk cache."""
    return RunSpec()


@pytest.fixture(autouse=True)
def _keep_shared_memos():
    """Tests that clear the in-process model and measurement memos (to test a fresh computation)
    must not make the claims tests that share this worker recompute: restore them afterwards."""
    import numerics.experiments as exp
    import numerics.training as tr

    trained, measured = dict(tr._TRAINED), dict(exp._MEMO)
    yield
    tr._TRAINED.update({k: v for k, v in trained.items() if k not in tr._TRAINED})
    exp._MEMO.update({k: v for k, v in measured.items() if k not in exp._MEMO})
