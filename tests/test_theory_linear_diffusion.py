"""Symbolic derivations of :mod:`theory.linear_diffusion` (all residuals simplify to zero)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from theory import linear_diffusion as sym


@pytest.mark.claim("merger-goldt/loss-depends-on-moments")
def test_loss_moment_residual_is_zero():
    assert sym.loss_moment_residual() == 0


@pytest.mark.claim("merger-goldt/ridge-optimum")
def test_ridge_gradient_vanishes_at_optimum():
    assert sym.ridge_gradient_residual() == sp.zeros(2, 2)


@pytest.mark.claim("merger-goldt/gradient-flow-solution")
def test_gradient_flow_residuals():
    assert sym.gradient_flow_residuals() == (0, 0, 0)


@pytest.mark.claim("merger-goldt/bayes-optimal-linear")
def test_bayes_conditioning():
    assert sym.bayes_conditioning_residual() == sp.zeros(3, 2)


@pytest.mark.claim("merger-goldt/null-mode-variance")
def test_null_mode_identity():
    assert sym.null_mode_residual() == 0


@pytest.mark.claim("merger-goldt/population-optimum-kl")
def test_unit_mode_identity():
    assert sym.unit_mode_residual() == 0


@pytest.mark.claim("merger-goldt/kl-second-order")
def test_second_order_terms_and_trace_moment():
    r = sp.Symbol("r", positive=True)
    assert sp.simplify(sym.kl_second_order_expr() - (r - 1) ** 2 / 4) == 0
    assert sp.simplify(sym.kl_reverse_second_order_expr() - (r - 1) ** 2 / 4) == 0
    n, d = sp.symbols("N d", positive=True, integer=True)
    assert sp.simplify(sym.trace_moment_expr() - d * (d + 1) / n) == 0


@pytest.mark.claim("merger-goldt/ridge-optimum")
def test_lambdified_weights_match_closed_forms():
    lam = np.array([0.0, 0.3, 2.0])
    s, ridge = 0.2, 0.05
    w = sym.optimal_mode_weight()(lam, s, ridge)
    np.testing.assert_allclose(w, np.sqrt(s) / ((1 - s) * lam + s + ridge), rtol=1e-15)
    c = (1 - s) * lam + s + ridge
    np.testing.assert_allclose(
        sym.gradient_flow_mode_weight()(lam, s, ridge, 3.0), w * (1 - np.exp(-6 * c)), rtol=1e-14
    )
    np.testing.assert_allclose(
        sym.gradient_descent_mode_weight()(lam, s, ridge, 0.1, 7), w * (1 - (1 - 0.2 * c) ** 7), rtol=1e-14
    )
    a = sym.sampler_coefficient()(w, s, 0.01)
    np.testing.assert_allclose(a, (1 - 0.01 / np.sqrt(s) * w) / np.sqrt(0.99), rtol=1e-15)
    np.testing.assert_allclose(sym.kl_mode()(np.array([1.0, 2.0])), [0.0, 0.5 * (1 - np.log(2))], atol=1e-16)
