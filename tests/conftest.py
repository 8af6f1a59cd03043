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
