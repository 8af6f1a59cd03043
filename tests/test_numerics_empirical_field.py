"""Exact flow-matching field of an empirical target (numerics.empirical_field): weights, field, flow, data sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from numerics.datasets import DATASETS, cluster_labels, dataset, embedded_dataset
from numerics.empirical_field import (
    ReducedPrecisionWarning,
    distinct_points,
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
from numerics.paths import as_path
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
    np.testing.assert_allclose(sub.basis.T @ sub.basis, np.eye(sub.rank), atol=1e-14)
    assert sub.rank == (5 if kind == "span" else 4)
    assert np.abs(sub.off(data - sub.offset)).max() < 1e-12


def test_dense_output_with_step_cap_matches_exact_stops() -> None:
    data = dataset("sparse-d20")
    x0 = np.random.default_rng(6).standard_normal((8, 20))
    grid = np.array([0.5, 0.9, 0.99, 0.999, 1 - 1e-6])
    ref = integrate_flow(x0, data, 0.0, t_eval=grid)
    sol = integrate_flow(x0, data, 0.0, return_path=True, max_step=0.5)
    np.testing.assert_allclose(sol.states_at(grid), ref.x_eval, atol=1e-6)
    with pytest.raises(ValueError, match="no path"):
        ref.states_at(grid)


# ----------------------------------------------------------------------------- any path
@pytest.mark.parametrize("spec", ["cosine", "vp", "ve", "alpha=t**2; sigma=1 - t"])
def test_field_of_any_path_matches_naive_broadcast(spec: str) -> None:
    path = as_path(spec)
    data = dataset("clustered")
    x = np.random.default_rng(7).standard_normal((32, 20))
    for t in (0.2, 0.7, 0.95):
        alpha, sig = float(path.alpha(np.array(t))), float(path.sigma(np.array(t)))
        lg = -((x[:, None, :] - alpha * data[None]) ** 2).sum(-1) / (2 * sig**2)
        w = np.exp(lg - lg.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        u = path.conditional_velocity(x[:, None, :], data[None], np.full(32, t))
        ref = np.einsum("mn,mnd->md", w, u)
        np.testing.assert_allclose(posterior_weights(x, t, data, path), w, atol=1e-13)
        np.testing.assert_allclose(optimal_velocity(x, t, data, path, chunk=5), ref, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("spec", ["cosine", "vp"])
def test_flow_of_any_path_lands_and_matches_scipy_in_t(spec: str) -> None:
    path = as_path(spec)
    data = dataset("sparse-d20")
    x0 = path.sample_source(np.random.default_rng(8), 6, data)
    grid = np.array([0.2, 0.5, 0.9])
    sol = integrate_flow(x0, data, path, t_eval=grid, return_path=True, max_step=0.5)
    assert np.linalg.norm(sol.x_end[:, None] - data[None], axis=-1).min(axis=1).max() <= 1e-10
    for i in range(2):
        ref = solve_ivp(
            lambda t, z: optimal_velocity(z[None], t, data, path)[0],
            (0.0, 0.9),
            x0[i],
            method="DOP853",
            rtol=1e-12,
            atol=1e-14,
            t_eval=grid,
        )
        np.testing.assert_allclose(sol.x_eval[:, i], ref.y.T, atol=1e-9)
    # Dense output on both sides of the switch from t to tau (1/3 on the cosine path).
    np.testing.assert_allclose(sol.states_at(grid), sol.x_eval, atol=1e-6)


def test_ot_keyword_and_path_agree() -> None:
    data = dataset("tiny")
    x0 = np.random.default_rng(9).standard_normal((5, 2))
    a = integrate_flow(x0, data, sigma_min=0.01)
    np.testing.assert_array_equal(a, integrate_flow(x0, data, "ot(0.01)"))
    np.testing.assert_array_equal(a, integrate_flow(x0, data, 0.01))


# ----------------------------------------------------------------------------- streaming torch twin
def test_streaming_torch_field_agrees_for_any_chunk_and_path() -> None:
    data = dataset("clustered")
    x = np.random.default_rng(10).standard_normal((40, 20))
    t = np.random.default_rng(11).uniform(0.0, 0.99, 40)
    for spec in ("ot", "cosine", "vp"):
        ref = optimal_velocity(x, t, data, spec)
        for chunk in (None, 1, 5):
            got = optimal_velocity_torch(torch.tensor(x), torch.tensor(t), torch.tensor(data), spec, chunk=chunk)
            np.testing.assert_allclose(got.numpy(), ref, rtol=1e-11, atol=1e-11)


def test_torch_duplicates_are_merged_exactly() -> None:
    data = torch.tensor(dataset("sparse-d20"))
    dup = torch.cat([data, data[:1], data[:1]])
    pts = distinct_points(dup)
    assert pts.points.shape[0] == 5 and sorted(pts.counts.tolist()) == [1.0, 1.0, 1.0, 1.0, 3.0]
    assert distinct_points(data).counts is None  # no repeated row: used as it is
    x = data[1:2] + 1e-3  # near point 1: its weight is ~1, the triple point's ~0
    np.testing.assert_allclose(
        optimal_velocity_torch(x, 1 - 1e-12, dup).numpy(), optimal_velocity(x.numpy(), 1 - 1e-12, dup.numpy())
    )


def test_reduced_precision_is_refused_unless_asked_and_its_error_reported() -> None:
    data = torch.tensor(dataset("sparse-d20"))
    x = torch.randn(8, 20, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(ValueError, match="float64 only"):
        optimal_velocity_torch(x.float(), 0.99, data)
    with pytest.warns(ReducedPrecisionWarning, match="max relative error"):
        v = optimal_velocity_torch(x.float(), 0.99, data, allow_reduced_precision=True)
    assert v.dtype == torch.float32


def test_streaming_torch_field_is_differentiable() -> None:
    data = torch.tensor(dataset("sparse-d20"))
    x = torch.tensor(np.random.default_rng(12).standard_normal((3, 20)), requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda z: optimal_velocity_torch(z, 0.6, data, "cosine", chunk=2), (x,), eps=1e-6, atol=1e-6
    )
