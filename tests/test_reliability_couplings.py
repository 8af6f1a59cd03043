"""Reliability of the couplings: entropic plans never off their marginals, bad input refused up front."""

from __future__ import annotations

import time

import numpy as np
import pytest

import numerics.couplings as couplings
import numerics.couplings.sinkhorn as sinkhorn
from numerics.couplings import (
    batch_eot_coupling,
    entropic_plan,
    gale_shapley,
    greedy_matching,
    plan_from_pairing,
    sinkhorn_log,
    squared_distances,
)
from theory.validation import DenseSizeError

EPS64 = np.finfo(np.float64).eps


def _batch(k: int = 6, d: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((k, d)), rng.standard_normal((k, d))


def _marginal_error(pi: np.ndarray) -> float:
    return float(max(np.abs(pi.sum(0) - 1).max(), np.abs(pi.sum(1) - 1).max()))


@pytest.mark.parametrize("eps_rel", [1e-8, 1e-12, 1e-20, 1e-300])
def test_eps_below_the_float64_limit_is_refused_before_any_iteration(eps_rel):
    # Before: marginal errors 6.5e-9 (1e-8), 7e-5 (1e-12), column sums [6, 6, 6, 0, 0, 6] (1e-20),
    # inf entries (1e-300), all returned as plans.
    x0, x1 = _batch()
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="float64 limit"):
        entropic_plan(x0, x1, eps_rel)
    assert time.perf_counter() - t0 < 0.5
    with pytest.raises(ValueError, match="float64 limit"):
        batch_eot_coupling(x0, x1, np.random.default_rng(0), eps_rel=eps_rel)


def test_the_limit_is_the_documented_formula_and_loosening_tol_lowers_it():
    x0, x1 = _batch()
    c = squared_distances(x0, x1)
    floor = EPS64 * c.max() / (1e-10 * c.mean())
    assert _marginal_error(entropic_plan(x0, x1, floor * 1.01)) <= 1e-10
    with pytest.raises(ValueError, match="float64 limit"):
        entropic_plan(x0, x1, floor * 0.99)
    # a looser tol admits a smaller eps, and the plan meets that tol
    pi = entropic_plan(x0, x1, floor / 100, tol=1e-7)
    assert _marginal_error(pi) <= 1e-7


@pytest.mark.parametrize("seed", range(12))
def test_plans_just_above_the_limit_are_on_their_marginals(seed):
    rng = np.random.default_rng(seed)
    k, d = int(rng.integers(4, 60)), int(rng.integers(1, 12))
    x0, x1 = rng.standard_normal((k, d)), rng.standard_normal((k, d)) * rng.uniform(0.3, 3) + 1
    c = squared_distances(x0, x1)
    floor = EPS64 * c.max() / (1e-10 * c.mean())
    for factor in (1.001, 3.0):
        pi = entropic_plan(x0, x1, floor * factor)
        assert np.all(np.isfinite(pi)) and np.all(pi >= 0)
        assert _marginal_error(pi) <= 1e-10


def test_a_final_plan_off_its_marginals_is_rescaled_or_refused(monkeypatch):
    x0, x1 = _batch(8)
    exact = entropic_plan(x0, x1, 0.05)
    original = sinkhorn._potential_plan

    def rounded(la, c, g, e):  # the last exponential off by 1e-8 relative, as below the limit
        p = original(la, c, g, e)
        return p * (1.0 + 1e-8 * np.random.default_rng(0).standard_normal(p.shape))

    monkeypatch.setattr(sinkhorn, "_potential_plan", rounded)
    pi = entropic_plan(x0, x1, 0.05)
    assert _marginal_error(pi) <= 1e-10
    np.testing.assert_allclose(pi, exact, rtol=1e-7)
    monkeypatch.setattr(sinkhorn, "_rescaled_plan", lambda a, b, c, g, e, tol: np.full((8, 8), np.nan))
    with pytest.raises(ValueError, match="misses its marginals"):
        entropic_plan(x0, x1, 0.05)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"eps": np.nan}, "eps"),
        ({"eps": -1.0}, "eps"),
        ({"eps": 1.0, "tol": 0.0}, "tol"),
        ({"eps": 1.0, "tol": np.nan}, "tol"),
        ({"eps": 1.0, "tol": 1e-16}, "tol"),
        ({"eps": 1.0, "max_iter": 0}, "max_iter"),
        ({"eps": 1.0, "max_iter": 2.5}, "max_iter"),
    ],
)
def test_sinkhorn_controls_are_checked(kwargs, match):
    u = np.full(3, 1 / 3)
    with pytest.raises(ValueError, match=match):
        sinkhorn_log(u, u, np.eye(3), **kwargs)


def test_complex_and_object_batches_are_refused():
    x0, x1 = _batch()
    with pytest.raises(TypeError, match="complex"):
        squared_distances(x0 + 1j, x1)
    with pytest.raises(TypeError):
        entropic_plan(x0.astype(object), x1)
    with pytest.raises(TypeError, match="complex"):
        gale_shapley(np.eye(3) * 1j)
    with pytest.raises(TypeError, match="complex"):
        greedy_matching(np.eye(3) + 0j)
    with pytest.raises(ValueError, match="NaN"):
        greedy_matching(np.full((2, 2), np.nan))
    with pytest.raises(TypeError, match="complex"):
        couplings.blockwise_pair(x0 + 1j, x1, "batchot", 2, np.random.default_rng(0))


def test_dense_requests_above_the_cap_are_refused_up_front(monkeypatch):
    # Before: cdist of k = 40000 allocated 12 GB (88 s here, MemoryError elsewhere).
    t0 = time.perf_counter()
    big = np.zeros((40000, 2))
    with pytest.raises(DenseSizeError, match=r"11.9 GiB"):
        squared_distances(big, big)
    with pytest.raises(MemoryError):  # a DenseSizeError is also a MemoryError
        plan_from_pairing(np.arange(40000), 40000)
    assert time.perf_counter() - t0 < 1.0
    monkeypatch.setenv("MEMGEN_MAX_DENSE_GB", "1e-6")
    with pytest.raises(DenseSizeError, match="MEMGEN_MAX_DENSE_GB"):
        squared_distances(*_batch(400))
