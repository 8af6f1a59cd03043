"""Property tests of the engines' public functions (hypothesis, derandomised).

Bad input (NaN, inf, complex, object and string arrays, wrong shapes, negative or fractional
sizes, out-of-range controls, overflowing scales) must be refused with ``ValueError`` or
``TypeError`` within the deadline, never hang, crash or answer silently; good input must satisfy
the invariants of the quantity (weights on the simplex, doubly stochastic plans, W2 and KL >= 0
and zero on equal arguments, nonnegative generated variances, KE >= transport cost, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numerics.linear_diffusion as ld
from numerics.couplings import (
    batch_ot_coupling,
    entropic_plan,
    is_permutation,
    pairing_cost,
    sinkhorn_log,
    squared_distances,
    stable_coupling,
)
from numerics.datasets import power_law_spectrum, sample_gaussian_mixture, white_samples
from numerics.empirical_field import integrate_flow, optimal_velocity, posterior_weights
from numerics.flow_metrics import flow_metrics
from numerics.gaussian_family import GaussianCoupling
from numerics.integrators import euler, rk4, solve_rows
from numerics.linear_diffusion_torch import gradient_descent_closed_form
from numerics.subspace import subspace_basis
from theory.gaussians import gaussian_kl, gaussian_w2_squared

# One second per example: a refusal must come before any work.
FAST = settings(max_examples=12, deadline=1000, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
GOOD = settings(max_examples=25, deadline=2000, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
REFUSED = (ValueError, TypeError)
SCH = ld.beta_schedule(20)
DATA = np.array([[1.0, 0.0], [-0.5, 0.8], [0.2, -1.1]])


# ------------------------------------------------------------------------------ bad arrays
def _corrupt(a: np.ndarray, kind: str, rng: np.random.Generator) -> Any:
    idx = tuple(int(rng.integers(n)) for n in a.shape)
    if kind in ("nan", "inf", "-inf"):
        b = a.copy()
        b[idx] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}[kind]
        return b
    if kind == "complex":
        return a + 1j * rng.standard_normal(a.shape)
    if kind == "complex-zero-imag":  # still complex: never cast silently
        return a.astype(np.complex128)
    if kind == "object":
        return a.astype(object)
    if kind == "string":
        return a.astype(str)
    if kind == "extra-axis":
        return a[None, None]
    if kind == "flat":
        return a.reshape(-1)
    if kind == "empty":
        return a[:0]
    if kind == "huge":
        return a * 1e160
    raise AssertionError(kind)


ARRAY_KINDS = ("nan", "inf", "-inf", "complex", "complex-zero-imag", "object", "string")
SHAPE_KINDS = ("extra-axis", "empty")

# name -> (call on the corrupted array, shape of the good array, corruptions that must be refused)
ARRAY_CASES: dict[str, tuple[Callable[[Any], Any], tuple[int, ...], tuple[str, ...]]] = {
    "squared_distances": (
        lambda a: squared_distances(a, np.ones((5, 3))),
        (5, 3),
        (*ARRAY_KINDS, *SHAPE_KINDS, "huge"),
    ),
    "entropic_plan": (lambda a: entropic_plan(np.ones((5, 3)), a), (5, 3), (*ARRAY_KINDS, *SHAPE_KINDS, "huge")),
    "batch_ot_coupling": (
        lambda a: batch_ot_coupling(a, np.ones((5, 3))),
        (5, 3),
        (*ARRAY_KINDS, *SHAPE_KINDS, "huge"),
    ),
    "stable_coupling": (lambda a: stable_coupling(a, np.ones((5, 3))), (5, 3), (*ARRAY_KINDS, *SHAPE_KINDS, "huge")),
    "sinkhorn_log": (
        lambda a: sinkhorn_log(np.full(4, 0.25), np.full(4, 0.25), a, 1.0),
        (4, 4),
        (*ARRAY_KINDS, "flat"),
    ),
    "posterior_weights x": (lambda a: posterior_weights(a, 0.5, DATA), (4, 2), (*ARRAY_KINDS, "extra-axis", "huge")),
    "posterior_weights data": (
        lambda a: posterior_weights(np.ones((4, 2)), 0.5, a),
        (3, 2),
        (*ARRAY_KINDS, *SHAPE_KINDS, "huge"),
    ),
    "posterior_weights t": (lambda a: posterior_weights(np.ones((4, 2)), a, DATA), (4,), (*ARRAY_KINDS, "extra-axis")),
    "optimal_velocity": (
        lambda a: optimal_velocity(np.ones((4, 2)), 0.5, a),
        (3, 2),
        (*ARRAY_KINDS, *SHAPE_KINDS, "huge"),
    ),
    "integrate_flow": (lambda a: integrate_flow(a, DATA), (2, 2), (*ARRAY_KINDS, "extra-axis", "huge")),
    "rk4": (lambda a: rk4(lambda x, t: -x, a, 4), (3, 2), ARRAY_KINDS),
    "euler": (lambda a: euler(lambda x, t: -x, a, 4), (3, 2), ARRAY_KINDS),
    "solve_rows": (lambda a: solve_rows(lambda s, y: -y, a, 0.0, 1.0), (3, 2), (*ARRAY_KINDS, "flat")),
    "flow_metrics": (lambda a: flow_metrics(lambda x, t: -x, a, 4), (3, 2), (*ARRAY_KINDS, *SHAPE_KINDS)),
    "kl_divergence f": (lambda a: ld.kl_divergence(a, np.eye(3), np.ones(3)), (3,), (*ARRAY_KINDS, "empty")),
    "kl_divergence U": (lambda a: ld.kl_divergence(np.ones(3), a, np.ones(3)), (3, 3), (*ARRAY_KINDS, "flat")),
    "mode_weights": (lambda a: ld.mode_weights(a, 0.5), (4,), ARRAY_KINDS),
    "eigen_modes": (lambda a: ld.eigen_modes(a @ a.T if a.dtype.kind == "f" else a), (3, 3), (*ARRAY_KINDS, "flat")),
    "empirical_moments": (lambda a: ld.empirical_moments(a), (5, 3), (*ARRAY_KINDS, *SHAPE_KINDS)),
    "mode_recursion": (lambda a: ld.mode_recursion(a, SCH), (3,), ARRAY_KINDS),
    "gradient_descent_closed_form": (
        lambda a: gradient_descent_closed_form(a, 0.5, 0.0, 0.1, steps=2),
        (3, 3),
        (*ARRAY_KINDS, "flat", "extra-axis"),
    ),
    "gaussian_w2_squared": (
        lambda a: gaussian_w2_squared(np.zeros(3), a, np.zeros(3), np.eye(3)),
        (3, 3),
        (*ARRAY_KINDS, "extra-axis"),
    ),
    "gaussian_kl": (lambda a: gaussian_kl(np.zeros(3), np.eye(3), a, np.eye(3)), (3,), (*ARRAY_KINDS, "extra-axis")),
    "GaussianCoupling": (lambda a: GaussianCoupling(mu=a), (2,), (*ARRAY_KINDS, "extra-axis")),
    "subspace_basis": (lambda a: subspace_basis(a), (4, 3), (*ARRAY_KINDS, *SHAPE_KINDS)),
    "sample_gaussian_mixture": (
        lambda a: sample_gaussian_mixture(3, a, 0.5, np.random.default_rng(0)),
        (2, 2),
        (*ARRAY_KINDS, "flat", "empty"),
    ),
}


@pytest.mark.parametrize("case", sorted(ARRAY_CASES))
@FAST
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_bad_arrays_are_refused(case: str, data: st.DataObject, seed: int) -> None:
    call, shape, refused = ARRAY_CASES[case]
    kind = data.draw(st.sampled_from(refused), label="corruption")
    rng = np.random.default_rng(seed)
    good = rng.standard_normal(shape)
    if len(shape) == 2 and shape[0] == shape[1]:
        good = good + 2.0 * np.eye(shape[0])
    with pytest.raises(REFUSED):
        call(_corrupt(good, kind, rng))


# ------------------------------------------------------------------------------ bad controls
COMMON_BAD = (np.nan, 1j, "0.5", True, None, [0.5, 0.5])
INT_BAD = (*COMMON_BAD, np.inf, 2.5, -1)

# name -> (call on the control's value, values that must be refused besides COMMON_BAD)
CONTROL_CASES: dict[str, tuple[Callable[[Any], Any], tuple[Any, ...]]] = {
    "entropic_plan eps_rel": (lambda v: entropic_plan(DATA, DATA[::-1], v), (-1.0, 0.0, np.inf, 1e-300)),
    "entropic_plan tol": (lambda v: entropic_plan(DATA, DATA[::-1], 0.1, tol=v), (0.0, -1e-3, 1.0, 1e-20)),
    "sinkhorn_log eps": (lambda v: sinkhorn_log(np.full(2, 0.5), np.full(2, 0.5), np.eye(2), v), (0.0, -1.0, np.inf)),
    "sinkhorn_log max_iter": (
        lambda v: sinkhorn_log(np.full(2, 0.5), np.full(2, 0.5), np.eye(2), 1.0, max_iter=v),
        INT_BAD,
    ),
    "posterior_weights sigma_min": (lambda v: posterior_weights(DATA, 0.5, DATA, v), (-0.1, 1.0, np.inf)),
    "optimal_velocity t": (lambda v: optimal_velocity(DATA, v, DATA), (-0.1, 1.0, 1.5, np.inf)),
    "optimal_velocity chunk": (lambda v: optimal_velocity(DATA, 0.5, DATA, chunk=v), (*INT_BAD, 0)),
    "integrate_flow rtol": (lambda v: integrate_flow(DATA, DATA, rtol=v), (0.0, -1e-6, 1e-300, 1.0, np.inf)),
    "integrate_flow atol": (lambda v: integrate_flow(DATA, DATA, atol=v), (0.0, -1.0, np.inf)),
    "integrate_flow max_step": (lambda v: integrate_flow(DATA, DATA, max_step=v), (0.0, -1.0, 1e-12, -np.inf)),
    "integrate_flow t_end": (lambda v: integrate_flow(DATA, DATA, t_end=v), (0.0, -0.5, 1.5, np.inf)),
    "rk4 steps": (lambda v: rk4(lambda x, t: -x, DATA, v), (*INT_BAD, 0)),
    "euler t1": (lambda v: euler(lambda x, t: -x, DATA, 3, 0.0, v), (np.inf, -np.inf)),
    "solve_rows max_steps": (lambda v: solve_rows(lambda s, y: -y, DATA, 0.0, 1.0, max_steps=v), (*INT_BAD, 0)),
    "flow_metrics steps": (lambda v: flow_metrics(lambda x, t: -x, DATA, v), (*INT_BAD, 0, 3)),
    "mode_weights lr": (lambda v: ld.mode_weights(np.ones(2), 0.5, gd_steps=2, lr=v), (0.0, -1.0, np.inf)),
    "mode_weights ridge": (lambda v: ld.mode_weights(np.ones(2), 0.5, ridge=v), (-0.1, np.inf)),
    "mode_weights one_minus_abar": (lambda v: ld.mode_weights(np.ones(2), v), (0.0, -0.5, 1.5, np.inf)),
    "mode_weights gd_steps": (lambda v: ld.mode_weights(np.ones(2), 0.5, gd_steps=v), INT_BAD),
    "beta_schedule T": (lambda v: ld.beta_schedule(v), (*INT_BAD, 0)),
    "effective_regularisation z": (lambda v: ld.effective_regularisation(np.ones(2), 5, v), (0.0, -1.0, np.inf)),
    "gradient_descent lr": (
        lambda v: gradient_descent_closed_form(np.eye(2), 0.5, 0.0, v, steps=2),
        (0.0, -1.0, np.inf),
    ),
    "gradient_descent steps": (
        lambda v: gradient_descent_closed_form(np.eye(2), 0.5, 0.0, 0.1, steps=v),
        (np.inf, 2.5, -1, "3"),
    ),
    "power_law_spectrum d": (lambda v: power_law_spectrum(v, 1.0), (*INT_BAD, 0)),
    "power_law_spectrum k": (lambda v: power_law_spectrum(5, v), (-1.0, np.inf)),
    "white_samples n": (lambda v: white_samples(v, 2, 0), (*INT_BAD, 0)),
    "GaussianCoupling rho": (lambda v: GaussianCoupling(rho=v), (-0.1, 1.5, np.inf)),
}


def _legitimate(case: str, value: Any) -> bool:
    """Common bad values that are valid for one control: ``None`` as a default, arrays where they broadcast."""
    if value is None:
        return case in ("integrate_flow max_step", "mode_weights gd_steps")
    return isinstance(value, list) and case == "mode_weights one_minus_abar"


@pytest.mark.parametrize("case", sorted(CONTROL_CASES))
@settings(max_examples=20, deadline=1000, derandomize=True)
@given(data=st.data())
def test_bad_controls_are_refused_before_any_work(case: str, data: st.DataObject) -> None:
    call, extra = CONTROL_CASES[case]
    values = [v for v in (*COMMON_BAD, *extra) if not _legitimate(case, v)]
    value = data.draw(st.sampled_from(values), label="value")
    with pytest.raises(REFUSED):
        call(value)


# ------------------------------------------------------------------------------ good input
def _points(rng: np.random.Generator, n: int, d: int, scale: float) -> np.ndarray:
    return scale * rng.standard_normal((n, d))


@GOOD
@given(
    n=st.integers(1, 8),
    m=st.integers(1, 6),
    d=st.integers(1, 4),
    t=st.one_of(st.floats(0.0, 1.0), st.just(1.0), st.just(0.0)),
    log_scale=st.floats(-200.0, 200.0),
    seed=st.integers(0, 2**16),
)
def test_posterior_weights_lie_on_the_simplex(n, m, d, t, log_scale, seed):
    rng = np.random.default_rng(seed)
    scale = 10.0**log_scale
    data, x = _points(rng, n, d, scale), _points(rng, m, d, scale)
    try:
        w = posterior_weights(x, t, data)
    except ValueError as err:  # only an overflowing scale may be refused, and it says so
        assert "overflow" in str(err) and (scale > 1e120 or t > 0.999)
        return
    assert np.all(w >= 0) and np.all(np.isfinite(w))
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-12)


@GOOD
@given(k=st.integers(2, 12), d=st.integers(1, 3), eps_rel=st.floats(1e-2, 10.0), seed=st.integers(0, 2**16))
def test_plans_are_doubly_stochastic_and_exact_plans_are_optimal(k, d, eps_rel, seed):
    rng = np.random.default_rng(seed)
    x0, x1 = rng.standard_normal((k, d)), rng.standard_normal((k, d)) + 1.0
    pi = entropic_plan(x0, x1, eps_rel)
    assert np.all(pi >= 0) and np.all(np.isfinite(pi))
    assert max(np.abs(pi.sum(0) - 1).max(), np.abs(pi.sum(1) - 1).max()) <= 1e-10
    j_ot, j_st = batch_ot_coupling(x0, x1), stable_coupling(x0, x1)
    assert is_permutation(j_ot) and is_permutation(j_st)
    ot = pairing_cost(x0, x1, j_ot)
    assert ot <= pairing_cost(x0, x1, j_st) + 1e-12
    assert ot <= (pi * squared_distances(x0, x1)).sum() / k + 1e-12


def _spd(rng: np.random.Generator, d: int, log_scale: float) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return 10.0**log_scale * (a @ a.T + 0.5 * np.eye(d))


@GOOD
@given(d=st.integers(1, 4), log_scale=st.floats(-3.0, 3.0), seed=st.integers(0, 2**16))
def test_w2_and_kl_are_nonnegative_and_zero_on_equal_gaussians(d, log_scale, seed):
    rng = np.random.default_rng(seed)
    m0, m1 = rng.standard_normal(d), rng.standard_normal(d)
    c0, c1 = _spd(rng, d, log_scale), _spd(rng, d, log_scale)
    scale = 10.0**log_scale
    assert gaussian_w2_squared(m0, c0, m1, c1) >= 0.0
    assert gaussian_kl(m0, c0, m1, c1) >= -1e-12 * d
    assert gaussian_w2_squared(m0, c0, m0, c0) <= 1e-12 * scale * d
    assert abs(gaussian_kl(m0, c0, m0, c0)) <= 1e-12 * d
    shifted = m0 + 0.5 * np.sqrt(scale)
    assert gaussian_w2_squared(m0, c0, shifted, c0) > 0.0 and gaussian_kl(m0, c0, shifted, c0) > 0.0


@GOOD
@given(
    d=st.integers(1, 5),
    log_f=st.lists(st.floats(-330.0, 3.0), min_size=5, max_size=5),
    direction=st.sampled_from(ld.KL_DIRECTIONS),
    seed=st.integers(0, 2**16),
)
def test_linear_diffusion_kl_is_nonnegative_never_nan(d, log_f, direction, seed):
    rng = np.random.default_rng(seed)
    lam = np.exp(rng.uniform(-3, 3, d))
    f = 10.0 ** np.asarray(log_f[:d])  # down to subnormal variances
    u = np.linalg.qr(rng.standard_normal((d, d)))[0] if seed % 2 else np.eye(d)
    kl = float(ld.kl_divergence(f, u, lam, direction=direction))
    assert not np.isnan(kl) and kl >= -1e-12
    assert abs(float(ld.kl_divergence(lam, np.eye(d), lam, direction=direction))) <= 1e-12


@GOOD
@given(
    d=st.integers(1, 6),
    ridge=st.floats(0.0, 1.0),
    train_time=st.one_of(st.none(), st.floats(0.0, 100.0)),
    seed=st.integers(0, 2**16),
)
def test_generated_variances_are_nonnegative(d, ridge, train_time, seed):
    lam_hat = np.abs(np.random.default_rng(seed).standard_normal(d)) * 3.0
    lam_hat[0] = 0.0  # a null mode
    modes = ld.mode_recursion(lam_hat, SCH, ridge, train_time=train_time)
    assert np.all(np.isfinite(modes.f)) and np.all(modes.f >= 0)


@GOOD
@given(d=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_flow_metrics_satisfy_their_quadrature_inequalities(d, seed):
    # Simpson's weights are nonnegative and sum to 1, so for every start S = sum w |v - D|^2 >= 0
    # and (sum w |v|)^2 <= sum w |v|^2 (Cauchy-Schwarz): path length^2 <= KE, exactly up to rounding.
    rng = np.random.default_rng(seed)
    a, b = 0.5 * rng.standard_normal((d, d)), rng.standard_normal(d)
    fm = flow_metrics(
        lambda x, t: x @ a.T + b * t, rng.standard_normal((20, d)), 20, error_estimate=False, return_samples=True
    )
    per = fm["samples"]
    scale = per["kinetic_energy_simpson"] + 1.0
    assert np.all(per["straightness"] >= -1e-12 * scale)
    assert np.all(per["path_length"] ** 2 <= per["kinetic_energy_simpson"] * (1 + 1e-12) + 1e-300)
    assert np.all(per["transport_cost"] >= 0) and np.all(per["kinetic_energy"] >= 0)
