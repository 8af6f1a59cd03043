"""memgen.ExactVelocity: the NumPy exact field to float64 rounding, every call convention, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import memgen
from numerics.empirical_field import optimal_velocity

EPS = np.finfo(float).eps


def _points(seed: int, n: int, d: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d))


def _field_gap(spec, ref_spec) -> tuple[float, float]:
    """Max |ExactVelocity(spec) - NumPy field(ref_spec)| / max |NumPy field|, and the largest logit."""
    rng = np.random.default_rng(1)
    data, x = _points(0, 40, 3), rng.standard_normal((25, 3))
    t = rng.uniform(0.02, 0.98, 25)
    got = memgen.ExactVelocity(data, spec)(torch.tensor(x), torch.tensor(t)).numpy()
    path = memgen.path(ref_spec)
    ref = optimal_velocity(x, t, data, path)
    alpha, sig = path.alpha(t), path.sigma(t)
    logits = (alpha / sig**2)[:, None] * (x @ data.T - 0.5 * alpha[:, None] * (data**2).sum(1)[None, :])
    return float(np.abs(got - ref).max() / np.abs(ref).max()), float(np.abs(logits).max())


def _torchcfm_path():
    torchcfm = pytest.importorskip("torchcfm")
    return torchcfm.ConditionalFlowMatcher(0.1)


@pytest.mark.parametrize("spec", ["ot", "cosine", "torchcfm"])
def test_exact_velocity_is_the_numpy_field_to_rounding(spec):
    spec = _torchcfm_path() if spec == "torchcfm" else spec
    gap, top_logit = _field_gap(spec, spec)
    # Float64 rounding: the same softmax in another summation order (torch vs NumPy chunks). An
    # error of a few ulps in logits of size L moves the weights by about L * eps; 64 such errors
    # bound the relative gap (the logits here stay below 1e3, so the bound is below 2e-11).
    assert top_logit < 1e3
    tol = 64 * EPS * (1 + top_logit)
    assert gap <= tol
    # Negative control: the same comparison against another path's field fails by far.
    wrong_gap, _ = _field_gap(spec, "ot(0.01)" if spec == "ot" else "ot")
    assert wrong_gap > 1e6 * tol


def test_call_conventions_agree():
    data = _points(2, 30, 4)
    field = memgen.ExactVelocity(data, "cosine")
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.standard_normal((6, 4)))
    t = torch.tensor(rng.uniform(0.1, 0.9, 6))
    ref = torch.tensor(optimal_velocity(x.numpy(), t.numpy(), data, "cosine"))
    for v in (
        field(x, t),  # flow_matching's ModelWrapper / ODESolver, positional
        field(x=x, t=t),  # ODESolver calls velocity_model(x=x, t=t)
        field(t, x),  # torchdyn / torchdiffeq / torchcfm's torch_wrapper
        field(t, x, args={}),  # torchdyn passes args={}
        field(t[:, None], x),  # t as (batch, 1)
        field(torch.cat([x, t[:, None]], 1)),  # torchcfm's models: [x | t]
    ):
        torch.testing.assert_close(v, ref, rtol=0, atol=1e-13)
    scalar = optimal_velocity(x.numpy(), 0.4, data, "cosine")
    f64 = torch.float64
    for tt in (torch.tensor(0.4, dtype=f64), torch.tensor([0.4], dtype=f64), 0.4, torch.full((6,), 0.4, dtype=f64)):
        np.testing.assert_allclose(field(x, tt).numpy(), scalar, rtol=0, atol=1e-13)
    # float32 states: the float64 field at those points, rounded once to float32.
    x32, t32 = x.float(), torch.tensor(0.4, dtype=torch.float32)
    v32 = field(x32, t32)
    assert v32.dtype == torch.float32
    torch.testing.assert_close(v32, field(x32.double(), t32.double()).float(), rtol=0, atol=0)


def test_sample_shaped_data_and_gradients():
    data = _points(4, 12, 6).reshape(12, 2, 3)
    field = memgen.ExactVelocity(data, "ot")
    x = torch.tensor(_points(5, 5, 6).reshape(5, 2, 3), requires_grad=True)
    v = field(x, torch.tensor(0.5))
    assert v.shape == (5, 2, 3)
    ref = optimal_velocity(x.detach().numpy().reshape(5, 6), 0.5, data.reshape(12, 6), "ot")
    np.testing.assert_allclose(v.detach().numpy().reshape(5, 6), ref, rtol=0, atol=1e-13)
    v.sum().backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all())


def test_module_moves_but_never_casts_the_data():
    data = _points(6, 20, 2) * (1 + 1e-12)  # values that float32 would round
    field = memgen.ExactVelocity(data, "ot")
    x = torch.tensor(_points(7, 4, 2))
    before = field(x, 0.7)
    field.float().to("cpu").half()
    torch.testing.assert_close(field(x, 0.7), before, rtol=0, atol=0)
    assert "N=20, d=2" in repr(field)


def test_refusals_are_clear():
    field = memgen.ExactVelocity(_points(8, 10, 2), "ot")
    x = torch.tensor(_points(9, 3, 2))
    with pytest.raises(ValueError, match="integrate_flow"):
        field(x, torch.tensor(1.0))  # sigma_1 = 0: singular, pointed to the log-time integrator
    assert bool(torch.isfinite(memgen.ExactVelocity(_points(8, 10, 2), "ot(0.001)")(x, 1.0)).all())
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        field(x, torch.tensor(-0.1))
    with pytest.raises(TypeError, match="unconditional"):
        field(x, 0.5, label=torch.zeros(3))
    with pytest.raises(TypeError, match="unconditional"):
        field(0.5, x, args={"y": 1})
    with pytest.raises(ValueError, match="cannot tell x from t"):
        field(x, torch.zeros(5))
    with pytest.raises(TypeError, match="one"):
        field(x)
    with pytest.raises(TypeError, match="forward takes"):
        field(x, 0.5, 0.5)
    with pytest.raises(ValueError, match="convention must be"):
        memgen.ExactVelocity(_points(8, 10, 2), "ot", convention="xt")
    with pytest.raises(ValueError, match="NaN"):
        memgen.ExactVelocity(np.array([[0.0, np.nan]]), "ot")
    with pytest.raises(TypeError, match="a path is"):
        memgen.ExactVelocity(_points(8, 10, 2), 0.01)


def test_ambiguous_shapes_need_a_convention():
    data = _points(10, 8, 1)  # d = 1: a (batch, 1) time looks like a state
    x, t = torch.tensor(_points(11, 4, 1)), torch.full((4, 1), 0.3, dtype=torch.float64)
    with pytest.raises(ValueError, match="ambiguous"):
        memgen.ExactVelocity(data, "ot")(x, t)
    ref = optimal_velocity(x.numpy(), 0.3, data, "ot")
    np.testing.assert_allclose(memgen.ExactVelocity(data, "ot", convention="x_t")(x, t).numpy(), ref, atol=1e-13)
    np.testing.assert_allclose(memgen.ExactVelocity(data, "ot", convention="t_x")(t, x).numpy(), ref, atol=1e-13)
    np.testing.assert_allclose(memgen.ExactVelocity(data, "ot")(x=x, t=t).numpy(), ref, atol=1e-13)
    # A 0-dim time is never ambiguous.
    np.testing.assert_allclose(memgen.ExactVelocity(data, "ot")(torch.tensor(0.3), x).numpy(), ref, atol=1e-13)
