"""Meters of any velocity model (numerics/meters.py) and the bundled digits (numerics/digits.py): small, exact cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.digits import CONSTANT_PIXELS, N_TEST, digits
from numerics.empirical_field import optimal_velocity_torch
from numerics.meters import (
    data_copying_test,
    evaluate,
    excess_loss,
    meter,
    off_span_fraction,
    sample_model,
    w2_train_test,
)


def _gaussian(n: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d))


def test_excess_loss_of_the_exact_field_is_rounding_and_of_a_wrong_field_is_not() -> None:
    y = _gaussian(20, 3, 0)
    yt = torch.from_numpy(y)

    def exact(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return optimal_velocity_torch(x, t, yt, "cosine")

    good = excess_loss(exact, y, path="cosine", times=(0.2, 0.8), draws=64, seed=1)
    bad = excess_loss(lambda x, t: exact(x, t) + 0.1, y, path="cosine", times=(0.2, 0.8), draws=64, seed=1)
    assert np.all(good.mean < 1e-20)
    np.testing.assert_allclose(bad.mean, 3 * 0.01, rtol=1e-9)  # a constant offset 0.1 in 3 coordinates
    with pytest.raises(ValueError, match="sigma_t > 0"):
        excess_loss(exact, y, times=(1.0,))


def test_sample_model_integrates_a_constant_field_exactly() -> None:
    y = _gaussian(5, 2, 0)
    x = sample_model(lambda x, t: torch.ones_like(x), 4, y, steps=3, seed=7)
    np.testing.assert_allclose(x, np.random.default_rng(7).standard_normal((4, 2)) + 1.0, atol=1e-14)


def test_evaluate_refuses_a_model_of_the_wrong_shape_or_with_nan() -> None:
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="returned shape"):
        evaluate(lambda x, t: x[:, :1], x, 0.5)
    with pytest.raises(ValueError, match="NaN"):
        evaluate(lambda x, t: x * float("nan"), x, 0.5)
    with pytest.raises(TypeError, match="callable"):
        evaluate(3, x, 0.5)


def test_c_t_and_w2_see_copies_and_not_fresh_draws() -> None:
    train, test = _gaussian(600, 4, 0), _gaussian(300, 4, 1)
    rng = np.random.default_rng(2)
    copies = train[rng.permutation(600)] + 1e-3 * rng.standard_normal((600, 4))
    fresh = _gaussian(600, 4, 3)
    c_copy = data_copying_test(copies, train, test, cells=3, seed=0)
    c_fresh = data_copying_test(fresh, train, test, cells=3, seed=0)
    assert c_copy.statistic < -10  # every copy is nearer its training point than any test point
    assert abs(c_fresh.statistic) < 3  # same law as the test points: C_T ~ N(0, <= 1)
    assert c_copy.kept.all() and c_copy.cells == 3
    w = w2_train_test(copies, train, _gaussian(600, 4, 4), seed=0)  # every point once: W2 to train ~ 1e-3
    assert w.to_train < 0.01 * w.to_test and w.points == 600


def test_off_span_fraction_is_exact_on_a_known_split() -> None:
    train = np.array([[1.0, 0, 0, 0], [0, 2.0, 0, 0]])
    samples = np.array([[1.0, 1.0, 1.0, 1.0], [0, 0, 2.0, 0]])
    off = off_span_fraction(samples, train)
    assert off.rank == 2 and off.fraction == pytest.approx((2 + 4) / (4 + 4), abs=1e-15)
    assert off_span_fraction(samples, np.eye(4)).fraction == 0.0  # the span is all of R^4


def test_meter_removes_duplicates_and_refuses_bad_input() -> None:
    y = _gaussian(30, 3, 0)
    train = np.concatenate([y, y[:5]])
    report = meter(lambda x, t: -x, train, _gaussian(60, 3, 1), samples=40, steps=5, loss_draws=16, cells=1)
    assert report.n_train == 30 and report.duplicates_removed == 5 and report.n_test == 60
    rec = report.to_json()
    assert rec["seed"] == 0 and rec["data_copying_C_T"]["cells"] == 1 and len(rec["excess_loss"]["mean"]) == 11
    bad = y.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        meter(lambda x, t: -x, bad)
    with pytest.raises(ValueError, match="dimension"):
        meter(lambda x, t: -x, y, _gaussian(10, 4, 0))


def test_digits_are_the_documented_set() -> None:
    from sklearn.datasets import load_digits

    d = digits()
    assert d.points.shape == (1797, 61) and d.dim == 61 and not set(CONSTANT_PIXELS) & set(d.kept_pixels)
    assert d.test.shape == (N_TEST, 61) and d.train.shape == (1797 - N_TEST, 61)
    assert not set(d.train_index) & set(d.test_index)
    assert np.trace(d.covariance) == pytest.approx(61.0, rel=1e-12)
    assert np.linalg.eigvalsh(d.covariance).min() > 0  # dequantised: no null direction
    grey = d.to_grey(d.points).reshape(1797, 64) - load_digits().data
    assert grey.min() >= -1e-9 and grey.max() < 1.0  # grey level plus a uniform [0, 1) draw
