"""Unit tests of :mod:`numerics.osdnet` (no long training: untrained or briefly trained models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from numerics import osdnet as o
from numerics.flow_matching import optimal_velocity, optimal_velocity_torch
from numerics.gao_li_data import dataset

SIGMA_MIN = 0.01


class ExactField(nn.Module):
    """The closed-form field as a module (a 'perfectly trained' model)."""

    def __init__(self, data: np.ndarray, sigma_min: float) -> None:
        super().__init__()
        self.dim = data.shape[1]
        self.sigma_min = sigma_min
        self.register_buffer("data", torch.as_tensor(data))
        self.dummy = nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return optimal_velocity_torch(x, t, self.data.to(x.dtype), self.sigma_min) + 0 * self.dummy


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return dataset("sparse-d20")


@pytest.fixture(scope="module")
def small_model(data) -> o.OSDNet:
    model = o.OSDNet(o.subspace_basis(data).basis, SIGMA_MIN, width=16, depth=2)
    return o.seeded_init_(model, 3)


# ------------------------------------------------------------------------ subspace
@pytest.mark.parametrize("method", ["qr", "svd"])
def test_subspace_basis_orthonormal_and_spans_data(data, method) -> None:
    sub = o.subspace_basis(data, method)
    assert sub.rank == 5 and sub.basis.shape == (20, 5)
    np.testing.assert_allclose(sub.basis.T @ sub.basis, np.eye(5), atol=1e-14)
    assert np.max(np.abs(sub.off(data))) < 1e-12
    np.testing.assert_allclose(sub.inside(data), data, atol=1e-12)


def test_subspace_basis_rank_deficient_data_reports_rank(data) -> None:
    dependent = np.vstack([data, data[0] + 2.0 * data[1], data[2]])
    sub = o.subspace_basis(dependent, "qr")
    assert sub.rank == 5
    assert np.max(np.abs(sub.off(dependent))) < 1e-12
    assert sub.singular_values[5:].max() < 1e-10 * sub.singular_values.max()


@pytest.mark.parametrize("bad", [np.zeros((3, 4)), np.eye(4), np.full((2, 5), np.nan), np.ones(5)])
def test_subspace_basis_rejects_bad_data(bad) -> None:
    with pytest.raises(ValueError):
        o.subspace_basis(bad)


# ------------------------------------------------------------------------ model
def test_osdnet_parts_lie_in_their_subspaces(data, small_model) -> None:
    sub = o.subspace_basis(data)
    m = o.as_float64(small_model)
    x = torch.as_tensor(np.random.default_rng(0).standard_normal((7, 20)))
    inside, off = m.split(x, torch.full((7,), 0.3, dtype=torch.float64))
    assert np.max(np.abs(sub.off(inside.numpy()))) < 1e-13
    assert np.max(np.abs(sub.inside(off.numpy()))) < 1e-13


def test_exact_off_head_is_closed_form(data, small_model) -> None:
    sub = o.subspace_basis(data)
    m = o.as_float64(o.with_exact_off_head(small_model))
    x = np.random.default_rng(1).standard_normal((6, 20))
    t = np.linspace(0.0, 1.0, 6)
    _, off = m.split(torch.as_tensor(x), torch.as_tensor(t))
    expected = -(1 - SIGMA_MIN) * sub.off(x) / (1 - (1 - SIGMA_MIN) * t)[:, None]
    np.testing.assert_allclose(off.numpy(), expected, rtol=1e-13, atol=1e-14)
    # The off part of the exact field (fact (b)) is the same closed form.
    np.testing.assert_allclose(
        sub.off(optimal_velocity(x, t[:5].mean(), data, SIGMA_MIN)),
        -(1 - SIGMA_MIN) * sub.off(x) / (1 - (1 - SIGMA_MIN) * t[:5].mean()),
        atol=1e-12,
    )


def test_isotropic_off_head_is_a_scalar_rate_times_off_part(data) -> None:
    sub = o.subspace_basis(data)
    m = o.as_float64(o.seeded_init_(o.OSDNet(sub.basis, SIGMA_MIN, width=8, depth=2, off_head="isotropic"), 4))
    x = np.random.default_rng(10).standard_normal((5, 20))
    t = torch.full((5,), 0.4, dtype=torch.float64)
    _, off = m.split(torch.as_tensor(x), t)
    rate = m.g(t).numpy()
    np.testing.assert_allclose(off.numpy(), rate[:, None] * sub.off(x), rtol=1e-13, atol=1e-15)
    # Same parameter count whatever the ambient dimension.
    big = o.OSDNet(np.vstack([sub.basis, np.zeros((80, 5))]), SIGMA_MIN, width=8, depth=2, off_head="isotropic")
    assert sum(p.numel() for p in big.parameters()) == sum(p.numel() for p in m.parameters())


def test_off_subspace_norm_path_matches_exact_decay(data, small_model) -> None:
    sub = o.subspace_basis(data)
    x0 = np.random.default_rng(11).standard_normal((4, 20))
    ts, norms = o.off_subspace_norm_path(o.with_exact_off_head(small_model), x0, sub.basis, 200, 10)
    sig = 1 - (1 - SIGMA_MIN) * ts
    # RK4 in t with 200 steps: the stiff end (rate 99, h = 5e-3) limits the accuracy to ~1e-3.
    np.testing.assert_allclose(norms / norms[0], np.broadcast_to(sig[:, None], norms.shape), rtol=2e-3)
    with pytest.raises(ValueError):
        o.off_subspace_norm_path(small_model, x0, sub.basis, 201, 10)


def test_tier_runs_share_checkpoints_named_by_the_spec() -> None:
    fast, full = o.tier_run(False), o.tier_run(True)
    assert {250, 1000}.issubset(fast.checkpoints) and {250, 1000}.issubset(full.checkpoints)
    assert full.width == 256 and full.steps == 5000 and full.checkpoints == o.SPEC_CHECKPOINTS
    assert o.tier_run(False, [3, 0]).stream(1) == [3, 0, 1]


def test_basis_stays_float64_under_float_conversion(small_model) -> None:
    m = o.as_float64(small_model).float()
    assert m.basis.dtype == torch.float64
    assert next(m.parameters()).dtype == torch.float32


def test_osdnet_rejects_bad_arguments(data) -> None:
    basis = o.subspace_basis(data).basis
    with pytest.raises(ValueError):
        o.OSDNet(2 * basis, SIGMA_MIN)
    with pytest.raises(ValueError):
        o.OSDNet(basis, SIGMA_MIN, off_head="neither")
    with pytest.raises(ValueError):
        o.OSDNet(basis, 1.5)
    with pytest.raises(ValueError):
        o.LearnedFieldConfig(sigma_min=0.0)
    with pytest.raises(ValueError):
        o.LearnedFieldConfig(steps=10, checkpoints=(0, 20))


def test_build_model_is_deterministic() -> None:
    cfg = o.LearnedFieldConfig(width=8, steps=0, checkpoints=(0,))
    a, b = o.build_model(cfg), o.build_model(cfg)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    mlp = o.build_model(o.LearnedFieldConfig(architecture="mlp", width=8, steps=0, checkpoints=(0,)))
    assert mlp.dim == 20


# ------------------------------------------------------------------------ objectives and training
def test_teacher_terms_split_the_squared_error(data, small_model) -> None:
    sub = o.subspace_basis(data)
    rng = np.random.default_rng(2)
    x = torch.as_tensor(rng.standard_normal((9, 20)))
    t = torch.as_tensor(rng.uniform(0, 0.99, 9))
    m = o.as_float64(small_model)
    inside, off = o.teacher_student_terms(m, x, t, torch.as_tensor(data), torch.as_tensor(sub.basis), SIGMA_MIN)
    diff = m(x, t).numpy() - optimal_velocity(x.numpy(), t.numpy(), data, SIGMA_MIN)
    assert float(inside + off) == pytest.approx(float((diff**2).sum(1).mean()), rel=1e-12)
    assert float(off) == pytest.approx(float((sub.off(diff) ** 2).sum(1).mean()), rel=1e-12)


@pytest.mark.parametrize("target", ["conditional", "teacher"])
def test_training_is_seeded_and_lowers_loss(target) -> None:
    cfg = o.LearnedFieldConfig(width=16, depth=2, batch=64, steps=60, checkpoints=(0, 60), target=target)
    a = o.train_learned_field(cfg, device="cpu")
    b = o.train_learned_field(cfg, device="cpu")
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.losses[-10:].mean() < a.losses[:10].mean()
    assert sorted(a.checkpoints) == [0, 60]


# ------------------------------------------------------------------------ generation and integrals
def test_generate_in_tau_with_exact_head_decays_by_sigma_min(data, small_model) -> None:
    sub = o.subspace_basis(data)
    x0 = np.random.default_rng(4).standard_normal((8, 20))
    x1 = o.generate_in_tau(o.with_exact_off_head(small_model), x0, SIGMA_MIN, 300)
    ratio = np.linalg.norm(sub.off(x1), axis=1) / np.linalg.norm(sub.off(x0), axis=1)
    np.testing.assert_allclose(ratio, SIGMA_MIN, rtol=1e-8)


def test_generate_matches_exact_flow_for_exact_field(data) -> None:
    x0 = np.random.default_rng(5).standard_normal((6, 20))
    x1 = o.generate(ExactField(data, SIGMA_MIN), x0, 400)
    # sigma_min > 0: terminal samples sit within a few sigma_min * sqrt(d) of a training point.
    assert np.max(o.nearest_point_distance(x1, data)) < 10 * SIGMA_MIN * np.sqrt(20)


def test_off_subspace_identity_closes_for_any_field(data, small_model) -> None:
    x0 = np.random.default_rng(6).standard_normal((5, 20))
    idt = o.off_subspace_identity(small_model, x0, data, SIGMA_MIN, 1000)
    scale = SIGMA_MIN * np.linalg.norm(idt.off0, axis=1) + idt.norm_integral
    assert np.max(np.linalg.norm(idt.off1 - idt.predicted_off1, axis=1) / scale) < 1e-6
    assert np.all(np.linalg.norm(idt.off1, axis=1) <= scale * (1 + 1e-6))


def test_exact_field_has_zero_error_bound_and_excess(data) -> None:
    exact = ExactField(data, SIGMA_MIN)
    x0 = np.random.default_rng(7).standard_normal((4, 20))
    b = o.generation_error_bound(exact, x0, data, SIGMA_MIN, 100)
    assert np.max(b.error) < 1e-12 and np.max(b.bound) < 1e-12
    assert o.excess_loss(exact, data, SIGMA_MIN, n=256).total < 1e-20


def test_bound_dominates_error_for_untrained_model(data, small_model) -> None:
    x0 = np.random.default_rng(8).standard_normal((6, 20))
    b = o.generation_error_bound(small_model, x0, data, SIGMA_MIN, 300)
    assert np.all(b.error <= b.bound * (1 + 1e-6) + 1e-8)
    assert np.all(b.log10_global_bound > np.log10(b.bound))


def test_sample_metrics_of_training_points(data) -> None:
    x0 = np.random.default_rng(9).standard_normal((5, 20))
    m = o.sample_metrics(x0, data.copy(), data)
    assert m.nn_distance == 0.0 and m.distinct_fraction == 0.0 and m.coverage == 1.0
    assert m.rho < 1e-12 and m.off_fraction < 1e-12


@pytest.mark.parametrize("bad", [np.zeros((3, 19)), np.full((2, 20), np.inf)])
def test_generation_rejects_bad_starts(small_model, bad) -> None:
    with pytest.raises(ValueError):
        o.generate(small_model, bad, 10)
