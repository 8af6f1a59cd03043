"""Bad input to the engines is refused up front with a message that names it: never NaN, a wrong
number or a raw traceback from deep inside (the cases of the security and reliability review)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics import couplings, gaussian_family, gaussians, integrators
from numerics import empirical_field as ef
from numerics import linear_diffusion as ld
from proofs_checks.cli import main
from theory.validation import max_dense_bytes

T = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
EYE = np.eye(2)


@pytest.mark.parametrize(
    ("call", "named"),
    [
        # the torch exact field refused what the NumPy one refuses (it returned all-NaN)
        (lambda: ef.optimal_velocity_torch(T(np.zeros((3, 2))), 0.5, T([[0.0, np.nan], [1, 1]])), "NaN"),
        (lambda: ef.optimal_velocity_torch(T(np.full((3, 2), np.nan)), 0.5, T(np.ones((2, 2)))), "NaN"),
        (lambda: ef.optimal_velocity_torch(T(np.ones((3, 2))), 0.5, T(np.ones((2, 2)) * 1e200)), "overflow"),
        (lambda: ef.optimal_velocity_torch(T(np.ones((3, 2))), 0.5, T(np.ones((2, 2))), chunk=0), "chunk"),
        # Gaussian helpers: non-symmetric, not positive definite, overflowing
        (lambda: gaussians.gaussian_kl_mp(np.zeros(2), EYE, np.zeros(2), -EYE), "positive definite"),
        (lambda: gaussian_family.sym_sqrt(-EYE), "positive semi-definite"),
        (lambda: gaussian_family.sym_sqrt(np.array([[1.0, 1.0], [0.0, 1.0]])), "symmetric"),
        (lambda: ld.kl_divergence(np.ones(2), np.ones((2, 2)), np.ones(2)), "orthogonal"),
        # out of range
        (lambda: ef.sigma_t(2.0), "t must lie in"),
        (lambda: ef.time_from_tau(-1.0), "tau must be >= 0"),
        (lambda: ef.tau_from_time(1.5), "t must lie in"),
        (lambda: ef.tau_from_time(1.5, "cosine"), "t must lie in"),
        (lambda: gaussian_family.GaussianCoupling().blocks(2.0), "t must lie in"),
        (lambda: couplings.pairing_cost(np.ones((6, 2)), np.ones((6, 2)), np.arange(5)), "6 entries, got 5"),
        # unclear messages before
        (lambda: ef.integrate_flow(np.zeros((3, 2)), np.ones((2, 2)), t_end=1e-17), "too close to 0"),
        (lambda: ef.optimal_velocity(np.ones((3, 0)), 0.5, np.ones((2, 0))), "d = 0"),
        (lambda: ef.optimal_velocity(np.ones((3, 2)), 0.5, np.ones((0, 2))), "data is empty"),
        (lambda: ld.deterministic_equivalent_test_error(np.array([]), 10, 0.5), "non-empty"),
        (lambda: integrators.hermite_dense(np.array([]), np.zeros((0, 2)), np.zeros((0, 2)), np.ones(1)), "2 recorded"),
        (lambda: ld.mode_weights(np.ones(3), np.array([0.5, 0.6])), "do not broadcast"),
        # NaN passed through before
        (lambda: ef.unique_points(np.array([[np.nan, 1.0], [np.nan, 1.0]])), "NaN"),
        (lambda: ef.distinct_points(T([[np.nan, 1.0], [np.nan, 1.0]])), "NaN"),
        (lambda: ld.mode_weights(np.array([1.0, 2.0]), 0.5, gd_steps=1000, ridge=1e6), "diverges"),
    ],
)
def test_bad_input_is_refused_with_a_message(call, named):
    with pytest.raises(ValueError, match=named):
        call()


def test_overflowing_covariances_give_their_eigenvalues_not_nan():
    lam, _ = ld.eigen_modes(1e308 * EYE)
    np.testing.assert_array_equal(lam, [1e308, 1e308])
    np.testing.assert_allclose(gaussian_family.sym_sqrt(1e308 * EYE), 1e154 * EYE)


@pytest.mark.parametrize("value", ["garbage", "-1", "0", "nan"])
def test_a_bad_dense_cap_is_a_usage_error_before_any_work(monkeypatch, capsys, value):
    import proofs_checks.runner as runner

    monkeypatch.setenv("MEMGEN_MAX_DENSE_GB", value)
    monkeypatch.setattr(runner, "run_check", lambda *a, **k: pytest.fail("a check ran"))
    with pytest.raises(ValueError, match="MEMGEN_MAX_DENSE_GB"):
        max_dense_bytes()
    assert main(["verify", "common/gaussian-kl-closed-form"]) == 2
    assert "MEMGEN_MAX_DENSE_GB must be a positive number" in capsys.readouterr().err
