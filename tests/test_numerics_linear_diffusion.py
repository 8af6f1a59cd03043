"""Engines of :mod:`numerics.linear_diffusion` and :mod:`numerics.linear_diffusion_torch`."""

from __future__ import annotations

import numpy as np
import pytest

from numerics import linear_diffusion as ld
from numerics import linear_diffusion_torch as lt
from theory.gaussians import gaussian_kl


@pytest.mark.claim("merger-goldt/beta-schedule")
def test_schedule_precision_and_tilde_beta():
    sch = ld.beta_schedule(1000)
    np.testing.assert_allclose(sch.one_minus_abar, 1 - sch.abar, atol=1e-15)
    assert sch.one_minus_abar[0] == pytest.approx(sch.beta[0], rel=1e-15)
    tilde = sch.sampler_variance("beta_tilde")
    assert tilde[0] == 0.0 and np.all(tilde[1:] < sch.beta[1:])
    assert sch.sampler_variance("beta", final_noise=False)[0] == 0.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: ld.beta_schedule(0),
        lambda: ld.beta_schedule(10, beta_max=1.5),
        lambda: ld.power_law_spectrum(0, 1.0),
        lambda: ld.power_law_spectrum(5, -1.0),
        lambda: ld.white_samples(0, 3, 0),
        lambda: ld.empirical_moments(np.array([[np.nan, 1.0]])),
        lambda: ld.eigen_modes(np.array([[1.0, 0.0], [0.0, -1.0]])),
        lambda: ld.eigen_modes(np.array([[1.0, 0.5], [0.0, 1.0]])),
        lambda: ld.mode_weights(np.ones(2), 0.5, ridge=-0.1),
        lambda: ld.beta_schedule(10).sampler_variance("sigma"),
        lambda: ld.kl_divergence(np.ones(2), np.eye(2), np.array([1.0, 0.0])),
        lambda: ld.kl_divergence(np.ones(3), np.eye(2), np.ones(2)),
        lambda: ld.effective_regularisation(np.ones(3), 0, 0.1),
        lambda: ld.wishart_white_covariance(5, 3, 2, 0),
    ],
)
@pytest.mark.claim("merger-goldt/kl-d-over-4n")
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.claim("merger-goldt/kl-d-over-4n")
def test_eigenbasis_kl_matches_dense_kl_both_directions():
    rng = np.random.default_rng(3)
    d = 6
    lam = ld.power_law_spectrum(d, 1.0)
    mu_hat, cov_hat = ld.empirical_moments(rng.standard_normal((20, d)) * np.sqrt(lam))
    lam_hat, u = ld.eigen_modes(cov_hat)
    f = lam_hat + 0.1
    cov_gen = (u * f) @ u.T
    mg = mu_hat
    for direction, (a, b) in (
        ("forward", ((mg, cov_gen), (np.zeros(d), np.diag(lam)))),
        ("reverse", ((np.zeros(d), np.diag(lam)), (mg, cov_gen))),
    ):
        got = ld.kl_divergence(f, u, lam, mg, None, direction=direction, part="full", norm="total")
        assert got == pytest.approx(gaussian_kl(*a[:2], *b[:2]), rel=1e-10)


@pytest.mark.claim("merger-goldt/null-mode-variance")
def test_zero_generated_variance_gives_inf_not_nan():
    kl = ld.kl_divergence(np.array([1.0, 0.0]), np.eye(2), np.ones(2))
    assert np.isinf(kl) and kl > 0
    kl = ld.kl_divergence(np.array([1.0, 0.0]), np.eye(2), np.ones(2), direction="reverse")
    assert np.isinf(kl) and kl > 0


@pytest.mark.claim("merger-goldt/sampler-gaussian-recursion")
def test_dense_weights_equal_inverse_formula():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((30, 5))
    _, cov = ld.empirical_moments(x)
    sch = ld.beta_schedule(100)
    w = ld.linear_denoiser_weights(cov, sch, 10, ridge=0.1)
    s = sch.one_minus_abar[9]
    np.testing.assert_allclose(w, np.sqrt(s) * np.linalg.inv((1 - s) * cov + (s + 0.1) * np.eye(5)), atol=1e-13)


@pytest.mark.claim("merger-goldt/deterministic-equivalent")
def test_effective_regularisation_solves_its_equation():
    lam = ld.power_law_spectrum(50, 1.0)
    kappa = ld.effective_regularisation(lam, 20, 1e-3)
    assert kappa - 1e-3 == pytest.approx(kappa / 20 * np.sum(lam / (lam + kappa)), rel=1e-12)


@pytest.mark.claim("merger-goldt/ridge-optimum")
def test_gradient_descent_reaches_optimum_small():
    c = np.diag([1.0, 2.0])
    res = lt.gradient_descent_closed_form(c, 0.25, 0.0, 0.2, grad_tol=1e-13)
    np.testing.assert_allclose(res.weights[0], 0.5 * np.linalg.inv(c), atol=1e-12)


@pytest.mark.claim("merger-goldt/early-stopping")
def test_mode_weights_vectorised_over_training_times():
    lam = np.array([0.0, 1.0])
    taus = np.array([[0.0], [1.0], [1e9]])
    w = ld.mode_weights(np.broadcast_to(lam, (3, 2)), 0.1, train_time=taus)
    np.testing.assert_allclose(w[0], 0.0)
    np.testing.assert_allclose(w[2], ld.mode_weights(lam, 0.1), rtol=1e-12)


def test_generated_covariance_is_a_covariance():
    from numerics.linear_diffusion import beta_schedule, eigen_modes, generated_covariance, mode_recursion

    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 5))
    cov_hat = np.cov(x, rowvar=False, bias=True)
    sch = beta_schedule(1000)
    g = generated_covariance(cov_hat, sch)
    lam, u = eigen_modes(cov_hat)
    np.testing.assert_allclose(g, (u * mode_recursion(lam, sch).f) @ u.T, rtol=1e-12, atol=1e-15)
    assert g.shape == (5, 5) and np.allclose(g, g.T)
