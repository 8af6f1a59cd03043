"""Properties of the Gaussian closed forms (hypothesis) and their input validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numerics.gaussians import random_spd
from theory.gaussians import gaussian_kl, gaussian_w2_squared, kl_1d_expr, w2_squared_1d_expr

seeds = st.integers(0, 2**32 - 1)
dims = st.integers(1, 6)


def _pair(seed: int, d: int):
    rng = np.random.default_rng(seed)
    return rng.normal(size=d), random_spd(d, rng, 50.0), rng.normal(size=d), random_spd(d, rng, 50.0), rng


@settings(max_examples=40, deadline=None)
@given(seeds, dims)
def test_w2_symmetric_and_zero_iff_equal(seed, d):
    m0, c0, m1, c1, _ = _pair(seed, d)
    a, b = gaussian_w2_squared(m0, c0, m1, c1), gaussian_w2_squared(m1, c1, m0, c0)
    assert a == pytest.approx(b, rel=1e-9, abs=1e-12)
    assert gaussian_w2_squared(m0, c0, m0, c0) == pytest.approx(0.0, abs=1e-9 * np.trace(c0))
    assert a > 0


@settings(max_examples=40, deadline=None)
@given(seeds, dims)
def test_kl_invariant_under_common_affine_map(seed, d):
    m0, c0, m1, c1, rng = _pair(seed, d)
    a = rng.normal(size=(d, d)) + 3 * np.eye(d)  # invertible with high probability
    b = rng.normal(size=d)
    base = gaussian_kl(m0, c0, m1, c1)
    moved = gaussian_kl(a @ m0 + b, a @ c0 @ a.T, a @ m1 + b, a @ c1 @ a.T)
    assert moved == pytest.approx(base, rel=1e-7)


@settings(max_examples=40, deadline=None)
@given(seeds, dims)
def test_w2_translation_adds_squared_shift(seed, d):
    m0, c0, m1, c1, rng = _pair(seed, d)
    s = rng.normal(size=d)
    assert gaussian_w2_squared(m0 + s, c0, m0, c0) == pytest.approx(s @ s, rel=1e-8, abs=1e-9)


def test_symbolic_forms():
    import sympy as sp

    e, (m0, a, m1, b) = w2_squared_1d_expr()
    assert sp.simplify(e - ((m0 - m1) ** 2 + (sp.sqrt(a) - sp.sqrt(b)) ** 2)) == 0
    k, (m0, a, m1, b) = kl_1d_expr()
    assert sp.simplify(k - (a / b + (m1 - m0) ** 2 / b - 1 + sp.log(b / a)) / 2) == 0


@pytest.mark.parametrize("fn", [gaussian_kl, gaussian_w2_squared])
def test_bad_input(fn):
    good = np.eye(2)
    with pytest.raises(ValueError, match="NaN"):
        fn([0, np.nan], good, [0, 0], good)
    with pytest.raises(ValueError, match="shape"):
        fn([0, 0], np.eye(3), [0, 0], good)
    with pytest.raises(ValueError, match="symmetric"):
        fn([0, 0], [[1, 0.5], [0, 1]], [0, 0], good)
    with pytest.raises(ValueError, match="positive"):
        fn([0, 0], [[1, 2], [2, 1]], [0, 0], good)
    with pytest.raises(ValueError, match="same length"):
        fn([0, 0], good, [0, 0, 0], good)
