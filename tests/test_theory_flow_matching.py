"""SymPy derivations of theory.flow_matching: every residual simplifies to zero, wrong forms do not."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from theory import flow_matching as th


@pytest.mark.claim("gao-li/cond-ot-field")
def test_conditional_field_residuals_vanish() -> None:
    r = th.conditional_field()
    assert r["res_velocity"] == 0 and r["res_closed_form"] == 0 and r["res_on_path"] == 0
    assert sp.simplify(r["field"] - (th.x1 - th.x) / th.sigma_expr()) != 0


@pytest.mark.claim("gao-li/continuity-equation")
def test_continuity_residual_vanishes_and_mpmath_form_is_tiny() -> None:
    r = th.continuity_residual_1d()
    assert r["residual"] == 0
    res, dtp, div = th.continuity_residual_mpmath()
    with mpmath.workdps(40):
        a, b, s = mpmath.mpf("0.7"), mpmath.mpf("0.6"), mpmath.mpf("0.01")
        assert abs(res(a, b, s)) <= mpmath.mpf("1e-35") * (abs(dtp(a, b, s)) + abs(div(a, b, s)))


@pytest.mark.claim("gao-li/velocity-orthogonal-split")
def test_orthogonal_split_and_decay() -> None:
    r = th.orthogonal_split()
    assert all(e == 0 for e in r["dw_dx3"])
    assert r["res_perp"] == 0 and all(e == 0 for e in r["res_par"]) and r["res_decay"] == 0
    assert th.affine_decay()["residual"] == 0


@pytest.mark.claim("gao-li/jacobian")
def test_jacobian_identity() -> None:
    r = th.jacobian_identity()
    assert r["residual"] == sp.zeros(2, 2) and r["asymmetry"] == sp.zeros(2, 2)


def test_tau_time_change() -> None:
    r = th.tau_time_change()
    assert r["res_inverse"] == 0 and r["res_rhs"] == 0
    assert sp.simplify(r["sigma_of_tau"] - sp.exp(-r["tau"])) == 0


@pytest.mark.claim("gao-li/pair-resolution-time")
def test_pair_resolution_closed_form() -> None:
    r = th.pair_resolution()
    assert r["res_t_star"] == 0
    assert float(r["a_star"]) == pytest.approx(np.sqrt(2 * np.log(99)), rel=1e-15)
    f = th.pair_resolution_time_fn()
    assert f(1.0, 0.0) == pytest.approx(3.0315 / 4.0315, abs=1e-4)


@pytest.mark.claim("gao-li/softmax-concentration")
def test_weight_log_ratio() -> None:
    assert th.weight_log_ratio()["residual"] == 0
