"""Positive and negative controls of the exact-flow `gao-li/` checks (one pair per claim id)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from numerics.flow_matching import optimal_velocity, sigma_t
from proofs_checks.registry import Context, run_check
from theory import flow_matching as th


def _passes(claim_id: str, **overrides: object) -> bool:
    v = run_check(claim_id, Context(), **overrides)
    assert v.error is None, v.error
    return v.passed


def _uniform_weight_field(x: np.ndarray, t: object, data: np.ndarray, sigma_min: float) -> np.ndarray:
    # Wrong field: prior weights 1/N instead of the posterior.
    tt = np.broadcast_to(np.asarray(t, dtype=float), (x.shape[0],))
    return (data.mean(axis=0) - (1 - sigma_min) * x) / sigma_t(tt, sigma_min)[:, None]


def _field_without_t(x: np.ndarray, t: object, data: np.ndarray, sigma_min: float) -> np.ndarray:
    # Wrong field: logits -|x - x_i|^2 / (2 sigma^2) (the path mean t x_i replaced by x_i).
    tt = np.broadcast_to(np.asarray(t, dtype=float), (x.shape[0],))
    sig = sigma_t(tt, sigma_min)
    lg = -((x[:, None, :] - data[None]) ** 2).sum(-1) / (2 * sig[:, None] ** 2)
    w = np.exp(lg - lg.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    return (w @ data - (1 - sigma_min) * x) / sig[:, None]


@pytest.mark.claim("gao-li/cond-ot-field")
def test_cond_ot_field() -> None:
    assert _passes("gao-li/cond-ot-field")
    wrong = (th.x1 - th.x) / th.sigma_expr()
    assert not _passes("gao-li/cond-ot-field", closed_form=wrong)


@pytest.mark.claim("gao-li/cfm-minimizer-conditional-expectation")
def test_cfm_minimizer() -> None:
    assert _passes("gao-li/cfm-minimizer-conditional-expectation")


@pytest.mark.claim("gao-li/cfm-minimizer-conditional-expectation")
def test_cfm_minimizer_negative() -> None:
    assert not _passes("gao-li/cfm-minimizer-conditional-expectation", field=_uniform_weight_field, n_draws=100_000)


@pytest.mark.claim("gao-li/optimal-velocity")
def test_optimal_velocity() -> None:
    assert _passes("gao-li/optimal-velocity")
    assert not _passes("gao-li/optimal-velocity", field=_field_without_t, n_points=20)


@pytest.mark.claim("gao-li/optimal-velocity-gaussian-path")
def test_optimal_velocity_gaussian_path() -> None:
    assert _passes("gao-li/optimal-velocity-gaussian-path")
    assert not _passes("gao-li/optimal-velocity-gaussian-path", include_log_term=False)


@pytest.mark.claim("gao-li/continuity-equation")
def test_continuity_equation() -> None:
    assert _passes("gao-li/continuity-equation")

    def scaled(x: np.ndarray, t: object, data: np.ndarray, s: float) -> np.ndarray:
        return 1.05 * optimal_velocity(x, t, data, s)

    assert not _passes("gao-li/continuity-equation", field=scaled, n_fd=10)


@pytest.mark.claim("gao-li/marginal-path-pushforward")
def test_marginal_path_pushforward() -> None:
    assert _passes("gao-li/marginal-path-pushforward")
    assert not _passes("gao-li/marginal-path-pushforward", prior_scale=1.3, n_starts=1000)


@pytest.mark.claim("gao-li/memorization")
def test_memorization() -> None:
    assert _passes("gao-li/memorization")
    assert not _passes("gao-li/memorization", flow_sigma_min=0.01, n_starts=5)


@pytest.mark.claim("gao-li/terminal-law")
def test_terminal_law() -> None:
    assert _passes("gao-li/terminal-law")


@pytest.mark.claim("gao-li/terminal-law")
def test_terminal_law_negative() -> None:
    assert not _passes("gao-li/terminal-law", prior_shift=0.5, flow_sigma_min=0.05, n_starts=1000)


@pytest.mark.claim("gao-li/weights-blind-off-subspace")
def test_weights_blind_off_subspace() -> None:
    assert _passes("gao-li/weights-blind-off-subspace")
    assert not _passes("gao-li/weights-blind-off-subspace", project=False, n_points=100)


@pytest.mark.claim("gao-li/velocity-orthogonal-split")
def test_velocity_orthogonal_split() -> None:
    assert _passes("gao-li/velocity-orthogonal-split")
    assert not _passes("gao-li/velocity-orthogonal-split", perp_coefficient=1.0, n_points=50)


@pytest.mark.claim("gao-li/off-subspace-decay")
def test_off_subspace_decay() -> None:
    assert _passes("gao-li/off-subspace-decay")
    assert not _passes("gao-li/off-subspace-decay", law_sigma_min=0.02, n_starts=4)


@pytest.mark.claim("gao-li/jacobian")
def test_jacobian() -> None:
    assert _passes("gao-li/jacobian")

    def without_t(w: np.ndarray, y: np.ndarray, t: float, s: float) -> np.ndarray:
        mean = w @ y
        cov = (y - mean).T @ (w[:, None] * (y - mean))
        sig = float(sigma_t(t, s))
        return (cov / sig**2 - (1 - s) * np.eye(y.shape[1])) / sig

    assert not _passes("gao-li/jacobian", formula=without_t, n_points=20)


@pytest.mark.claim("gao-li/direction-near-one")
def test_direction_near_one() -> None:
    assert _passes("gao-li/direction-near-one")
    assert not _passes("gao-li/direction-near-one", t=0.5)


@pytest.mark.claim("gao-li/softmax-concentration")
def test_softmax_concentration() -> None:
    assert _passes("gao-li/softmax-concentration")


@pytest.mark.claim("gao-li/softmax-concentration")
def test_softmax_concentration_negative() -> None:
    from proofs_checks.gao_li import concentration_bound

    def too_small(a: np.ndarray, eps: float, n: int) -> np.ndarray:
        return concentration_bound(a, eps, n) / 10.0

    assert not _passes("gao-li/softmax-concentration", bound=too_small, n_draws=2000)


@pytest.mark.claim("gao-li/pair-resolution-time")
def test_pair_resolution_time() -> None:
    assert _passes("gao-li/pair-resolution-time")
    assert not _passes("gao-li/pair-resolution-time", a_star=2.5, n_draws=2001)


@pytest.mark.claim("gao-li/hierarchical-refinement")
def test_hierarchical_refinement() -> None:
    assert _passes("gao-li/hierarchical-refinement")
    assert not _passes("gao-li/hierarchical-refinement", clustered="sparse-sphere", n_starts=40)


@pytest.mark.claim("gao-li/dimension-independence")
def test_dimension_independence() -> None:
    assert _passes("gao-li/dimension-independence")
    assert not _passes("gao-li/dimension-independence", coord_perturbation=1e-6, n_starts=2)


def test_symbolic_zero_helper_rejects_nonzero() -> None:
    from proofs_checks.gao_li import _is_zero

    assert _is_zero([sp.Integer(0), sp.Matrix([[0]])])
    assert not _is_zero(th.t - th.t**2)
