"""Positive tests and negative controls of every `merger-goldt/` check.

Each claim id has one test that runs its check in the fast tier and expects a pass, and one
that feeds the same check a deliberately wrong input (wrong schedule, wrong-sign recursion,
falsified formula or KL, wrong-direction ordering, untrained model) and expects a failure.
Dependencies on [derived] formulas are named in the docstrings.
"""

from __future__ import annotations

import numpy as np
import pytest

from numerics import linear_diffusion as ld
from proofs_checks.merger_goldt import _wrong_sign_coefficient
from proofs_checks.registry import Context, run_check


def _passes(claim: str, **overrides) -> bool:
    v = run_check(claim, Context(), **overrides)
    assert v.error is None, v.error
    return v.passed


@pytest.mark.claim("merger-goldt/beta-schedule")
def test_beta_schedule():
    assert _passes("merger-goldt/beta-schedule")


@pytest.mark.claim("merger-goldt/beta-schedule")
def test_beta_schedule_rejects_ho_schedule():
    # Ho et al.'s beta_max = 0.02 is not the schedule of the paper.
    assert not _passes("merger-goldt/beta-schedule", beta_max=0.02)


@pytest.mark.claim("merger-goldt/loss-depends-on-moments")
def test_loss_depends_on_moments():
    """[derived] closed form of §1.3 against Monte Carlo over noise."""
    assert _passes("merger-goldt/loss-depends-on-moments")


@pytest.mark.claim("merger-goldt/loss-depends-on-moments")
def test_loss_depends_on_moments_rejects_missing_bias_term():
    def wrong(w, c, cov_hat, s):
        d = w.shape[0]
        c_hat = (1 - s) * cov_hat + s * np.eye(d)
        return float(np.trace(np.eye(d) - 2 * np.sqrt(s) * w + w @ c_hat @ w.T))  # drops ||c||^2

    assert not _passes("merger-goldt/loss-depends-on-moments", closed_form=wrong, noises=2000)


@pytest.mark.claim("merger-goldt/ridge-optimum")
def test_ridge_optimum():
    """[derived] ridge optimum of §1.3 against GD (float64) and Adam on the sampled loss."""
    assert _passes("merger-goldt/ridge-optimum")


@pytest.mark.claim("merger-goldt/ridge-optimum")
def test_ridge_optimum_rejects_formula_without_ridge():
    def no_ridge(cov_hat, s, ridge):
        d = cov_hat.shape[0]
        return np.sqrt(s) * np.linalg.inv((1 - s) * cov_hat + s * np.eye(d))

    assert not _passes("merger-goldt/ridge-optimum", w_star_fn=no_ridge, adam_steps=10)


@pytest.mark.claim("merger-goldt/gradient-flow-solution")
def test_gradient_flow_solution():
    """[derived] gradient-flow / GD formulas of §1.3 against DOP853 and PyTorch GD."""
    assert _passes("merger-goldt/gradient-flow-solution")


@pytest.mark.claim("merger-goldt/gradient-flow-solution")
def test_gradient_flow_solution_rejects_wrong_rate():
    # A loss with a factor 1/2 would relax at rate eta, not 2 eta.
    assert not _passes("merger-goldt/gradient-flow-solution", rate=1.0)


@pytest.mark.claim("merger-goldt/bayes-optimal-linear")
def test_bayes_optimal_linear():
    assert _passes("merger-goldt/bayes-optimal-linear")


@pytest.mark.claim("merger-goldt/bayes-optimal-linear")
def test_bayes_optimal_linear_rejects_wrong_bayes_error():
    def wrong(lam, s):
        return float(np.mean(lam / (lam + s)))  # drops the alpha_bar factor

    assert not _passes("merger-goldt/bayes-optimal-linear", bayes_formula=wrong, samples=5000)


@pytest.mark.claim("merger-goldt/test-train-error-formulas")
def test_test_train_error_formulas():
    assert _passes("merger-goldt/test-train-error-formulas")


@pytest.mark.claim("merger-goldt/test-train-error-formulas")
def test_test_train_error_formulas_rejects_missing_mean_term():
    assert not _passes("merger-goldt/test-train-error-formulas", mean_term=False, samples=5000)


@pytest.mark.claim("merger-goldt/deterministic-equivalent")
def test_deterministic_equivalent():
    """[derived] deterministic equivalent of §1.5 (stands in for the paper's replica formulas)."""
    assert _passes("merger-goldt/deterministic-equivalent")


@pytest.mark.claim("merger-goldt/deterministic-equivalent")
def test_deterministic_equivalent_rejects_missing_variance_correction():
    def naive(lam, n, s, ridge=0.0):
        # Keeps kappa but drops the df2 fluctuation term of tr(G C G).
        ab = 1 - s
        z = (s + ridge) / ab
        kappa = ld.effective_regularisation(lam, n, z)
        r = 1 / (lam + kappa)
        c = ab * lam + s
        tr_g = kappa / (z * ab) * r.sum()
        tr_gcg = kappa**2 / (z * ab) ** 2 * np.sum(c * r**2)
        return (lam.size - 2 * s * tr_g + s * tr_gcg) / lam.size

    assert not _passes("merger-goldt/deterministic-equivalent", de_fn=naive)


@pytest.mark.claim("merger-goldt/train-test-gap")
def test_train_test_gap():
    assert _passes("merger-goldt/train-test-gap")


@pytest.mark.claim("merger-goldt/train-test-gap")
def test_train_test_gap_rejects_swapped_sizes():
    assert not _passes("merger-goldt/train-test-gap", n_small=1600, n_large=200)


@pytest.mark.claim("merger-goldt/hierarchy-reduces-overfitting")
def test_hierarchy_reduces_overfitting():
    assert _passes("merger-goldt/hierarchy-reduces-overfitting")


@pytest.mark.claim("merger-goldt/hierarchy-reduces-overfitting")
def test_hierarchy_rejects_reversed_ordering():
    assert not _passes("merger-goldt/hierarchy-reduces-overfitting", ks=(2.0, 1.5, 1.0, 0.5, 0.0))


@pytest.mark.claim("merger-goldt/sampler-gaussian-recursion")
def test_sampler_gaussian_recursion():
    """[derived] per-mode recursion of §1.6 against the dense DDPM sampler."""
    assert _passes("merger-goldt/sampler-gaussian-recursion")


@pytest.mark.claim("merger-goldt/sampler-gaussian-recursion")
def test_sampler_gaussian_recursion_rejects_wrong_sign():
    assert not _passes("merger-goldt/sampler-gaussian-recursion", coefficient=_wrong_sign_coefficient, samples=2000)


@pytest.mark.claim("merger-goldt/null-mode-variance")
def test_null_mode_variance():
    assert _passes("merger-goldt/null-mode-variance")


@pytest.mark.claim("merger-goldt/null-mode-variance")
def test_null_mode_variance_rejects_wrong_sign():
    assert not _passes("merger-goldt/null-mode-variance", coefficient=_wrong_sign_coefficient)


@pytest.mark.claim("merger-goldt/population-optimum-kl")
def test_population_optimum_kl():
    assert _passes("merger-goldt/population-optimum-kl")


@pytest.mark.claim("merger-goldt/population-optimum-kl")
def test_population_optimum_kl_rejects_wrong_schedule():
    assert not _passes("merger-goldt/population-optimum-kl", beta_max=0.02)


@pytest.mark.claim("merger-goldt/kl-d-over-4n")
def test_kl_d_over_4n():
    """[reported] d/(4N) law; relies on the [derived] recursion (§1.6) and KL (§1.7)."""
    assert _passes("merger-goldt/kl-d-over-4n")


@pytest.mark.claim("merger-goldt/kl-d-over-4n")
def test_kl_d_over_4n_rejects_falsified_kl():
    assert not _passes("merger-goldt/kl-d-over-4n", falsify_kl=2.0, n_seeds=3, variants=False)


@pytest.mark.claim("merger-goldt/kl-independent-of-sigma")
def test_kl_independent_of_sigma():
    assert _passes("merger-goldt/kl-independent-of-sigma")


@pytest.mark.claim("merger-goldt/kl-independent-of-sigma")
def test_kl_independent_of_sigma_rejects_independent_draws():
    assert not _passes("merger-goldt/kl-independent-of-sigma", common_random_numbers=False)


@pytest.mark.claim("merger-goldt/kl-second-order")
def test_kl_second_order():
    assert _passes("merger-goldt/kl-second-order")


@pytest.mark.claim("merger-goldt/kl-second-order")
def test_kl_second_order_rejects_wrong_factor():
    assert not _passes("merger-goldt/kl-second-order", kl_factor=0.5, draws=200)


@pytest.mark.claim("merger-goldt/transition-at-n-equals-d")
def test_transition_at_n_equals_d():
    assert _passes("merger-goldt/transition-at-n-equals-d")


@pytest.mark.claim("merger-goldt/transition-at-n-equals-d")
def test_transition_rejects_wrong_direction():
    assert not _passes("merger-goldt/transition-at-n-equals-d", ratio_pair=(2.0, 0.5))


@pytest.mark.claim("merger-goldt/optimal-ridge")
def test_optimal_ridge():
    assert _passes("merger-goldt/optimal-ridge")


@pytest.mark.claim("merger-goldt/optimal-ridge")
def test_optimal_ridge_rejects_swapped_sizes():
    assert not _passes("merger-goldt/optimal-ridge", n_small=1000, n_large=50)


@pytest.mark.claim("merger-goldt/early-stopping")
def test_early_stopping():
    assert _passes("merger-goldt/early-stopping")


@pytest.mark.claim("merger-goldt/early-stopping")
def test_early_stopping_rejects_swapped_sizes():
    assert not _passes("merger-goldt/early-stopping", n_small=1000, n_large=50)


@pytest.mark.claim("merger-goldt/linear-vs-nonlinear")
def test_linear_vs_nonlinear():
    """[reported] qualitative similarity; fast tier trains a width-64 MLP for 1500 steps."""
    assert _passes("merger-goldt/linear-vs-nonlinear")


@pytest.mark.claim("merger-goldt/linear-vs-nonlinear")
def test_linear_vs_nonlinear_rejects_untrained_model():
    assert not _passes("merger-goldt/linear-vs-nonlinear", steps=0)


@pytest.mark.slow
@pytest.mark.claim("merger-goldt/linear-vs-nonlinear")
def test_linear_vs_nonlinear_full():
    v = run_check("merger-goldt/linear-vs-nonlinear", Context(full=True))
    assert v.passed, v.error


@pytest.mark.slow
@pytest.mark.claim("merger-goldt/ridge-optimum")
def test_ridge_optimum_full():
    v = run_check("merger-goldt/ridge-optimum", Context(full=True))
    assert v.passed, v.error
