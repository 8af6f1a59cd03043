"""Unit tests of :mod:`numerics.learned_field`: the torch engines against their NumPy references.

Small untrained OSDNets (no training): the engines must agree with the NumPy references to float64
rounding, for one model and for a stack of checkpoints, and satisfy the identities of spec §2 on
fields where they are known in closed form (exact off head, exact field).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import numerics.learned_field as lf
from numerics.datasets import dataset
from numerics.empirical_field import optimal_velocity
from numerics.nets import OSDNet, seeded_init_, stack_checkpoints, with_exact_off_head
from numerics.subspace import proper_subspace

SIGMA_MIN = 0.01
# Same float64 operations in another order (torch GEMMs vs NumPy, baddbmm vs addmm): relative
# agreement at rounding level, amplified at most by the RK4 steps.
RTOL = 1e-12


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return dataset("sparse-d20")


@pytest.fixture(scope="module")
def models(data) -> list[OSDNet]:
    basis = proper_subspace(data).basis
    return [seeded_init_(OSDNet(basis, SIGMA_MIN, width=16, depth=2), s) for s in (3, 4, 5)]


@pytest.fixture(scope="module")
def stack(models):
    return stack_checkpoints(models[0], [m.state_dict() for m in models])


@pytest.fixture(scope="module")
def x0() -> np.ndarray:
    return np.random.default_rng(4).standard_normal((6, 20))


def _close(a: np.ndarray, b: np.ndarray, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(a, b, rtol=0, atol=rtol * float(np.max(np.abs(b))))


# ------------------------------------------------------------------------ torch engines = NumPy references
def test_generate_matches_reference(models, stack, x0) -> None:
    _close(lf.generate(models[0], x0, 120), lf.generate_numpy(models[0], x0, 120))
    batched = lf.generate(stack, x0, 120)
    assert batched.shape == (3, 6, 20)
    for k, m in enumerate(models):
        _close(batched[k], lf.generate_numpy(m, x0, 120))


def test_generate_in_tau_matches_reference(models, stack, x0) -> None:
    batched = lf.generate_in_tau(stack, x0, SIGMA_MIN, 150)
    for k, m in enumerate(models):
        _close(batched[k], lf.generate_in_tau_numpy(m, x0, SIGMA_MIN, 150))


def test_off_subspace_identity_matches_reference(data, models, stack, x0) -> None:
    batched = lf.off_subspace_identity(stack, x0, data, SIGMA_MIN, 100)
    ref = lf.off_subspace_identity_numpy(models[1], x0, data, SIGMA_MIN, 100)
    for name in ("x1", "off0", "off1", "integral", "norm_integral"):
        _close(getattr(batched, name)[1], getattr(ref, name))


def test_generation_error_bound_matches_reference(data, models, stack, x0) -> None:
    batched = lf.generation_error_bound(stack, x0, data, SIGMA_MIN, 100)
    assert batched.bound.shape == (3, 6) and batched.x1_exact.shape == (6, 20)
    for k, m in enumerate(models):
        ref = lf.generation_error_bound_numpy(m, x0, data, SIGMA_MIN, 100)
        for name in ("x1", "error", "bound", "log10_global_bound"):
            _close(getattr(batched, name)[k], getattr(ref, name))
        _close(batched.x1_exact, ref.x1_exact)


def test_excess_loss_matches_reference(data, models, stack) -> None:
    batched = lf.excess_loss(stack, data, SIGMA_MIN, n=512, seed=3)
    for k, m in enumerate(models):
        ref = lf.excess_loss_numpy(m, data, SIGMA_MIN, n=512, seed=3)
        single = lf.excess_loss(m, data, SIGMA_MIN, n=512, seed=3)
        for name in ("total", "inside", "off", "se"):
            assert getattr(batched, name)[k] == pytest.approx(getattr(ref, name), rel=RTOL)
            assert getattr(single, name) == pytest.approx(getattr(ref, name), rel=RTOL)


def test_off_subspace_norm_path_matches_reference_path(data, stack, models, x0) -> None:
    sub = proper_subspace(data)
    ts, norms = lf.off_subspace_norm_path(stack, x0, sub.basis, 100, 10)
    assert norms.shape == (11, 3, 6)
    path = lf.generate_numpy(models[2], x0, 100, return_path=True)[::10]
    np.testing.assert_allclose(ts, np.linspace(0, 1, 11))
    _close(norms[:, 2], np.linalg.norm(sub.off(path.reshape(-1, 20)), axis=1).reshape(11, 6))
    with pytest.raises(ValueError):
        lf.off_subspace_norm_path(stack, x0, sub.basis, 101, 10)


def test_exact_field_module_is_the_closed_form(data) -> None:
    field = lf.ExactField(data, SIGMA_MIN)
    x = np.random.default_rng(1).standard_normal((2, 3, 20))
    t = np.array([0.1, 0.5, 0.99])
    got = field(torch.as_tensor(x), torch.as_tensor(t)).numpy()
    for k in range(2):
        _close(got[k], optimal_velocity(x[k], t, data, SIGMA_MIN))


# ------------------------------------------------------------------------ identities on known fields
def test_off_subspace_norm_path_follows_exact_decay(data, models, x0) -> None:
    sub = proper_subspace(data)
    ts, norms = lf.off_subspace_norm_path(with_exact_off_head(models[0]), x0[:4], sub.basis, 200, 10)
    sig = 1 - (1 - SIGMA_MIN) * ts
    # RK4 in t with 200 steps: the stiff end (rate 99, h = 5e-3) limits the accuracy to ~1e-3.
    np.testing.assert_allclose(norms / norms[0], np.broadcast_to(sig[:, None], norms.shape), rtol=2e-3)


def test_generate_in_tau_with_exact_head_decays_by_sigma_min(data, models, x0) -> None:
    sub = proper_subspace(data)
    x1 = lf.generate_in_tau(with_exact_off_head(models[0]), x0, SIGMA_MIN, 300)
    ratio = np.linalg.norm(sub.off(x1), axis=1) / np.linalg.norm(sub.off(x0), axis=1)
    np.testing.assert_allclose(ratio, SIGMA_MIN, rtol=1e-8)


def test_generate_with_exact_field_lands_near_training_points(data, x0) -> None:
    x1 = lf.generate(lf.ExactField(data, SIGMA_MIN), x0, 400)
    # sigma_min > 0: terminal samples sit within a few sigma_min * sqrt(d) of a training point.
    assert np.max(lf.nearest_point_distance(x1, data)) < 10 * SIGMA_MIN * np.sqrt(20)


def test_off_subspace_identity_closes_for_any_field(data, models, x0) -> None:
    idt = lf.off_subspace_identity(models[0], x0[:5], data, SIGMA_MIN, 1000)
    scale = SIGMA_MIN * np.linalg.norm(idt.off0, axis=1) + idt.norm_integral
    assert np.max(np.linalg.norm(idt.off1 - idt.predicted_off1, axis=1) / scale) < 1e-6
    assert np.all(np.linalg.norm(idt.off1, axis=1) <= scale * (1 + 1e-6))


def test_exact_field_has_zero_error_bound_and_excess(data, x0) -> None:
    exact = lf.ExactField(data, SIGMA_MIN, stack_size=2)
    b = lf.generation_error_bound(exact, x0[:4], data, SIGMA_MIN, 100)
    assert np.max(b.error) < 1e-12 and np.max(b.bound) < 1e-12
    assert np.max(lf.excess_loss(exact, data, SIGMA_MIN, n=256).total) < 1e-20


def test_bound_dominates_error_and_shifted_rate_breaks_it(data, models, x0) -> None:
    b = lf.generation_error_bound(models[0], x0, data, SIGMA_MIN, 200)
    assert np.all(b.error <= b.bound * (1 + 1e-6) + 1e-8)
    assert np.all(b.log10_global_bound > np.log10(b.bound))
    wrong = lf.generation_error_bound(models[0], x0, data, SIGMA_MIN, 200, rate_shift=-50.0)
    assert np.any(wrong.error > wrong.bound)


def test_sample_metrics_of_training_points(data, x0) -> None:
    m = lf.sample_metrics(x0[:5], data.copy(), data)
    assert m.nn_distance == 0.0 and m.distinct_fraction == 0.0 and m.coverage == 1.0
    assert m.rho < 1e-12 and m.off_fraction < 1e-12


@pytest.mark.parametrize("bad", [np.zeros((3, 19)), np.full((2, 20), np.inf)])
def test_generation_rejects_bad_starts(models, bad) -> None:
    with pytest.raises(ValueError):
        lf.generate(models[0], bad, 10)
    with pytest.raises(ValueError):
        lf.generate_numpy(models[0], bad, 10)


def test_bad_arguments_are_rejected(data, models, x0) -> None:
    with pytest.raises(ValueError):
        lf.generate_in_tau(models[0], x0, 0.0, 10)
    with pytest.raises(ValueError):
        lf.generate(models[0], x0, 0)
    with pytest.raises(ValueError):
        lf.excess_loss(models[0], data, SIGMA_MIN, n=1)


# ------------------------------------------------------------------------ the data split the fields rely on
def test_proper_subspace_of_rank_deficient_data(data) -> None:
    dependent = np.vstack([data, data[0] + 2.0 * data[1], data[2]])
    sub = proper_subspace(dependent, "qr")
    assert sub.rank == 5
    assert np.max(np.abs(sub.off(dependent))) < 1e-12
    assert sub.singular_values[5:].max() < 1e-10 * sub.singular_values.max()


@pytest.mark.parametrize("bad", [np.zeros((3, 4)), np.eye(4), np.full((2, 5), np.nan), np.ones(5)])
def test_proper_subspace_rejects_bad_data(bad) -> None:
    with pytest.raises(ValueError):
        proper_subspace(bad)
