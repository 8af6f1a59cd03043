r"""Nearest-neighbour memorization meters: the community's ratio criterion with a bootstrap interval.

A generated sample :math:`x` is counted as a *copy* of the training set when its nearest training
point is much closer than the second nearest:

.. math::

    r(x)=\frac{\|x-y_{(1)}(x)\|}{\|x-y_{(2)}(x)\|}<\frac13,

where :math:`y_{(1)},y_{(2)}` are the nearest and second-nearest distinct training points. The
*memorization ratio* of a set of samples is the fraction of copies. Exact copies have
:math:`r=0`; samples of a model that generalizes sit between points, :math:`r` near 1.

Duplicated training rows are merged first: a point present twice would make every sample near it
a "non-copy" (:math:`y_{(2)}=y_{(1)}`, :math:`r=1`). Distances are computed in float64 by chunks
of samples, so memory is :math:`O(\text{chunk}\cdot N)` whatever the number of samples.

References
----------
T. Yoon et al., *Diffusion Probabilistic Models Generalize when They Fail to Memorize*, ICML 2023
workshop (the 1/3 ratio criterion); X. Gu et al., *On Memorization in Diffusion Models*, 2023.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theory.validation import integer, real_array, real_scalar

COPY_RATIO = 1.0 / 3.0
"""Yoon et al. 2023, Gu et al. 2023: a sample whose nearest / second-nearest distance ratio is below 1/3 is a copy."""
CHUNK = 2048


@dataclass(frozen=True)
class NearestTwo:
    """Per sample: distances to the nearest and second-nearest distinct training point, and the nearest's index."""

    first: np.ndarray
    second: np.ndarray
    index: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        """:math:`\\|x-y_{(1)}\\|/\\|x-y_{(2)}\\|` per sample (0 for an exact copy)."""
        return self.first / self.second


def distinct_rows(data: np.ndarray) -> np.ndarray:
    """The distinct rows of ``data`` (finite, 2-D), in first-occurrence order."""
    y = real_array(data, "train", ndim=2)
    _, first = np.unique(y, axis=0, return_index=True)
    return y[np.sort(first)]


def nearest_two(samples: np.ndarray, train: np.ndarray, chunk: int = CHUNK) -> NearestTwo:
    """Nearest and second-nearest distances of every sample to the distinct rows of ``train`` (float64).

    Raises
    ------
    ValueError
        Non-finite input, mismatched dimensions, or fewer than two distinct training points.
    """
    x = real_array(samples, "samples", ndim=2)
    y = distinct_rows(train)
    chunk = integer(chunk, "chunk", 1)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"samples have dimension {x.shape[1]}, training points {y.shape[1]}")
    if y.shape[0] < 2:
        raise ValueError("the memorization ratio needs at least two distinct training points")
    yt = torch.from_numpy(y)
    first, second, index = [], [], []
    for start in range(0, x.shape[0], chunk):
        d = torch.cdist(torch.from_numpy(x[start : start + chunk]), yt, compute_mode="donot_use_mm_for_euclid_dist")
        vals, idx = torch.topk(d, 2, dim=1, largest=False)
        first.append(vals[:, 0].numpy())
        second.append(vals[:, 1].numpy())
        index.append(idx[:, 0].numpy())
    cat = (np.concatenate(a) if a else np.empty(0) for a in (first, second, index))
    return NearestTwo(*cat)


@dataclass(frozen=True)
class MemorizationRatio:
    """Fraction of samples that are copies (ratio < ``threshold``), with a percentile bootstrap interval.

    ``ci`` is the central ``level`` interval of the fraction over ``n_boot`` resamples of the
    samples (seed ``seed``); ``ratios`` holds every sample's ratio.
    """

    fraction: float
    ci: tuple[float, float]
    level: float
    threshold: float
    n_samples: int
    n_train: int
    n_boot: int
    seed: int | list[int]
    ratios: np.ndarray


def _check_options(threshold: float, level: float, n_boot: int) -> tuple[float, float, int]:
    return (
        real_scalar(threshold, "threshold", 0.0, 1.0, lo_open=True),
        real_scalar(level, "level", 0.0, 1.0, lo_open=True, hi_open=True),
        integer(n_boot, "n_boot", 1),
    )


def memorization_ratio(
    samples: np.ndarray,
    train: np.ndarray,
    *,
    threshold: float = COPY_RATIO,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int | list[int] = 0,
    chunk: int = CHUNK,
) -> MemorizationRatio:
    """Fraction of ``samples`` whose nearest / second-nearest training distance ratio is below ``threshold``.

    Parameters
    ----------
    samples : (M, d) generated samples
    train : (N, d) training points (duplicates merged before the ratio is taken)
    threshold : the copy criterion, :data:`COPY_RATIO` = 1/3 by default
    n_boot, level, seed : percentile bootstrap over samples (``n_boot`` resamples, seeded)
    """
    _check_options(threshold, level, n_boot)  # before any work
    nn = nearest_two(samples, train, chunk)
    return ratio_of_nearest(
        nn, int(distinct_rows(train).shape[0]), threshold=threshold, n_boot=n_boot, level=level, seed=seed
    )


def ratio_of_nearest(
    nn: NearestTwo,
    n_train: int,
    *,
    threshold: float = COPY_RATIO,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int | list[int] = 0,
) -> MemorizationRatio:
    """:func:`memorization_ratio` from nearest distances already computed (``n_train`` distinct training points).

    For callers that need the distances for more than the ratio (a meter at large ``N`` computes
    them once).
    """
    threshold, level, n_boot = _check_options(threshold, level, n_boot)
    if nn.first.size == 0:
        raise ValueError("no samples to meter")
    copies = (nn.ratio < threshold).astype(np.float64)
    rng = np.random.default_rng(seed)
    # bootstrap of a proportion: the number of copies in a resample is binomial given the sample
    boot = rng.binomial(copies.size, copies.mean(), size=n_boot) / copies.size
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return MemorizationRatio(
        float(copies.mean()),
        (float(lo), float(hi)),
        level,
        threshold,
        int(copies.size),
        int(n_train),
        n_boot,
        seed,
        nn.ratio,
    )
