"""Every synthetic data set of the suite, once.

- Point clouds of the exact-flow claims (spec ``gao_li.md`` §1.4): :func:`dataset` by name and
  :func:`embedded_dataset` (the same coordinates in any ambient dimension).
- Targets of the learned flows (spec ``mfm.md`` §3): the 2-D 8-Gaussians and the
  ``d``-dimensional mixture of 8 isotropic Gaussians (:class:`FlowTarget`), and the Gaussian
  target of the minibatch-cost sweep (:func:`minibatch_cost_target`).
- Gaussian data of the linear-diffusion claims (spec ``merger_goldt.md`` §1.2): power-law spectra
  (:func:`power_law_spectrum`) and white training matrices (:func:`white_samples`).

Points are stored as rows: a data set is an array of shape ``(N, d)`` (the spec's matrix
:math:`X` is its transpose). Every set is generated from a fixed seed, so each call returns the
same array.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from theory.validation import dense_guard, integer, real_array, real_scalar

DATASETS = ("sparse-d20", "sparse-sphere", "clustered", "toy2d-sparse", "toy2d-clustered", "tiny")


def _sparse_d20() -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(0).standard_normal((5, 20))
    return x, np.arange(5)


def _sparse_sphere() -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(1).standard_normal((12, 20))
    return 3.0 * g / np.linalg.norm(g, axis=1, keepdims=True), np.arange(12)


def _clustered() -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(2).standard_normal((3, 20))
    centres = 3.0 * g / np.linalg.norm(g, axis=1, keepdims=True)
    labels = np.repeat(np.arange(3), 4)
    xi = np.random.default_rng(3).standard_normal((12, 20))
    return centres[labels] + 0.05 * xi, labels


def _toy2d_sparse() -> tuple[np.ndarray, np.ndarray]:
    ang = 2.0 * np.pi * np.arange(6) / 6.0
    return 3.0 * np.stack([np.cos(ang), np.sin(ang)], axis=1), np.arange(6)


def _toy2d_clustered() -> tuple[np.ndarray, np.ndarray]:
    ang = 2.0 * np.pi * np.arange(3) / 3.0
    centres = 3.0 * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    labels = np.repeat(np.arange(3), 3)
    xi = np.random.default_rng(4).standard_normal((9, 2))
    return centres[labels] + 0.15 * xi, labels


def _tiny() -> tuple[np.ndarray, np.ndarray]:
    return np.array([[1.0, 0.0], [-0.5, 0.8], [0.2, -1.1]]), np.arange(3)


_MAKERS: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {
    "sparse-d20": _sparse_d20,
    "sparse-sphere": _sparse_sphere,
    "clustered": _clustered,
    "toy2d-sparse": _toy2d_sparse,
    "toy2d-clustered": _toy2d_clustered,
    "tiny": _tiny,
}


def dataset(name: str) -> np.ndarray:
    """The named default data set as an ``(N, d)`` float64 array (points as rows).

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`DATASETS`.
    """
    if name not in _MAKERS:
        raise ValueError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    return _MAKERS[name]()[0].astype(np.float64)


def cluster_labels(name: str) -> np.ndarray:
    """Cluster index of each point of the named data set (each point its own cluster if unclustered)."""
    if name not in _MAKERS:
        raise ValueError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    return _MAKERS[name]()[1].copy()


def embedded_dataset(
    d: int, n: int = 5, r: int = 5, seed_coords: int = 23, seed_basis: int = 24
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same ``r``-dimensional coordinates embedded in :math:`\\mathbb R^d` (spec fact (e)).

    .. math:: x^{(i)} = U_d\\, c^{(i)},\\qquad c^{(i)}\\sim\\mathcal N(0, I_r),\\quad U_d = \\mathrm{QR}(G_d)

    Returns
    -------
    data : (n, d) array
    coords : (n, r) array of the coordinates :math:`c^{(i)}` (independent of ``d``)
    basis : (d, r) orthonormal :math:`U_d`
    """
    d, n, r = integer(d, "d", 1), integer(n, "n", 1), integer(r, "r", 1)
    if d < r:
        raise ValueError(f"need d >= r >= 1 and n >= 1, got d={d}, r={r}, n={n}")
    dense_guard((max(n, d), max(d, r)), "embedded data set", copies=3)
    coords = np.random.default_rng(seed_coords).standard_normal((n, r))
    g = np.random.default_rng([seed_basis, d]).standard_normal((d, r))
    basis, _ = np.linalg.qr(g)
    return coords @ basis.T, coords, basis


# ----------------------------------------------------------------------------------------------
# Targets of the learned flows (spec mfm.md §3)
# ----------------------------------------------------------------------------------------------
EIGHT_GAUSSIANS_RADIUS = 4.0
EIGHT_GAUSSIANS_STD = 0.4
MIXTURE_COMPONENTS = 8
MIXTURE_STD = 0.3
MIXTURE_MEANS_SEED = 55
TARGETS = ("8gaussians", "mixture")


def _check_n(n: int) -> int:
    return integer(n, "number of samples", 0)


def eight_gaussians_means(radius: float = EIGHT_GAUSSIANS_RADIUS) -> np.ndarray:
    r"""Means of the 8-Gaussians target, shape ``(8, 2)``.

    .. math::
        m_j = r\,\big(\cos\tfrac{2\pi j}{8},\ \sin\tfrac{2\pi j}{8}\big),\qquad j=0,\dots,7 .
    """
    radius = real_scalar(radius, "radius", 0.0, lo_open=True)
    ang = 2.0 * np.pi * np.arange(8) / 8.0
    return radius * np.stack([np.cos(ang), np.sin(ang)], axis=1)


def sample_gaussian_mixture(n: int, means: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    r"""``n`` draws of the equal-weight isotropic mixture :math:`\frac1K\sum_j\mathcal N(m_j,s^2I)`.

    Parameters
    ----------
    n : int
        Number of samples.
    means : ndarray, shape (K, d)
        Component means.
    std : float
        Common standard deviation :math:`s>0`.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n, d), float64
    """
    means = real_array(means, "means", finite=False)
    if means.ndim != 2 or means.shape[0] < 1 or not np.all(np.isfinite(means)):
        raise ValueError(f"means must be a finite (K, d) array, got shape {means.shape}")
    std = real_scalar(std, "std", 0.0, lo_open=True)
    return _mixture_draws(n, means, std, rng)


def _mixture_draws(n: int, means: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """The draws of :func:`sample_gaussian_mixture` from checked ``means`` and ``std`` (``n`` and ``rng`` checked here)."""
    n = _check_n(n)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    dense_guard((n, means.shape[1]), "mixture samples", copies=3)
    comp = rng.integers(0, means.shape[0], size=n)
    return means[comp] + std * rng.standard_normal((n, means.shape[1]))


def sample_eight_gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws of the 2-D 8-Gaussians target (radius 4, std 0.4, equal weights; spec §3)."""
    return sample_gaussian_mixture(n, eight_gaussians_means(), EIGHT_GAUSSIANS_STD, rng)


def gaussian_mixture_cdf(u: np.ndarray, direction: np.ndarray, means: np.ndarray, std: float) -> np.ndarray:
    r"""CDF of the projection :math:`a^\top x` of the equal-weight isotropic mixture, at ``u``.

    .. math:: F(u)=\frac1K\sum_j\Phi\Big(\frac{u-a^\top m_j}{s\|a\|}\Big)
    """
    from scipy.special import ndtr

    a = real_array(direction, "direction", ndim=1)
    means = real_array(means, "means", ndim=2)
    std = real_scalar(std, "std", 0.0, lo_open=True)
    if means.shape[1] != a.size or not np.any(a != 0):
        raise ValueError(f"direction must be a nonzero vector of length {means.shape[1]}, got shape {a.shape}")
    centres = means @ a
    scale = std * float(np.linalg.norm(a))
    return ndtr((real_array(u, "u", finite=False)[..., None] - centres) / scale).mean(axis=-1)


def mixture_means(dim: int, n_components: int = MIXTURE_COMPONENTS, seed: int = MIXTURE_MEANS_SEED) -> np.ndarray:
    r"""Means of the ``dim``-dimensional mixture target of ``mfm/lower-transport-cost-high-dim``.

    .. math::
        m_j \sim \mathcal N\big(0, \tfrac{16}{d} I_d\big)\ \text{i.i.d.},\qquad j=1,\dots,8,

    so :math:`\mathbb E\|m_j\|^2=16` in every dimension (the scale of the 2-D 8-Gaussians ring).
    """
    dim, n_components = integer(dim, "dim", 1), integer(n_components, "n_components", 1)
    dense_guard((n_components, dim), "mixture means")
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, math.sqrt(16.0 / dim), size=(n_components, dim))


@functools.lru_cache(maxsize=64)
def _target_means(name: str, dim: int) -> np.ndarray:
    # every minibatch of a training run samples the target: its means are drawn once, not per draw
    m = eight_gaussians_means() if name == "8gaussians" else mixture_means(dim)
    m.setflags(write=False)
    return m


@dataclass(frozen=True)
class FlowTarget:
    """A data distribution :math:`q_1` by name: ``"8gaussians"`` (``dim == 2``) or ``"mixture"``."""

    name: str = "8gaussians"
    dim: int = 2

    def __post_init__(self) -> None:
        if self.name not in TARGETS:
            raise ValueError(f"unknown target {self.name!r}; choose from {TARGETS}")
        integer(self.dim, "dim", 1)
        if self.name == "8gaussians" and self.dim != 2:
            raise ValueError(f"the 8-Gaussians target is 2-D, got dim={self.dim}")

    def means(self) -> np.ndarray:
        """Component means, shape ``(8, dim)`` (read-only: computed once per target and shared)."""
        return _target_means(self.name, self.dim)

    @property
    def std(self) -> float:
        return EIGHT_GAUSSIANS_STD if self.name == "8gaussians" else MIXTURE_STD

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` float64 samples of :math:`q_1` (:func:`sample_gaussian_mixture` of its means and std)."""
        # a training run samples its target once per minibatch: the means and std are the
        # target's own (checked once), so only the call's arguments are checked here
        return _mixture_draws(n, self.means(), self.std, rng)

    def cdf(self, u: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """CDF of the projection on ``direction`` (see :func:`gaussian_mixture_cdf`)."""
        return gaussian_mixture_cdf(u, direction, self.means(), self.std)

    def independent_cost(self) -> float:
        r"""Independent-coupling cost :math:`c_1=\mathbb E\|x_1-x_0\|^2=\mathbb E\|x_1\|^2+d`.

        For the mixture, :math:`\mathbb E\|x_1\|^2=\frac1K\sum_j\|m_j\|^2+d s^2`.
        """
        m = self.means()
        return float(np.mean(np.sum(m**2, axis=1)) + self.dim * self.std**2 + self.dim)


def minibatch_cost_target(d: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Gaussian target of the minibatch-cost sweep (spec ``mfm.md`` §3, Theorem D.8): ``(mu, diag Sigma)``.

    :math:`\mu=\mathbf 1/\sqrt d`, :math:`\Sigma=\mathrm{diag}(s_i^2)`, :math:`s_i=0.5+0.5\frac{i-1}{d-1}`
    (:math:`s=0.5` for :math:`d=1`).
    """
    d = integer(d, "d", 1)
    dense_guard((d,), "target moments", copies=3)
    s = np.full(1, 0.5) if d == 1 else 0.5 + 0.5 * np.arange(d) / (d - 1)
    return np.full(d, 1.0 / np.sqrt(d)), s**2


# ----------------------------------------------------------------------------------------------
# Gaussian data of the linear-diffusion claims (spec merger_goldt.md §1.2)
# ----------------------------------------------------------------------------------------------
def power_law_spectrum(d: int, k: float, trace: float | None = None) -> np.ndarray:
    r"""Eigenvalues :math:`\lambda_\nu=c\,\nu^{-k}`, :math:`\nu=1..d`, with :math:`\sum\lambda_\nu=` ``trace`` (default :math:`d`)."""
    d = integer(d, "d", 1)
    k = real_scalar(k, "decay exponent k", 0.0)
    trace = float(d) if trace is None else real_scalar(trace, "trace", 0.0, lo_open=True)
    dense_guard((d,), "spectrum", copies=2)
    lam = np.arange(1, d + 1, dtype=np.float64) ** (-k)
    return lam * (trace / lam.sum())


def power_law_covariance(
    d: int, k: float, trace: float | None = None, rotation: np.ndarray | None = None
) -> np.ndarray:
    """:math:`\\Sigma=\\mathrm{diag}(\\lambda)` of :func:`power_law_spectrum`, or :math:`Q\\,\\mathrm{diag}(\\lambda)Q^\\top`."""
    lam = power_law_spectrum(d, k, trace)
    dense_guard((lam.size, lam.size), "covariance", copies=2)
    if rotation is None:
        return np.diag(lam)
    q = real_array(rotation, "rotation")
    if q.shape != (d, d):
        raise ValueError(f"rotation must have shape ({d}, {d}), got {q.shape}")
    return (q * lam) @ q.T


def white_samples(n: int, d: int, seed: int | list[int]) -> np.ndarray:
    """Standard-normal matrix :math:`Z\\in\\mathbb R^{n\\times d}` of one training set (shared across spectra)."""
    n, d = integer(n, "number of samples N", 1), integer(d, "d", 1)
    dense_guard((n, d), "white samples")
    return np.random.default_rng(seed).standard_normal((n, d))
