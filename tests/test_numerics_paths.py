"""Numeric paths (numerics.paths): the OT path's exact forms, SymPy paths lambdified, t(tau), interop."""

from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest
import torch

from numerics.paths import CondOTPath, DerivedPath, as_path, from_scheduler
from theory import paths as P


def test_as_path_resolves_every_form():
    assert as_path() == CondOTPath(0.0)
    assert as_path(0.01) == CondOTPath(0.01)
    assert as_path(None, sigma_min=0.01) == CondOTPath(0.01)
    assert as_path("ot(0.01)") == CondOTPath(0.01)
    assert as_path(P.ot(0.01)) == CondOTPath(0.01)
    assert isinstance(as_path("cosine"), DerivedPath) and as_path("cosine") is as_path(P.cosine())
    with pytest.raises(ValueError, match="not both"):
        as_path("cosine", sigma_min=0.01)
    with pytest.raises(TypeError):
        as_path(object())
    with pytest.raises(P.PathError, match="sigma_0 must be > 0"):
        as_path("alpha=t; sigma=t")


@pytest.mark.parametrize("spec", ["cosine", "vp", "ve", "alpha=sin(pi*t/2)**2; sigma=cos(pi*t/2)"])
def test_time_from_tau_inverts_sigma(spec):
    path = as_path(spec)
    ts = np.linspace(max(path.t_switch, 0.05), 0.95, 9)
    np.testing.assert_allclose(path.time_from_tau(path.tau(ts)), ts, rtol=1e-12)
    assert path.time_from_tau(np.array([np.inf]))[0] == 1.0


def test_numeric_inverse_matches_the_closed_form():
    # The cosine path without its closed-form inverse: Newton inside a bisection bracket.
    numeric = DerivedPath(P.AffinePath(P.cosine().alpha, P.cosine().sigma, "cosine-numeric"))
    taus = np.linspace(numeric.tau(numeric.t_switch), 40.0, 200)
    np.testing.assert_allclose(numeric.time_from_tau(taus), as_path("cosine").time_from_tau(taus), atol=4e-16)


def test_ot_path_in_tau_keeps_its_exact_forms():
    p = CondOTPath(0.01)
    tau = np.array([1e-12, 0.5, 4.0])
    alpha, sig = p.in_tau(tau)
    np.testing.assert_array_equal(alpha, -np.expm1(-tau) / 0.99)
    np.testing.assert_array_equal(sig, np.exp(-tau))
    assert p.t_switch == 0.0 and p.tau_end == float(-np.log(0.01))


@pytest.mark.parametrize("spec", ["cosine", "vp"])
def test_path_methods_work_on_numpy_and_torch(spec):
    path = as_path(spec)
    t = np.linspace(0.1, 0.9, 5)
    x0, x1 = np.ones((5, 3)), 2 * np.ones((5, 3))
    a = path.target(x0, x1, t)
    b = path.target(torch.tensor(x0), torch.tensor(x1), torch.tensor(t)).numpy()
    np.testing.assert_allclose(a, b, rtol=1e-14)
    # The conditional velocity at x_t is the path's velocity.
    np.testing.assert_allclose(path.conditional_velocity(path.sample(x0, x1, t), x1, t), a, rtol=1e-12)


def test_source_of_an_approximate_path_is_the_stated_mixture():
    data = np.array([[10.0, 0.0], [0.0, 10.0]])
    vp = as_path("vp")
    x0 = vp.sample_source(np.random.default_rng(0), 20000, data)
    assert np.linalg.norm(x0.mean(axis=0) - vp.alpha0 * data.mean(axis=0)) < 4 * vp.sigma0 / np.sqrt(20000) * 2
    z = CondOTPath(0.0).sample_source(np.random.default_rng(1), 5, data)
    np.testing.assert_array_equal(z, np.random.default_rng(1).standard_normal((5, 2)))


def test_derived_paths_pickle():
    path = as_path("vp")
    back = pickle.loads(pickle.dumps(path))
    assert back.record() == path.record()
    np.testing.assert_array_equal(back.sigma(np.array([0.3])), path.sigma(np.array([0.3])))


@pytest.mark.skipif(importlib.util.find_spec("flow_matching") is None, reason="flow_matching is not installed")
def test_flow_matching_schedulers_are_paths():
    from flow_matching.path.scheduler import (
        CondOTScheduler,
        CosineScheduler,
        LinearVPScheduler,
        PolynomialConvexScheduler,
        VPScheduler,
    )

    assert as_path(CondOTScheduler()) == CondOTPath(0.0)
    assert as_path(CosineScheduler()) is as_path("cosine")
    assert as_path(VPScheduler(0.1, 20.0)) is as_path("vp")
    for scheduler in (LinearVPScheduler(), PolynomialConvexScheduler(2)):
        path = as_path(scheduler)
        out = scheduler(torch.tensor([0.5], dtype=torch.float64))
        assert float(path.sigma(np.array([0.5]))[0]) == pytest.approx(float(out.sigma_t), rel=1e-14)


def test_unknown_scheduler_is_refused_with_the_way_out():
    class MyScheduler:
        pass

    MyScheduler.__module__ = "flow_matching.path.scheduler.custom"
    with pytest.raises(P.PathError, match="SymPy expressions"):
        from_scheduler(MyScheduler())
