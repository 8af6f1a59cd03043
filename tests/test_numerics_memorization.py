"""The nearest-neighbour memorization ratio: copies, non-copies, duplicates, chunking, interval."""

from __future__ import annotations

import numpy as np
import pytest

from numerics.memorization import COPY_RATIO, memorization_ratio, nearest_two


def test_exact_copies_have_ratio_zero_and_midpoints_ratio_one() -> None:
    train = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    samples = np.array([[0.0, 0.0], [0.5, 0.0], [0.01, 0.99]])
    nn = nearest_two(samples, train)
    np.testing.assert_allclose(nn.ratio[:2], [0.0, 1.0])
    m = memorization_ratio(samples, train, seed=1)
    assert m.fraction == pytest.approx(2 / 3)
    assert m.ci[0] <= m.fraction <= m.ci[1]
    assert m.threshold == COPY_RATIO


def test_duplicated_training_rows_are_merged() -> None:
    train = np.array([[0.0, 0.0], [0.0, 0.0], [4.0, 0.0]])
    # with the duplicate kept, the second-nearest distance would equal the nearest (ratio 1, not a copy)
    assert memorization_ratio(np.array([[0.1, 0.0]]), train).fraction == 1.0
    assert memorization_ratio(np.array([[0.1, 0.0]]), train).n_train == 2


def test_chunking_does_not_change_distances() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((50, 3)), rng.standard_normal((20, 3))
    a, b = nearest_two(x, y, chunk=7), nearest_two(x, y, chunk=1000)
    np.testing.assert_array_equal(a.first, b.first)
    np.testing.assert_array_equal(a.index, b.index)
    brute = np.sort(np.linalg.norm(x[:, None] - y[None], axis=-1), axis=1)[:, :2]
    np.testing.assert_allclose(np.c_[a.first, a.second], brute, rtol=1e-12)


@pytest.mark.parametrize(
    ("samples", "train", "match"),
    [
        (np.zeros((2, 3)), np.zeros((4, 2)), "dimension"),
        (np.zeros((2, 2)), np.zeros((4, 2)), "two distinct"),
        (np.full((2, 2), np.nan), np.eye(2), "NaN"),
    ],
)
def test_bad_input_is_refused(samples: np.ndarray, train: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        memorization_ratio(samples, train)
