"""torchcfm: its matchers as memgen paths, agreeing with the library's own mu_t / sigma_t and regression
target; coupling-dependent matchers refused (skipped where torchcfm is not installed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import memgen
from numerics.empirical_field import optimal_velocity

torchcfm = pytest.importorskip("torchcfm")

AGREE = 1e-12  # float64 evaluations of the same closed forms: a few roundings each
T = torch.linspace(0.01, 0.99, 60, dtype=torch.float64)

MATCHERS = {
    "cfm(0)": (lambda: torchcfm.ConditionalFlowMatcher(0.0), "ot"),
    "cfm(0.1)": (lambda: torchcfm.ConditionalFlowMatcher(0.1), "alpha=t; sigma=sqrt((1-t)**2 + 1/100)"),
    "target(0.05)": (lambda: torchcfm.TargetConditionalFlowMatcher(0.05), "ot(0.05)"),
    "vp(0)": (lambda: torchcfm.VariancePreservingConditionalFlowMatcher(0.0), "cosine"),
    "vp(0.2)": (
        lambda: torchcfm.VariancePreservingConditionalFlowMatcher(0.2),
        "alpha=sin(pi*t/2); sigma=sqrt(cos(pi*t/2)**2 + 1/25)",
    ),
}


def _library_alpha_sigma(matcher) -> tuple[np.ndarray, np.ndarray]:
    """alpha_t and sigma_t of the law of x_t given x_1, read off torchcfm's own sample_xt."""
    n = T.shape[0]
    zero, one = torch.zeros(n, 1, dtype=torch.float64), torch.ones(n, 1, dtype=torch.float64)
    alpha = matcher.sample_xt(zero, one, T, zero)[:, 0]  # x0 = 0, x1 = 1, eps = 0
    from_x0 = matcher.sample_xt(one, zero, T, zero)[:, 0]  # the x0 coefficient
    from_eps = matcher.sample_xt(zero, zero, T, one)[:, 0]  # the extra noise
    return alpha.numpy(), torch.sqrt(from_x0**2 + from_eps**2).numpy()


@pytest.mark.parametrize("name", sorted(MATCHERS))
def test_matcher_paths_agree_with_torchcfm(name):
    make, closed_form = MATCHERS[name]
    matcher = make()
    path = memgen.path(matcher)
    alpha, sigma = _library_alpha_sigma(matcher)
    t = T.numpy()
    assert np.max(np.abs(path.alpha(t) - alpha)) <= AGREE
    assert np.max(np.abs(path.sigma(t) - sigma)) <= AGREE
    # The path is the stated closed form (the same functions as the SymPy text).
    expected = memgen.path(closed_form)
    for f in ("alpha", "sigma", "d_alpha", "d_sigma"):
        np.testing.assert_allclose(getattr(path, f)(t), getattr(expected, f)(t), rtol=AGREE, atol=AGREE)
    # Negative control: another matcher's sigma_t is told apart.
    other = torchcfm.ConditionalFlowMatcher(0.3)
    assert np.max(np.abs(path.sigma(t) - _library_alpha_sigma(other)[1])) > 1e-3


def test_source_law_of_the_cfm_path():
    # x_t = t x1 + (1 - t) x0 + sigma eps: at t = 0 the law is N(0, (1 + sigma^2) I), at t = 1 N(x1, sigma^2 I).
    path = memgen.path(torchcfm.ConditionalFlowMatcher(0.1))
    assert path.sigma0 == pytest.approx(math.sqrt(1.01), rel=1e-15)
    assert path.sigma1 == pytest.approx(0.1, rel=1e-15)
    assert path.alpha0 == 0.0 and path.alpha1 == 1.0
    assert "N(0, 1.01 I) exactly" in path.symbolic.source_note


def test_target_matcher_target_is_the_conditional_velocity():
    # TargetConditionalFlowMatcher regresses on u_t(x_t | x1) itself: equal pointwise to memgen's.
    matcher = torchcfm.TargetConditionalFlowMatcher(0.05)
    path = memgen.path(matcher)
    gen = torch.Generator().manual_seed(0)
    x1, xt = (
        torch.randn(60, 3, generator=gen, dtype=torch.float64),
        torch.randn(60, 3, generator=gen, dtype=torch.float64),
    )
    theirs = matcher.compute_conditional_flow(None, x1, T, xt)
    torch.testing.assert_close(theirs, path.conditional_velocity(xt, x1, T), rtol=AGREE, atol=AGREE)


def test_a_wrong_target_is_caught():
    # Negative control of the mapping's own check: a target that drops the 1/sigma_t factor.
    matcher = torchcfm.TargetConditionalFlowMatcher(0.05)
    matcher.compute_conditional_flow = lambda x0, x1, t, xt: x1 - 0.95 * xt
    with pytest.raises(memgen.PathError, match=r"E\[target \| x_t, x1\]"):
        memgen.path(matcher)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: torchcfm.ExactOptimalTransportConditionalFlowMatcher(0.1), "minibatch optimal-transport plan"),
        (lambda: torchcfm.SchrodingerBridgeConditionalFlowMatcher(0.5), "entropic optimal-transport plan"),
    ],
)
def test_coupling_dependent_matchers_are_refused(make, reason):
    with pytest.raises(memgen.PathError, match=reason):
        memgen.path(make())


def test_target_sigma_out_of_range_is_refused():
    with pytest.raises(memgen.PathError, match="sigma < 1"):
        memgen.path(torchcfm.TargetConditionalFlowMatcher(1.0))


def test_exact_field_of_a_torchcfm_path_through_torch_wrapper():
    # torchcfm's torch_wrapper feeds models cat([x, t]) and is called as forward(t, x) by torchdyn.
    utils = pytest.importorskip("torchcfm.utils")
    data = np.random.default_rng(0).standard_normal((10, 2))
    x = torch.tensor(np.random.default_rng(1).standard_normal((5, 2)))
    matcher = torchcfm.ConditionalFlowMatcher(0.1)
    wrapped = utils.torch_wrapper(memgen.ExactVelocity(data, matcher))
    got = wrapped(torch.tensor(0.3, dtype=torch.float64), x)
    np.testing.assert_allclose(got.numpy(), optimal_velocity(x.numpy(), 0.3, data, memgen.path(matcher)), atol=1e-13)
