"""TabulatedPath: a path known by values, joined by cubic Hermite, checked like a SymPy path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.empirical_field import optimal_velocity
from numerics.paths import as_path
from numerics.tabulated_path import TabulatedPath
from theory.paths import PathError


def _cosine(t, d_alpha_factor=1.0, alpha0=0.0, sigma_end=0.0):
    h = np.pi / 2
    alpha = alpha0 + (1 - alpha0) * np.sin(h * t)
    return (
        alpha,
        np.cos(h * t) + sigma_end * t,
        d_alpha_factor * (1 - alpha0) * h * np.cos(h * t),
        -h * np.sin(h * t) + sigma_end,
    )


def test_tabulated_cosine_is_the_cosine_path():
    tab, exact = TabulatedPath(_cosine, "cosine-table"), as_path("cosine")
    t = np.random.default_rng(0).uniform(0, 1, 500)
    # Cubic Hermite with spacing h = 2^-12: value error h^4 max|f''''| / 384 ~ 1e-16 (f'''' <= (pi/2)^4),
    # derivative error h^3 max|f''''| / 24 ~ 1e-11.
    for f, tol in (("alpha", 1e-14), ("sigma", 1e-14), ("d_alpha", 1e-10), ("d_sigma", 1e-10)):
        assert np.max(np.abs(getattr(tab, f)(t) - getattr(exact, f)(t))) < tol
    assert tab.max_error < 1e-10
    # numpy and torch evaluations agree.
    tt = torch.tensor(t)
    np.testing.assert_allclose(tab.d_sigma(tt).numpy(), tab.d_sigma(t), rtol=0, atol=1e-15)
    data, x = np.random.default_rng(1).standard_normal((15, 2)), np.random.default_rng(2).standard_normal((6, 2))
    np.testing.assert_allclose(
        optimal_velocity(x, 0.7, data, tab), optimal_velocity(x, 0.7, data, exact), rtol=0, atol=1e-9
    )
    assert tab.sigma0 == 1.0 and tab.sigma1 == pytest.approx(0.0, abs=1e-16) and tab.alpha1 == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"d_alpha_factor": 1.001}, "not the derivative of alpha_t"),
        ({"alpha0": 0.01}, "alpha_0 = 0.01"),
        ({"sigma_end": 3.0}, "sigma_t must decrease"),
    ],
)
def test_invalid_tables_are_refused(kwargs, message):
    with pytest.raises(PathError, match=message):
        TabulatedPath(lambda t: _cosine(t, **kwargs), "bad")


def test_alpha0_accepted_on_request_and_non_finite_refused():
    assert TabulatedPath(lambda t: _cosine(t, alpha0=0.01), "vp-like", accept_alpha0=True).alpha0 == 0.01

    def singular(t):
        a, s, da, ds = _cosine(t)
        with np.errstate(divide="ignore"):
            return a, s, da, ds / (1 - t)

    with pytest.raises(PathError, match="finite"):
        TabulatedPath(singular, "singular")
