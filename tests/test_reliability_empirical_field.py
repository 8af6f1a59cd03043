"""Reliability of the exact field: overflow-prone scalings refused, t = 1 streamed, controls checked first."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest
import torch

from numerics.datasets import dataset
from numerics.empirical_field import integrate_flow, optimal_velocity, optimal_velocity_torch, posterior_weights

DATA = dataset("tiny")


@pytest.mark.parametrize("scale", [1e155, 1e200])
def test_overflowing_scales_are_refused_with_the_reason(scale):
    # Before: all-NaN weights with only a RuntimeWarning.
    x = np.array([[1.0, 0.5]])
    for fn in (posterior_weights, optimal_velocity):
        with pytest.raises(ValueError, match="overflow"):
            fn(x * scale, 0.5, DATA * scale)
    with pytest.raises(ValueError, match="overflow"):
        integrate_flow(x, DATA * scale)


def test_logit_overflow_near_t_one_is_refused_but_ordinary_large_scales_work():
    # |x|^2 fits in float64 but t/sigma_t^2 = 1e32 pushes the logits past 1e300
    with pytest.raises(ValueError, match="logits"):
        posterior_weights(np.array([[1e140, 0.0]]), 1 - 1e-16, DATA * 1e140)
    w = posterior_weights(np.array([[1e5, 0.0]]), 0.9, DATA * 1e5)
    assert np.isfinite(w).all() and w.sum() == pytest.approx(1.0)
    end = integrate_flow(np.array([[0.3, -0.2]]) * 1e3, DATA * 1e3)
    assert np.isfinite(end).all()


@pytest.mark.parametrize("scale", [1e-170, 1.0, 1e155])
def test_t_one_picks_the_nearest_point_at_any_scale(scale):
    # Before: tiny coordinates underflowed the squared distances (a tie, weights 1/2, 1/2) and
    # huge ones overflowed them (inf == inf, also a tie).
    data = np.array([[1.0], [2.0], [2.0]]) * scale
    w = posterior_weights(np.array([[1.1], [1.9]]) * scale, 1.0, data)
    np.testing.assert_array_equal(w, [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])


def test_t_one_streams_the_distances():
    # Before: an (M, N, d) temporary (8.9 GiB at M = N = 2000, d = 300; 0.7 GiB here).
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((400, 300)), rng.standard_normal((400, 300))
    tracemalloc.start()
    try:
        w = posterior_weights(x, 1.0, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12 * w.nbytes  # the answer, its temporaries and O((M + N) d + M chunk)
    d2 = ((x[:40, None, :] - y[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(w[:40], (d2 == d2.min(1, keepdims=True)).astype(float))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rtol": np.nan}, "rtol"),
        ({"rtol": np.inf}, "rtol"),
        ({"rtol": -1e-6}, "rtol"),
        ({"rtol": 1e-300}, "rtol"),
        ({"atol": np.nan}, "atol"),
        ({"atol": 0.0}, "atol"),
        ({"max_step": -1.0}, "max_step"),
        ({"max_step": np.nan}, "max_step"),
        ({"max_step": 1e-9}, "max_step"),
        ({"t_end": np.nan}, "t_end"),
        ({"t_end": 0.0}, "t_end"),
        ({"t_eval": [0.5, np.nan]}, "t_eval"),
        ({"sigma_min": 1.0}, "sigma_min"),
    ],
)
def test_integrate_flow_controls_are_refused_before_any_work(kwargs, match):
    # Before: rtol = nan spun for 5 min 44 s; max_step = 1e-9 for hours; max_step < 0 ended in a
    # step-size underflow.
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        integrate_flow(np.zeros((2, 2)), DATA, **kwargs)
    assert time.perf_counter() - t0 < 0.5


def test_complex_input_is_refused_never_cast():
    # Before: the imaginary parts were dropped with a ComplexWarning.
    x = np.array([1 + 5j, 0.0])
    with pytest.raises(TypeError, match="complex"):
        optimal_velocity(x, 0.5, DATA)
    with pytest.raises(TypeError, match="complex"):
        posterior_weights(x.real, 0.5 + 0j, DATA)
    with pytest.raises(TypeError, match="complex"):
        integrate_flow(x.real, DATA + 1j)
    with pytest.raises(TypeError):
        posterior_weights(np.array([[1.0, "a"]], dtype=object), 0.5, DATA)
    with pytest.raises(TypeError, match="real floating"):
        optimal_velocity_torch(torch.zeros(2, 2, dtype=torch.complex128), 0.5, torch.as_tensor(DATA))
    with pytest.raises(ValueError, match="t must lie"):
        optimal_velocity_torch(torch.zeros(2, 2, dtype=torch.float64), float("nan"), torch.as_tensor(DATA))
