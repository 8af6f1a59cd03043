"""Exact flow-matching field, weights, per-trajectory integrator and data sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from numerics.datasets import DATASETS, cluster_labels, dataset, embedded_dataset
from numerics.empirical_field import (
    integrate_flow,
    optimal_velocity,
    optimal_velocity_torch,
    posterior_weights,
    sigma_t,
    tau_from_time,
    time_from_tau,
    velocity_in_tau,
)
from numerics.integrators import solve_rows
from numerics.subspace import subspace_basis


def _naive(x: np.ndarray, t: float, data: np.ndarray, smin: float) -> tuple[np.ndarray, np.ndarray]:
    sig = 1 - (1 - smin) * t
    lg = -((x[:, None, :] - t * data[None]) ** 2).sum(-1) / (2 * sig**2)
    w = np.exp(lg - lg.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    return w, (w @ data - (1 - smin) * x) / sig


@pytest.mark.parametrize("smin", [0.0, 0.01])
def test_weights_and_field_match_naive_broadcast(smin: float) -> None:
    data = dataset("clustered")
    x = np.random.default_rng(0).standard_normal((64, 20))
    for t in (0.0, 0.3, 0.9):
        w_ref, v_ref = _naive(x, t, data, smin)
        np.testing.assert_allclose(posterior_weights(x, t, data, smin), w_ref, atol=1e-13)
        np.testing.assert_allclose(optimal_velocity(x, t, data, smin), v_ref, rtol=1e-12, atol=1e-12)
        # Streaming over chunks gives the same mean.
        np.testing.assert_allclose(optimal_velocity(x, t, data, smin, chunk=5), v_ref, rtol=1e-12, atol=1e-12)


def test_single_query_and_per_row_times() -> None:
    data = dataset("sparse-d20")
    x = np.random.default_rng(1).standard_normal((3, 20))
    t = np.array([0.1, 0.5, 0.9])
    v = optimal_velocity(x, t, data)
    for i in range(3):
        np.testing.assert_allclose(optimal_velocity(x[i], t[i], data), v[i], rtol=1e-14)
    assert posterior_weights(x[0], 0.5, data).shape == (5,)


def test_exact_near_one_with_tied_duplicates() -> None:
    # Logits reach ~1e30 at t = 1 - 1e-15: weights stay finite, sum to one, tie split 1/2 each.
    data = dataset("sparse-d20")
    dup = np.vstack([data, data[:1]])
    x = data[0] + 1e-3 * np.random.default_rng(2).standard_normal((4, 20))
    for t in (1 - 1e-15, 1.0):
        w = posterior_weights(x, t, dup)
        assert np.all(np.isfinite(w))
        np.testing.assert_array_equal(w.sum(axis=1), 1.0)
        np.testing.assert_array_equal(w[:, 0], 0.5)
        np.testing.assert_array_equal(w[:, -1], 0.5)
    v = optimal_velocity(x, 1 - 1e-15, dup)
    assert np.all(np.isfinite(v))
    np.testing.assert_allclose(v * sigma_t(1 - 1e-15), data[0] - x, rtol=1e-12)
    vt = optimal_velocity_torch(torch.tensor(x), 1 - 1e-15, torch.tensor(dup)).numpy()
    np.testing.assert_allclose(vt, v, rtol=1e-12)


def test_torch_twin_agrees_and_differentiates() -> None:
    data = dataset("sparse-d20")
    rng = np.random.default_rng(3)
    x = 2 * rng.standard_normal((100, 20))
    t = rng.uniform(0, 0.999, 100)
    for smin in (0.0, 0.01):
        ref = optimal_velocity(x, t, data, smin)
        got = optimal_velocity_torch(torch.tensor(x), torch.tensor(t), torch.tensor(data), smin).numpy()
        assert np.max(np.abs(got - ref) / np.abs(ref).max(axis=1, keepdims=True)) < 1e-10
    xt = torch.tensor(x[:3], requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda z: optimal_velocity_torch(z, 0.5, torch.tensor(data), 0.01), (xt,), eps=1e-6, atol=1e-6
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": np.array([[np.nan] * 20])}, "NaN"),
        ({"data": np.full((5, 20), np.inf)}, "NaN or inf"),
        ({"x": np.zeros((2, 3))}, "shape"),
        ({"data": np.zeros((0, 20))}, "empty"),
        ({"t": 1.5}, "t must lie"),
        ({"t": -0.1}, "t must lie"),
        ({"sigma_min": 1.0}, "sigma_min"),
        ({"sigma_min": -0.1}, "sigma_min"),
        ({"t": 1.0}, "singular"),
    ],
)
def test_bad_inputs_raise(kwargs: dict, message: str) -> None:
    args = {"x": np.zeros((2, 20)), "t": 0.5, "data": dataset("sparse-d20"), "sigma_min": 0.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        optimal_velocity(args["x"], args["t"], args["data"], args["sigma_min"])


def test_bad_inputs_integrate_and_torch() -> None:
    data = dataset("tiny")
    with pytest.raises(ValueError, match="t_end"):
        integrate_flow(np.zeros((1, 2)), data, t_end=1.2)
    with pytest.raises(ValueError, match="t_eval"):
        integrate_flow(np.zeros((1, 2)), data, t_end=0.5, t_eval=[0.7])
    with pytest.raises(ValueError, match="shape"):
        integrate_flow(np.zeros((1, 3)), data)
    with pytest.raises(ValueError):
        optimal_velocity_torch(torch.zeros(2, 2), 1.0, torch.tensor(data), 0.0)


def test_integrate_lands_on_points_and_matches_scipy() -> None:
    data = dataset("sparse-d20")
    x0 = np.random.default_rng(4).standard_normal((6, 20))
    sol = integrate_flow(x0, data, 0.0, t_eval=[0.9], return_path=True)
    d = np.linalg.norm(sol.x_end[:, None] - data[None], axis=-1).min(axis=1)
    assert d.max() <= 1e-10
    assert np.all(sol.nfev > 0)
    tau_end = float(tau_from_time(0.9))
    for i in range(3):
        ref = solve_ivp(
            lambda tau, z: velocity_in_tau(z[None], np.array([tau]), data, 0.0)[0],
            (0.0, tau_end),
            x0[i],
            method="DOP853",
            rtol=1e-12,
            atol=1e-14,
        )
        np.testing.assert_allclose(sol.x_eval[0, i], ref.y[:, -1], atol=1e-9)
    # Dense output (Hermite) agrees with the exactly hit stop to interpolation accuracy.
    np.testing.assert_allclose(sol.states_at(np.array([0.9]))[0], sol.x_eval[0], atol=1e-6)


def test_integrate_with_duplicates_and_sigma_min() -> None:
    data = np.vstack([dataset("tiny"), dataset("tiny")[:1]])
    x0 = np.random.default_rng(5).standard_normal((50, 2))
    end = integrate_flow(x0, data, 0.0)
    assert np.linalg.norm(end[:, None] - data[None], axis=-1).min(axis=1).max() <= 1e-10
    single = integrate_flow(x0[0], data, 0.01)
    assert single.shape == (2,)


def test_time_change_roundtrip() -> None:
    t = np.array([0.0, 0.3, 0.9, 1 - 1e-12])
    for s in (0.0, 0.01):
        np.testing.assert_allclose(time_from_tau(tau_from_time(t, s), s), t, rtol=1e-13, atol=0)


def test_solve_rows_linear_decay() -> None:
    y0 = np.array([[1.0, 2.0], [3.0, -1.0]])
    sol = solve_rows(lambda s, y: -y, y0, 0.0, 5.0, stops=np.array([1.0, 2.0]))
    np.testing.assert_allclose(sol.y_end, y0 * np.exp(-5.0), rtol=1e-9)
    np.testing.assert_allclose(sol.y_stops[0], y0 * np.exp(-1.0), rtol=1e-9)
    with pytest.raises(ValueError):
        solve_rows(lambda s, y: -y, y0, 0.0, 1.0, stops=np.array([2.0]))


def test_datasets() -> None:
    for name in DATASETS:
        a, b = dataset(name), dataset(name)
        np.testing.assert_array_equal(a, b)
        assert cluster_labels(name).shape == (a.shape[0],)
    assert dataset("sparse-d20").shape == (5, 20)
    np.testing.assert_allclose(np.linalg.norm(dataset("sparse-sphere"), axis=1), 3.0)
    assert np.linalg.matrix_rank(dataset("clustered")) == 12
    with pytest.raises(ValueError, match="unknown data set"):
        dataset("nope")
    data, coords, basis = embedded_dataset(200)
    np.testing.assert_allclose(data @ basis, coords, atol=1e-12)


@pytest.mark.parametrize("kind", ["span", "affine"])
@pytest.mark.parametrize("method", ["qr", "svd"])
def test_subspace_basis(kind: str, method: str) -> None:
    data = dataset("sparse-d20")
    sub = subspace_basis(data, kind, method)
    basis, offset = sub.basis, sub.offset
    np.testing.assert_allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-14)
    assert basis.shape[1] == (5 if kind == "span" else 4)
    resid = (data - offset) - (data - offset) @ basis @ basis.T
    assert np.abs(resid).max() < 1e-12


@pytest.mark.slow
@pytest.mark.claim("gao-li/memorization")
def test_mpmath_reference_matches_stored_and_float64() -> None:
    import json

    from numerics.empirical_field import integrate_flow_mp
    from proofs_checks.gao_li import MP_REFERENCE, mp_reference_case

    case = mp_reference_case()
    ref = integrate_flow_mp(
        np.array(case["x0"]), dataset(case["dataset"]), case["sigma_min"], case["t_end"], dps=case["dps"]
    )
    stored = json.loads(MP_REFERENCE.read_text())
    assert stored["case"] == case
    np.testing.assert_allclose(ref, stored["x_t_end"], rtol=0, atol=1e-15)
    got = integrate_flow(
        np.array(case["x0"]), dataset(case["dataset"]), 0.0, t_end=case["t_end"], rtol=1e-11, atol=1e-13
    )
    np.testing.assert_allclose(got, ref, atol=1e-9)


def test_dense_output_with_step_cap_matches_exact_stops() -> None:
    data = dataset("sparse-d20")
    x0 = np.random.default_rng(6).standard_normal((8, 20))
    grid = np.array([0.5, 0.9, 0.99, 0.999, 1 - 1e-6])
    ref = integrate_flow(x0, data, 0.0, t_eval=grid)
    sol = integrate_flow(x0, data, 0.0, return_path=True, max_step=0.5)
    np.testing.assert_allclose(sol.states_at(grid), ref.x_eval, atol=1e-6)
    with pytest.raises(ValueError, match="no path"):
        ref.states_at(grid)
