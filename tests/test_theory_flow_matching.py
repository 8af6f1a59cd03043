"""SymPy derivations of theory.flow_matching: every residual simplifies to zero, wrong forms do not."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from theory import flow_matching as th


@pytest.mark.claim("gao-li/cond-ot-field")
def test_conditional_field_residuals_vanish() -> None:
    r = th.conditional_field()
    assert r["res_velocity"] == 0 and r["res_closed_form"] == 0 and r["res_on_path"] == 0
    assert sp.simplify(r["field"] - (th.x1 - th.x) / th.sigma_expr()) != 0


@pytest.mark.claim("gao-li/jacobian")
def test_jacobian_identity() -> None:
    r = th.jacobian_identity()
    assert r["residual"] == sp.zeros(2, 2) and r["asymmetry"] == sp.zeros(2, 2)


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
