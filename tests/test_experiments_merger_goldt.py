"""Measurements of :mod:`numerics.experiments.merger_goldt`: the vectorised pieces against the engines they fold."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics import linear_diffusion as ld
from numerics.cache import param_record
from numerics.experiments import RunSpec
from numerics.experiments import merger_goldt as exp
from numerics.experiments.merger_goldt import error_formulas, kl_law, nonlinear, sampler, second_order
from numerics.experiments.merger_goldt._shared import VARIANTS
from proofs_checks.registry import run_check


@pytest.mark.claim("merger-goldt/sampler-gaussian-recursion")
def test_dense_sampler_equals_the_engine_sampler_for_every_variant():
    rng = np.random.default_rng(5)
    sch = ld.beta_schedule(40)
    moments = [ld.empirical_moments(rng.standard_normal((n, 3)) + 1.0) for n in (2, 6)]
    mu = np.array([m for m, _ in moments])
    cov = np.array([c for _, c in moments])
    # The engine draws u_T, then one noise per step with sigma_t > 0 (all but possibly the last):
    # the same stream as the batched sampler's, which draws one per step.
    draws = np.random.default_rng(9)
    samples = sampler.dense_linear_sampler(
        mu, cov, sch, VARIANTS, 7, lambda b, d: torch.as_tensor(draws.standard_normal((b, d))), lambda s: s
    )[0]
    for j, (m, c) in enumerate(moments):
        for v, (sig, fn, start) in enumerate(VARIANTS):
            shift = np.sqrt(sch.abar[-1]) * m if start == "shifted" else None
            ref = ld.ddpm_sample(ld.linear_eps_fn(m, c, sch), sch, 7, 3, 9, sig, fn, u_T_start=shift)
            np.testing.assert_allclose(samples[j, v], ref, atol=1e-12, err_msg=f"set {j}, variant {(sig, fn, start)}")


@pytest.mark.claim("merger-goldt/sampler-gaussian-recursion")
def test_pooled_moments_equal_moments_of_the_whole_sample():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 3)) @ rng.standard_normal((3, 3))
    parts = []
    for lo, hi in ((0, 20), (20, 21), (21, 50)):
        m = x[lo:hi].mean(0)
        parts.append((m, (x[lo:hi] - m).T @ (x[lo:hi] - m), hi - lo))
    mean, cov = sampler._pooled_moments(parts)
    np.testing.assert_allclose(mean, x.mean(0), atol=1e-14)
    np.testing.assert_allclose(cov, np.cov(x, rowvar=False), atol=1e-13)


@pytest.mark.claim("merger-goldt/kl-d-over-4n")
@pytest.mark.parametrize("mean", ["estimated", "known"])
def test_empirical_modes_equal_the_moments_of_the_scaled_data(mean):
    d, n, ks, seeds = 6, 4, (0.0, 1.5), [3, [4, 1]]
    modes = exp.empirical_modes_task(d, n, ks, seeds, mean=mean)
    for s, seed in enumerate(seeds):
        for a, k in enumerate(ks):
            x = ld.white_samples(n, d, seed) * np.sqrt(ld.power_law_spectrum(d, k))
            mu_hat, cov_hat = ld.empirical_moments(x, mean=mean)
            lam_hat, _ = ld.eigen_modes(cov_hat)
            np.testing.assert_allclose(modes.mu_hat[s, a], mu_hat, atol=1e-13)
            np.testing.assert_allclose(modes.lam_hat[s, a], lam_hat, rtol=1e-10, atol=1e-13)
    assert np.all(modes.null_modes == d - n + (mean == "estimated"))


@pytest.mark.claim("merger-goldt/population-optimum-kl")
def test_batched_population_kl_equals_the_engine():
    lam = np.stack([ld.power_law_spectrum(8, k) for k in (0.0, 1.0, 2.0)])
    setting = exp.SamplerSetting(sampler_sigma="beta_tilde", T=200)
    got = exp.population_kl(lam, setting)
    sch = ld.beta_schedule(200)
    for i, direction in enumerate(ld.KL_DIRECTIONS):
        ref = [ld.population_optimum_kl(row, sch, "beta_tilde", True, direction) for row in lam]
        np.testing.assert_allclose(got[i], ref, rtol=1e-12)


@pytest.mark.claim("merger-goldt/early-stopping")
def test_generated_law_vectorised_over_seeds_spectra_and_times():
    modes = exp.empirical_modes_task(5, 4, (0.0, 1.0), [0, 1])
    taus = np.array([0.5, 50.0])
    law = exp.generated_law(modes, exp.SamplerSetting(T=100), train_time=taus)
    sch = ld.beta_schedule(100)
    assert law.f.shape == (2, 2, 2, 5)
    for i, tau in enumerate(taus):
        ref = ld.mode_recursion(modes.lam_hat[1, 0], sch, train_time=tau)
        np.testing.assert_allclose(law.f[i, 1, 0], ref.f, rtol=1e-13)


@pytest.mark.claim("merger-goldt/linear-vs-nonlinear")
def test_mlp_config_key_holds_the_schedule():
    a = nonlinear.MLPDenoiserConfig(n=10)
    b = nonlinear.MLPDenoiserConfig(n=10, beta_max=0.02)
    assert param_record(a) != param_record(b)
    assert param_record(a)["beta_max"] == 1e-2


@pytest.mark.claim("merger-goldt/sampler-gaussian-recursion")
def test_fast_tiers_declare_what_they_reduce():
    assert sampler.SAMPLER_RECURSION.reduced_fields == ["samples"]
    assert second_order.KL_SECOND_ORDER.reduced_fields == ["sampling"]
    assert set(nonlinear.LINEAR_VS_NONLINEAR.reduced_fields) == {"width", "steps", "samples"}
    assert kl_law.KL_LAW.reduced_fields == [] and error_formulas.ERROR_FORMULAS.reduced_fields == []


SPEC_REDUCED = [
    "merger-goldt/ridge-optimum",
    "merger-goldt/sampler-gaussian-recursion",
    "merger-goldt/kl-second-order",
    "merger-goldt/linear-vs-nonlinear",
]


@pytest.mark.slow
@pytest.mark.parametrize("claim_id", SPEC_REDUCED)
def test_claims_reduced_in_the_fast_tier_pass_at_spec_size(claim_id):
    v = run_check(claim_id, RunSpec(tier="spec"))
    assert v.error is None, v.error
    assert v.status == "verified", [(c.name, c.measured, c.tolerance) for c in v.failing()]
