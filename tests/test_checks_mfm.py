"""Tests of the MFM checks that need no training: each claim passes, and fails on a wrong input."""

from __future__ import annotations

import numpy as np
import pytest

from numerics.couplings import gale_shapley, independent_coupling
from proofs_checks.registry import Context, run_check


def _passes(claim_id: str, ctx: Context, **overrides) -> bool:
    v = run_check(claim_id, ctx, **overrides)
    assert v.error is None, v.error
    return v.passed


@pytest.mark.claim("mfm/condot-conditional-field")
def test_condot_conditional_field(ctx):
    assert _passes("mfm/condot-conditional-field", ctx)


@pytest.mark.claim("mfm/condot-conditional-field")
def test_condot_conditional_field_negative(ctx):
    # the field without the sigma_min correction in the denominator is not constant along the path
    def wrong(x, x1, t, s):
        return (x1 - (1 - s) * x) / (1 - t)

    assert not _passes("mfm/condot-conditional-field", ctx, field=wrong)


@pytest.mark.claim("mfm/lemma-3.1-gradient-equivalence")
def test_lemma_31(ctx):
    assert _passes("mfm/lemma-3.1-gradient-equivalence", ctx)


@pytest.mark.claim("mfm/lemma-3.1-gradient-equivalence")
def test_lemma_31_negative(ctx):
    # FM field of another coupling: not the regression function of the sampled pairs
    assert not _passes("mfm/lemma-3.1-gradient-equivalence", ctx, field_family=(0.9, 0.0), n_pairs=50_000)


@pytest.mark.claim("mfm/marginal-field-pushforward")
def test_marginal_pushforward(ctx):
    assert _passes("mfm/marginal-field-pushforward", ctx)


@pytest.mark.claim("mfm/marginal-field-pushforward")
def test_marginal_pushforward_negative(ctx):
    assert not _passes("mfm/marginal-field-pushforward", ctx, field_scale=1.01)


@pytest.mark.claim("mfm/lemma-3.2-loss-decomposition")
def test_lemma_32_loss(ctx):
    assert _passes("mfm/lemma-3.2-loss-decomposition", ctx)


@pytest.mark.claim("mfm/lemma-3.2-loss-decomposition")
def test_lemma_32_loss_negative(ctx):
    # unconditioned spread tr Cov(D) instead of the conditional spread
    def wrong(fam, t):
        return float(np.trace(fam.blocks(t)[2]))

    assert not _passes("mfm/lemma-3.2-loss-decomposition", ctx, spread=wrong, n_pairs=20_000)


@pytest.mark.claim("mfm/lemma-3.2-gradient-covariance")
def test_lemma_32_covariance(ctx):
    assert _passes("mfm/lemma-3.2-gradient-covariance", ctx)


@pytest.mark.claim("mfm/lemma-3.2-gradient-covariance")
def test_lemma_32_covariance_negative(ctx):
    assert not _passes("mfm/lemma-3.2-gradient-covariance", ctx, cov_formula=lambda J, C: 2 * J.T @ C @ J)


@pytest.mark.claim("mfm/lemma-4.1-marginals")
def test_lemma_41(ctx):
    assert _passes("mfm/lemma-4.1-marginals", ctx)


@pytest.mark.claim("mfm/lemma-4.1-marginals")
def test_lemma_41_negative(ctx):
    # nearest-neighbour pairing (with replacement) distorts the x1 marginal
    assert not _passes("mfm/lemma-4.1-marginals", ctx, couplings=("nearest",), n_batches=1000)


@pytest.mark.claim("mfm/batchot-permutation-optimal")
def test_batchot_permutation_optimal(ctx):
    assert _passes("mfm/batchot-permutation-optimal", ctx)


@pytest.mark.claim("mfm/batchot-permutation-optimal")
def test_batchot_permutation_optimal_negative(ctx):
    def stable(a, b):
        from numerics.couplings import squared_distances

        return gale_shapley(squared_distances(a, b))[0]

    assert not _passes("mfm/batchot-permutation-optimal", ctx, solver=stable)


@pytest.mark.claim("mfm/batchot-1d-sorting")
def test_batchot_1d_sorting(ctx):
    assert _passes("mfm/batchot-1d-sorting", ctx)


@pytest.mark.claim("mfm/batchot-1d-sorting")
def test_batchot_1d_sorting_negative(ctx):
    assert not _passes("mfm/batchot-1d-sorting", ctx, coupling=independent_coupling)


@pytest.mark.claim("mfm/coupling-cost-ordering")
def test_coupling_cost_ordering(ctx):
    assert _passes("mfm/coupling-cost-ordering", ctx)


@pytest.mark.claim("mfm/coupling-cost-ordering")
def test_coupling_cost_ordering_negative(ctx):
    assert not _passes("mfm/coupling-cost-ordering", ctx, ot_coupling="stable", n_batches=50)


@pytest.mark.claim("mfm/batcheot-limits")
def test_batcheot_limits(ctx):
    assert _passes("mfm/batcheot-limits", ctx)


@pytest.mark.claim("mfm/batcheot-limits")
def test_batcheot_limits_negative(ctx):
    # a plan that ignores eps (always uniform) misses the eps -> 0 limit
    assert not _passes("mfm/batcheot-limits", ctx, plan_fn=lambda a, b, e: np.full((len(a), len(a)), 1.0 / len(a)))


@pytest.mark.claim("mfm/stable-matching-properties")
def test_stable_matching(ctx):
    assert _passes("mfm/stable-matching-properties", ctx)


@pytest.mark.claim("mfm/stable-matching-properties")
def test_stable_matching_negative(ctx):
    from scipy.optimize import linear_sum_assignment

    def ot_matching(c):
        r, col = linear_sum_assignment(c)
        return col[np.argsort(r)], 0

    assert not _passes("mfm/stable-matching-properties", ctx, matcher=ot_matching)


@pytest.mark.claim("mfm/theorem-d.8-monotone-cost")
def test_theorem_d8(ctx):
    assert _passes("mfm/theorem-d.8-monotone-cost", ctx)


@pytest.mark.claim("mfm/theorem-d.8-monotone-cost")
def test_theorem_d8_negative(ctx):
    assert not _passes("mfm/theorem-d.8-monotone-cost", ctx, matcher="anti")


@pytest.mark.claim("mfm/theorem-4.2-cost-limit")
def test_theorem_42_cost(ctx):
    assert _passes("mfm/theorem-4.2-cost-limit", ctx)


@pytest.mark.claim("mfm/theorem-4.2-cost-limit")
def test_theorem_42_cost_negative(ctx):
    assert not _passes("mfm/theorem-4.2-cost-limit", ctx, matcher="identity")


@pytest.mark.claim("mfm/straightness-identity")
def test_straightness_identity(ctx):
    assert _passes("mfm/straightness-identity", ctx)


@pytest.mark.claim("mfm/straightness-identity")
def test_straightness_identity_negative(ctx):
    # 4 steps cannot resolve the time integrals: Eq. 18 and Eq. 19 forms then disagree
    assert not _passes("mfm/straightness-identity", ctx, steps=4, n_starts=200)


@pytest.mark.claim("mfm/sandwich")
def test_sandwich(ctx):
    assert _passes("mfm/sandwich", ctx)


@pytest.mark.claim("mfm/sandwich")
def test_sandwich_negative(ctx):
    # the independent-coupling cost in place of W2^2 is above the transport cost
    assert not _passes("mfm/sandwich", ctx, w2_fn=lambda fam: float(fam.mu @ fam.mu + fam.d + np.trace(fam.sigma)))


@pytest.mark.claim("mfm/gaussian-condot-is-ot")
def test_gaussian_condot_is_ot(ctx):
    assert _passes("mfm/gaussian-condot-is-ot", ctx)


@pytest.mark.claim("mfm/gaussian-condot-is-ot")
def test_gaussian_condot_is_ot_negative(ctx):
    # with a rotation in the coupling the flow map is no longer the symmetric Brenier map
    assert not _passes("mfm/gaussian-condot-is-ot", ctx, phi=np.pi / 4)


@pytest.mark.claim("mfm/condot-gaussian-reference-values")
def test_gaussian_reference_values(ctx):
    assert _passes("mfm/condot-gaussian-reference-values", ctx)


@pytest.mark.claim("mfm/condot-gaussian-reference-values")
def test_gaussian_reference_values_negative(ctx):
    # the field of a correlated coupling integrated against the independent-coupling values
    assert not _passes("mfm/condot-gaussian-reference-values", ctx, field_rho=0.5, n=5000)


def test_checks_report_tier_sizes():
    v = run_check("mfm/theorem-4.2-cost-limit", Context())
    assert "fast tier" in v.details["tier"]
