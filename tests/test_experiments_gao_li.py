"""The independent routes of the Gao & Li exact-flow measurements (numerics.experiments.gao_li)."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import sympy as sp

from numerics.datasets import dataset
from numerics.empirical_field import integrate_flow, optimal_velocity
from numerics.experiments.gao_li import (
    MP_REFERENCE_CASE,
    MP_REFERENCE_FILE,
    compute_mp_reference,
    compute_path_mp_reference,
    flow_paths,
    is_zero,
    paths_text,
    plain_flow,
    stored_mp_reference,
    stored_path_mp_references,
)
from numerics.experiments.gao_li import _shared as exact_flow_setting
from numerics.experiments.gao_li.optimal_velocity import mp_posterior_mean_velocity
from numerics.experiments.gao_li.softmax_concentration import concentration_bound
from numerics.experiments.gao_li.velocity_split import bayes_posterior_velocity
from numerics.paths import CondOTPath, as_path
from numerics.subspace import subspace_basis
from theory import flow_matching as th


def test_is_zero_rejects_nonzero() -> None:
    assert is_zero([sp.Integer(0), sp.Matrix([[0]])])
    assert not is_zero(th.t - th.t**2)


@pytest.mark.parametrize("smin", [0.0, 0.01, 0.3])
def test_bayes_posterior_velocity_matches_closed_form(smin: float) -> None:
    data = dataset("sparse-d20")
    rng = np.random.default_rng(0)
    x = 2 * rng.standard_normal((50, 20))
    t = rng.uniform(0, 0.9, 50)
    v = optimal_velocity(x, t, data, smin)
    got = bayes_posterior_velocity(x, t, data, CondOTPath(smin))
    assert np.max(np.linalg.norm(got - v, axis=1) / np.linalg.norm(v, axis=1)) < 1e-11


def test_mp_posterior_mean_matches_closed_form() -> None:
    data = dataset("tiny")
    x, t = np.array([0.4, -0.3]), 0.7
    for path in (CondOTPath(0.01), as_path("cosine"), as_path("vp")):
        np.testing.assert_allclose(mp_posterior_mean_velocity(x, t, data, path), optimal_velocity(x, t, data, path))


def test_plain_flow_agrees_with_the_engine_and_hits_stops() -> None:
    data = dataset("sparse-d20")
    x0 = np.random.default_rng(1).standard_normal((4, 20))
    times = np.array([0.5, 0.9])
    flow = plain_flow(x0, data, 0.01, times, grid=np.array([0.25, 0.5, 0.7]))
    ref = integrate_flow(x0, data, 0.01, t_end=0.9, t_eval=times, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(flow.states, ref.x_eval, atol=1e-8)
    np.testing.assert_allclose(flow.grid_states[1], flow.states[0], atol=1e-10)
    assert flow.nfev > 0


def test_plain_flow_off_part_follows_the_field_coefficient() -> None:
    # A field with another off-subspace coefficient c decays like sigma_t^(c / (1 - sigma_min)).
    data = dataset("sparse-d20")
    sub = subspace_basis(data)
    x0 = np.random.default_rng(2).standard_normal((3, 20))

    def field(x: np.ndarray, t: float, y: np.ndarray, s: float) -> np.ndarray:
        return optimal_velocity(x, t, y, s) + 0.5 * x / (1 - t)

    flow = plain_flow(x0, data, 0.0, np.array([0.9]), field)
    np.testing.assert_allclose(sub.off(flow.states[0]), 0.1**0.5 * sub.off(x0), rtol=1e-8)


def test_concentration_bound_is_exact_for_two_points() -> None:
    # N = 2: P[w_j < 1 - eps] = Phi(-a/2 + log((1 - eps)/eps)/a) (spec §2, one competitor).
    rng = np.random.default_rng(3)
    a, eps = 1.7, 0.1
    z = rng.standard_normal(400_000)
    w_j = 1 / (1 + np.exp(-(a**2) / 2 - a * z))
    p = np.mean(w_j < 1 - eps)
    assert abs(p - float(concentration_bound(np.array([a]), eps, 2))) < 4 * np.sqrt(p * (1 - p) / z.size)


def test_stored_mp_reference_is_package_data() -> None:
    res = resources.files("numerics.experiments").joinpath("data").joinpath(MP_REFERENCE_FILE)
    assert res.is_file()
    assert stored_mp_reference().shape == (2,)


def test_missing_mp_reference_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exact_flow_setting, "MP_REFERENCE_FILE", "no-such-reference.json")
    with pytest.raises(FileNotFoundError, match="missing"):
        stored_mp_reference()


@pytest.mark.slow
@pytest.mark.claim("gao-li/memorization")
def test_mpmath_reference_matches_stored_and_float64() -> None:
    ref = compute_mp_reference()
    np.testing.assert_allclose(ref, stored_mp_reference(), rtol=0, atol=1e-15)
    case = MP_REFERENCE_CASE
    got = integrate_flow(
        np.array(case["x0"]), dataset(case["dataset"]), 0.0, t_end=case["t_end"], rtol=1e-11, atol=1e-13
    )
    np.testing.assert_allclose(got, ref, atol=1e-9)


def test_path_runs_replace_the_spec_paths() -> None:
    from numerics.experiments import RunSpec

    assert flow_paths(RunSpec()) == (CondOTPath(0.0), CondOTPath(0.01))
    assert flow_paths(RunSpec(path="cosine")) == (as_path("cosine"),)
    assert paths_text(RunSpec(path="cosine")) == "on path cosine"


def test_stored_path_mp_references_match_their_paths() -> None:
    stored = stored_path_mp_references()
    assert set(stored) == {"cosine", "vp"}
    for name, entry in stored.items():
        assert entry["path"] == as_path(name).record()


@pytest.mark.slow
@pytest.mark.claim("gao-li/memorization-any-path")
def test_path_mpmath_references_match_stored() -> None:
    for name, entry in stored_path_mp_references().items():
        np.testing.assert_allclose(compute_path_mp_reference(as_path(name), 30), entry["x_t_end"], atol=1e-15)
