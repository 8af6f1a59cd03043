"""Reliability of the integrators and flow metrics: controls checked first, no hang on NaN, paths streamed."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest

from numerics.flow_metrics import consistency, flow_metrics
from numerics.integrators import euler, rk4, solve_rows
from theory.validation import DenseSizeError


def _decay(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    return -y


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rtol": np.nan}, "rtol"),
        ({"atol": -1.0}, "atol"),
        ({"max_step": np.nan}, "max_step"),
        ({"max_step": 0.0}, "max_step"),
        ({"max_step": 1e-12}, "max_step"),
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": 1.5}, "max_steps"),
        ({"stops": [0.5, np.nan]}, "stops"),
        ({"s_end": np.inf}, "s_end"),
        ({"s0": np.nan}, "s0"),
    ],
)
def test_solve_rows_controls_are_refused_before_any_evaluation(kwargs, match):
    calls = []

    def field(s, y):
        calls.append(1)
        return -y

    args = {"s0": 0.0, "s_end": 1.0} | {k: v for k, v in kwargs.items() if k in ("s0", "s_end")}
    rest = {k: v for k, v in kwargs.items() if k not in ("s0", "s_end")}
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        solve_rows(field, np.ones((2, 2)), args["s0"], args["s_end"], **rest)
    assert not calls and time.perf_counter() - t0 < 0.1


def test_a_nan_field_ends_in_an_error_not_a_spin():
    # Before: NaN error estimates made every step size NaN, which never tripped the underflow
    # test: the loop ran its 100,000 steps.
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="NaN"):
        solve_rows(lambda s, y: np.full_like(y, np.nan), np.ones((3, 2)), 0.0, 1.0)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("solver", [euler, rk4])
def test_fixed_step_controls(solver):
    field = lambda x, t: -x  # noqa: E731
    for steps in (0, -1, 2.5, np.nan, "4"):
        with pytest.raises((ValueError, TypeError)):
            solver(field, np.ones((2, 2)), steps)
    with pytest.raises(ValueError, match="t1"):
        solver(field, np.ones((2, 2)), 4, 0.0, np.inf)
    with pytest.raises(TypeError, match="complex"):
        solver(field, np.ones((2, 2)) * 1j, 4)
    with pytest.raises(TypeError, match="callable"):
        solver(None, np.ones((2, 2)), 4)


def test_rk4_path_above_the_dense_cap_is_refused(monkeypatch):
    monkeypatch.setenv("MEMGEN_MAX_DENSE_GB", "1e-4")
    with pytest.raises(DenseSizeError, match="RK4 path"):
        rk4(lambda x, t: -x, np.ones((1000, 10)), 100, return_path=True)
    assert rk4(lambda x, t: -x, np.ones((1000, 10)), 100).shape == (1000, 10)  # no path: fine


def test_flow_metrics_streams_the_path():
    # Before: the whole (steps + 1, n, d + 1) path and the (steps + 1, n, d) velocities were kept
    # (17 GB at n = 1e5, d = 10, 1000 steps; 85 MB here). Now O(n d), independent of steps.
    a = np.random.default_rng(0).standard_normal((10, 10)) * 0.1
    x0 = np.random.default_rng(1).standard_normal((5000, 10))
    tracemalloc.start()
    try:
        fm = flow_metrics(lambda x, t: x @ a.T + t, x0, 100, error_estimate=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 30 * x0.nbytes
    assert fm["quadrature_gap"] < 1e-8 * fm["kinetic_energy"]


def test_flow_metrics_and_consistency_controls():
    x0 = np.zeros((3, 2))
    field = lambda x, t: np.ones_like(x)  # noqa: E731
    for steps in (3, 0, 2.5, np.nan):
        with pytest.raises(ValueError, match="steps"):
            flow_metrics(field, x0, steps)
    with pytest.raises(TypeError, match="complex"):
        flow_metrics(lambda x, t: np.ones(x.shape, complex), x0, 4)
    with pytest.raises(ValueError, match="nfe_list"):
        consistency(field, x0, (1, 0))
    with pytest.raises(ValueError, match="reference_steps"):
        consistency(field, x0, (1,), reference_steps=-5)
