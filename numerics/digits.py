r"""Real data, offline: scikit-learn's bundled handwritten digits as a data set of the suite.

:func:`sklearn.datasets.load_digits` ships 1797 images of 8×8 pixels with integer grey levels
0..16 inside the package (no download). The suite's version, :func:`digits`, is fixed by
construction and by seeds:

1. **Constant pixels dropped.** Pixels 0, 32 and 39 are 0 in every image (zero variance: no
   information, and a singular covariance); the other 61 are kept, so :math:`d=61`.
2. **Dequantised.** Each grey level :math:`g` becomes :math:`g+u` with :math:`u\sim U[0,1)`
   drawn from a generator seeded with :data:`DEQUANTISE_SEED`. Integer data has repeated
   points and a lattice support; the dequantised set has distinct points, a density, and a
   covariance whose every eigenvalue is at least :math:`1/12` in grey levels (the variance of
   the independent uniform noise).
3. **Standardised.** The points are centred on the mean of all 1797 and divided by one global
   scale :math:`s=\sqrt{\operatorname{tr}\Sigma/d}` (:math:`\Sigma` the covariance of all 1797),
   so the population covariance has trace :math:`d` (mean eigenvalue 1): the scale of the
   :math:`\mathcal N(0,I)` prior, as for the suite's Gaussian spectra. :meth:`Digits.to_grey`
   undoes it.
4. **Split.** A permutation seeded with :data:`SPLIT_SEED` puts :data:`N_TEST` = 297 images in
   the test set and the other 1500 in the training set.

The whole set of 1797 (:attr:`Digits.points`) is the *population* of the linear-diffusion claims:
its mean is 0 and its covariance is known exactly (:attr:`Digits.covariance`).

Reference: E. Alpaydin, C. Kaynak, *Optical Recognition of Handwritten Digits*, UCI Machine
Learning Repository (1998); the copy bundled with scikit-learn.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from theory.validation import real_array

DEQUANTISE_SEED = 1797
SPLIT_SEED = 61
N_TEST = 297
GREY_LEVELS = 16
CONSTANT_PIXELS = (0, 32, 39)


@dataclass(frozen=True)
class Digits:
    """The standardised, dequantised digits: the population of 1797, its split and how it was made.

    Attributes
    ----------
    points : (1797, 61) float64, population mean 0, covariance trace 61
    labels : (1797,) digit class 0..9
    train_index, test_index : rows of ``points`` in the training (1500) and test (297) sets
    kept_pixels : the 61 pixel indices of the 8×8 image that are kept
    grey_mean : (61,) mean grey level of the dequantised pixels (before standardising)
    scale : the global scale :math:`s` (grey levels per unit)
    """

    points: np.ndarray
    labels: np.ndarray
    train_index: np.ndarray
    test_index: np.ndarray
    kept_pixels: np.ndarray
    grey_mean: np.ndarray
    scale: float

    @property
    def dim(self) -> int:
        return int(self.points.shape[1])

    @property
    def train(self) -> np.ndarray:
        """(1500, 61) training points."""
        return self.points[self.train_index]

    @property
    def test(self) -> np.ndarray:
        """(297, 61) held-out test points."""
        return self.points[self.test_index]

    @functools.cached_property
    def covariance(self) -> np.ndarray:
        """Population covariance (1/1797 normalisation, mean 0 exactly by construction)."""
        x = self.points - self.points.mean(axis=0)
        return x.T @ x / x.shape[0]

    def to_grey(self, x: np.ndarray) -> np.ndarray:
        """Rows of standardised points back to 8×8 grey-level images (the dropped pixels set to 0)."""
        rows = real_array(x, "x", ndim=2)
        if rows.shape[1] != self.dim:
            raise ValueError(f"x must have {self.dim} columns, got {rows.shape[1]}")
        out = np.zeros((rows.shape[0], 64))
        out[:, self.kept_pixels] = rows * self.scale + self.grey_mean
        return out.reshape(-1, 8, 8)


@functools.cache
def _load() -> Digits:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    grey = np.asarray(bunch.data, dtype=np.float64)
    kept = np.setdiff1d(np.arange(grey.shape[1]), CONSTANT_PIXELS)
    if np.any(grey[:, list(CONSTANT_PIXELS)] != 0) or np.any(grey[:, kept].std(axis=0) == 0):
        raise RuntimeError(
            "the bundled digits differ from the expected set: pixels 0, 32, 39 are not the constant ones"
        )
    x = grey[:, kept] + np.random.default_rng(DEQUANTISE_SEED).random((grey.shape[0], kept.size))
    mean = x.mean(axis=0)
    centred = x - mean
    scale = float(np.sqrt(np.sum(centred * centred) / (x.shape[0] * kept.size)))
    points = centred / scale
    points.setflags(write=False)
    order = np.random.default_rng(SPLIT_SEED).permutation(points.shape[0])
    labels = np.asarray(bunch.target, dtype=np.int64)
    return Digits(points, labels, np.sort(order[N_TEST:]), np.sort(order[:N_TEST]), kept, mean, scale)


def digits() -> Digits:
    """The suite's digits (loaded once per process; see the module docstring for every step)."""
    return _load()
