"""Default data sets of the Gao & Li checks (spec ``gao_li.md`` §1.4) and their data subspace.

Points are stored as rows: a data set is an array of shape ``(N, d)`` (the spec's matrix
:math:`X` is its transpose). Every set is generated from a fixed seed, so each call returns the
same array.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

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
    if d < r or r < 1 or n < 1:
        raise ValueError(f"need d >= r >= 1 and n >= 1, got d={d}, r={r}, n={n}")
    coords = np.random.default_rng(seed_coords).standard_normal((n, r))
    g = np.random.default_rng([seed_basis, d]).standard_normal((d, r))
    basis, _ = np.linalg.qr(g)
    return coords @ basis.T, coords, basis


def subspace_basis(data: np.ndarray, kind: str = "span", method: str = "qr") -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal basis of the sample data subspace (spec §1.2) and its offset.

    ``kind="span"``: :math:`\\mathcal S=\\operatorname{span}\\{x^{(i)}\\}`, offset 0.
    ``kind="affine"``: direction space :math:`D=\\operatorname{span}\\{x^{(i)}-\\bar m\\}`,
    offset :math:`\\bar m`. ``method="qr"`` (thin QR, re-orthonormalised) or ``"svd"`` (singular
    values above :math:`10^{-10}s_{\\max}`).

    Returns
    -------
    basis : (d, r) array with orthonormal columns
    offset : (d,) array (the mean for ``affine``, zeros for ``span``)
    """
    y = np.asarray(data, dtype=np.float64)
    if y.ndim != 2 or y.shape[0] == 0:
        raise ValueError(f"data must have shape (N, d) with N >= 1, got {y.shape}")
    if kind == "span":
        offset = np.zeros(y.shape[1])
    elif kind == "affine":
        offset = y.mean(axis=0)
    else:
        raise ValueError(f"kind must be 'span' or 'affine', got {kind!r}")
    a = (y - offset).T
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    rank = int(np.sum(s > 1e-10 * s.max())) if s.size and s.max() > 0 else 0
    if method not in ("qr", "svd"):
        raise ValueError(f"method must be 'qr' or 'svd', got {method!r}")
    if method == "qr" and rank == a.shape[1]:
        # Thin QR of X, re-orthonormalised by a second pass (float64, spec pitfall list).
        basis = np.linalg.qr(np.linalg.qr(a)[0])[0]
    else:
        # SVD range: the variant, and the only choice when the points are linearly dependent.
        basis = u[:, :rank]
    return basis, offset
