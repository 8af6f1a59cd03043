"""Unit tests of :mod:`numerics.nets`: OSDNet heads, shape-generic fields, checkpoint stacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.datasets import dataset
from numerics.empirical_field import optimal_velocity
from numerics.nets import (
    OSDNet,
    StackedLinear,
    VelocityMLP,
    as_float64,
    seeded_init_,
    stack_checkpoints,
    with_exact_off_head,
)
from numerics.subspace import proper_subspace

SIGMA_MIN = 0.01


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return dataset("sparse-d20")


@pytest.fixture(scope="module")
def basis(data) -> np.ndarray:
    return proper_subspace(data).basis


def _osdnet(basis: np.ndarray, seed: int, off_head: str = "learned", width: int = 16) -> OSDNet:
    return seeded_init_(OSDNet(basis, SIGMA_MIN, width=width, depth=2, off_head=off_head), seed)


# ------------------------------------------------------------------------ OSDNet heads
def test_osdnet_parts_lie_in_their_subspaces(data, basis) -> None:
    sub = proper_subspace(data)
    m = as_float64(_osdnet(basis, 3))
    x = torch.as_tensor(np.random.default_rng(0).standard_normal((7, 20)))
    inside, off = m.split(x, torch.full((7,), 0.3, dtype=torch.float64))
    assert np.max(np.abs(sub.off(inside.numpy()))) < 1e-13
    assert np.max(np.abs(sub.inside(off.numpy()))) < 1e-13


def test_exact_off_head_is_closed_form(data, basis) -> None:
    sub = proper_subspace(data)
    m = as_float64(with_exact_off_head(_osdnet(basis, 3)))
    x = np.random.default_rng(1).standard_normal((6, 20))
    t = np.linspace(0.0, 1.0, 6)
    _, off = m.split(torch.as_tensor(x), torch.as_tensor(t))
    expected = -(1 - SIGMA_MIN) * sub.off(x) / (1 - (1 - SIGMA_MIN) * t)[:, None]
    np.testing.assert_allclose(off.numpy(), expected, rtol=1e-13, atol=1e-14)
    # The off part of the exact field (fact (b)) is the same closed form.
    np.testing.assert_allclose(
        sub.off(optimal_velocity(x, 0.5, data, SIGMA_MIN)),
        -(1 - SIGMA_MIN) * sub.off(x) / (1 - (1 - SIGMA_MIN) * 0.5),
        atol=1e-12,
    )


def test_exact_off_head_with_another_sigma_min(basis) -> None:
    model = _osdnet(basis, 3)
    wrong = as_float64(with_exact_off_head(model, sigma_min=0.02))
    assert wrong.sigma_min == 0.02 and model.sigma_min == SIGMA_MIN
    x = torch.as_tensor(np.random.default_rng(2).standard_normal((4, 20)))
    _, off = wrong.split(x, 0.5)
    u = torch.as_tensor(basis)
    np.testing.assert_allclose(off.numpy(), (-(0.98) * (x - x @ u @ u.T) / (1 - 0.98 * 0.5)).numpy(), rtol=1e-13)


def test_isotropic_off_head_is_a_scalar_rate_times_off_part(data, basis) -> None:
    sub = proper_subspace(data)
    m = as_float64(_osdnet(basis, 4, "isotropic", width=8))
    x = np.random.default_rng(10).standard_normal((5, 20))
    t = torch.full((5,), 0.4, dtype=torch.float64)
    _, off = m.split(torch.as_tensor(x), t)
    rate = m.g(t).numpy()
    np.testing.assert_allclose(off.numpy(), rate[:, None] * sub.off(x), rtol=1e-13, atol=1e-15)
    # Same parameter count whatever the ambient dimension.
    big = OSDNet(np.vstack([basis, np.zeros((80, 5))]), SIGMA_MIN, width=8, depth=2, off_head="isotropic")
    assert sum(p.numel() for p in big.parameters()) == sum(p.numel() for p in m.parameters())


def test_basis_stays_float64_under_float_conversion(basis) -> None:
    m = as_float64(_osdnet(basis, 3)).float()
    assert m.basis.dtype == torch.float64
    assert next(m.parameters()).dtype == torch.float32


def test_osdnet_rejects_bad_arguments(basis) -> None:
    with pytest.raises(ValueError):
        OSDNet(2 * basis, SIGMA_MIN)
    with pytest.raises(ValueError):
        OSDNet(basis, SIGMA_MIN, off_head="neither")
    with pytest.raises(ValueError):
        OSDNet(basis, 1.5)
    with pytest.raises(ValueError):
        with_exact_off_head(VelocityMLP(20, 8, 1))


# ------------------------------------------------------------------------ leading dimensions
@pytest.mark.parametrize("time_embedding", [0, 8])
def test_velocity_mlp_takes_any_leading_shape(time_embedding) -> None:
    m = as_float64(VelocityMLP(3, 8, 2, time_embedding, init_seed=5))
    x = torch.as_tensor(np.random.default_rng(3).standard_normal((2, 4, 3)))
    t = torch.linspace(0.1, 0.9, 4, dtype=torch.float64)
    batched = m(x, t)
    for k in range(2):
        torch.testing.assert_close(batched[k], m(x[k], t), rtol=0, atol=0)
    torch.testing.assert_close(m(x, 0.3)[1], m(x[1], torch.full((4,), 0.3, dtype=torch.float64)), rtol=0, atol=0)


@pytest.mark.parametrize("off_head", ["learned", "isotropic", "exact"])
def test_osdnet_takes_any_leading_shape(basis, off_head) -> None:
    m = as_float64(_osdnet(basis, 6, off_head))
    x = torch.as_tensor(np.random.default_rng(4).standard_normal((3, 5, 20)))
    batched = m(x, 0.7)
    for k in range(3):
        torch.testing.assert_close(batched[k], m(x[k], 0.7), rtol=0, atol=0)


# ------------------------------------------------------------------------ checkpoint stacks
@pytest.mark.parametrize("off_head", ["learned", "isotropic", "exact"])
def test_stack_evaluates_each_checkpoint_on_its_batch(basis, off_head) -> None:
    models = [_osdnet(basis, s, off_head) for s in (1, 2, 3)]
    stack = stack_checkpoints(models[0], [m.state_dict() for m in models])
    assert stack.stack_size == 3 and stack.dim == 20
    x = torch.as_tensor(np.random.default_rng(5).standard_normal((3, 6, 20)))
    t = torch.as_tensor(np.random.default_rng(6).uniform(0, 1, 6))
    out = stack(x, t)
    for k, m in enumerate(models):
        torch.testing.assert_close(out[k], as_float64(m)(x[k], t), rtol=1e-13, atol=1e-14)
    assert all(p.dtype == torch.float64 for p in stack.buffers())


def test_stack_of_plain_mlp_and_its_validation(basis) -> None:
    models = [VelocityMLP(4, 8, 2, init_seed=s) for s in (1, 2)]
    stack = stack_checkpoints(models[0], [m.state_dict() for m in models])
    x = torch.as_tensor(np.random.default_rng(7).standard_normal((2, 3, 4)))
    torch.testing.assert_close(stack(x, 0.2)[1], as_float64(models[1])(x[1], 0.2), rtol=1e-13, atol=1e-14)
    with pytest.raises(ValueError, match="leading dimension"):
        stack(x[:1], 0.2)
    with pytest.raises(ValueError):
        stack_checkpoints(models[0], [])
    other = OSDNet(np.linalg.qr(np.random.default_rng(8).standard_normal((20, 5)))[0], SIGMA_MIN, 16, 2)
    with pytest.raises(ValueError, match="buffer"):
        stack_checkpoints(_osdnet(basis, 1), [_osdnet(basis, 1).state_dict(), other.state_dict()])


def test_stacked_linear_is_a_batched_affine_map() -> None:
    rng = np.random.default_rng(9)
    w, b = torch.as_tensor(rng.standard_normal((2, 3, 4))), torch.as_tensor(rng.standard_normal((2, 3)))
    x = torch.as_tensor(rng.standard_normal((2, 5, 4)))
    out = StackedLinear(w, b)(x)
    torch.testing.assert_close(out, torch.einsum("kmi,koi->kmo", x, w) + b[:, None, :], rtol=1e-14, atol=1e-14)
