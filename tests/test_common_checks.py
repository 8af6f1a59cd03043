"""Positive runs and negative controls of the ``common/`` claims."""

from __future__ import annotations

import numpy as np
import pytest

from proofs_checks.registry import run_check
from theory.gaussians import gaussian_kl, gaussian_w2_squared


def _w2_wrong(m0, c0, m1, c1):
    # forgets the cross term's factor 2: a plausible transcription error
    return gaussian_w2_squared(m0, c0, m1, c1) + 1e-6 * (1 + np.trace(np.atleast_2d(c0)))


def _w2_no_mean(m0, c0, m1, c1):
    return gaussian_w2_squared(np.zeros_like(np.atleast_1d(m0)), c0, np.zeros_like(np.atleast_1d(m1)), c1)


def _kl_swapped(m0, c0, m1, c1):
    return gaussian_kl(m1, c1, m0, c0)


def _kl_biased(m0, c0, m1, c1):
    return gaussian_kl(m0, c0, m1, c1) * (1 + 1e-7)


def _kl_plain_float64(m0, c0, m1, c1):
    # explicit inverse and determinants: what the closed form must not do
    c1i = np.linalg.inv(c1)
    dm = np.asarray(m1) - np.asarray(m0)
    return 0.5 * (np.trace(c1i @ c0) - len(dm) + dm @ c1i @ dm + np.log(np.linalg.det(c1) / np.linalg.det(c0)))


CASES = [
    ("common/gaussian-w2-closed-form", "w2", _w2_wrong),
    ("common/gaussian-w2-empirical-1d", "w2", _w2_no_mean),
    ("common/gaussian-kl-closed-form", "kl", _kl_swapped),
    ("common/gaussian-kl-monte-carlo", "kl", _kl_swapped),
    ("common/gaussian-kl-zero-iff-equal", "kl", lambda *a: abs(gaussian_kl(*a)) + 1e-6),
    ("common/gaussian-kl-high-precision", "kl", _kl_biased),
]


@pytest.mark.parametrize("claim_id", [c[0] for c in CASES])
def test_common_claim_passes(claim_id, ctx):
    v = run_check(claim_id, ctx)
    assert v.error is None, v.error
    assert v.passed, [c for c in v.comparisons if not c.passed]


@pytest.mark.parametrize(("claim_id", "arg", "wrong"), CASES)
def test_common_claim_negative_control(claim_id, arg, wrong, ctx):
    v = run_check(claim_id, ctx, **{arg: wrong})
    assert v.error is None, v.error
    assert not v.passed


@pytest.mark.claim("common/gaussian-kl-high-precision")
def test_plain_float64_kl_is_not_accurate_enough(ctx):
    # the reason for the refined Cholesky evaluation: explicit inverses lose ~cond*eps
    v = run_check("common/gaussian-kl-high-precision", ctx, kl=_kl_plain_float64)
    assert v.comparisons[1].measured > 1e-12


@pytest.mark.claim("common/gaussian-w2-closed-form")
def test_w2_negative_control_no_mean_fails_closed_form(ctx):
    assert not run_check("common/gaussian-w2-closed-form", ctx, w2=_w2_no_mean).passed
