r"""The sample data subspace: an orthonormal basis of the span (or affine hull) of the data.

Spec ``gao_li.md`` §1.2: :math:`\mathcal S=\operatorname{span}\{x^{(i)}\}` with orthonormal
basis :math:`U\in\mathbb R^{d\times r}` from a thin QR of :math:`X` (default) or the left singular
vectors with :math:`s_k>10^{-10}s_{\max}` (variant); :math:`P=UU^\top`, :math:`P_\perp=I-P`.
The affine variant uses the directions :math:`x^{(i)}-\bar m` and the offset :math:`\bar m`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.validation import real_array

KINDS = ("span", "affine")
METHODS = ("qr", "svd")
RANK_RTOL = 1e-10


@dataclass(frozen=True)
class DataSubspace:
    """Orthonormal basis of the data subspace, its offset and rank.

    Attributes
    ----------
    basis : (d, r) array with orthonormal columns (float64)
    offset : (d,) array: zeros for the span, the data mean for the affine hull
    rank : int
        :math:`r`, the number of singular values of :math:`X - \\text{offset}` above
        ``1e-10 * s_max``.
    singular_values : array of :math:`X - \\text{offset}`
    kind : ``"span"`` or ``"affine"``
    """

    basis: np.ndarray
    offset: np.ndarray
    rank: int
    singular_values: np.ndarray
    kind: str = "span"

    @property
    def dim(self) -> int:
        return int(self.basis.shape[0])

    def coords(self, x: np.ndarray) -> np.ndarray:
        """:math:`U^\\top x` for rows ``x`` (no offset)."""
        return real_array(x, "x", finite=False) @ self.basis

    def inside(self, x: np.ndarray) -> np.ndarray:
        """:math:`Px=UU^\\top x` for rows ``x``."""
        return (real_array(x, "x", finite=False) @ self.basis) @ self.basis.T

    def off(self, x: np.ndarray) -> np.ndarray:
        """:math:`P_\\perp x=x-UU^\\top x` for rows ``x``."""
        x = real_array(x, "x", finite=False)
        return x - (x @ self.basis) @ self.basis.T


def subspace_basis(data: np.ndarray, kind: str = "span", method: str = "qr") -> DataSubspace:
    """Orthonormal basis of the sample data subspace (spec §1.2).

    Parameters
    ----------
    data : (N, d) array of points (rows)
    kind : {"span", "affine"}
        ``"span"``: :math:`\\mathcal S=\\operatorname{span}\\{x^{(i)}\\}`, offset 0;
        ``"affine"``: directions :math:`x^{(i)}-\\bar m`, offset :math:`\\bar m`.
    method : {"qr", "svd"}
        Thin QR of :math:`X` re-orthonormalised by a second pass (default), or the left singular
        vectors above ``1e-10 * s_max``. Linearly dependent points always use the SVD range.

    Raises
    ------
    TypeError
        Complex or non-numeric ``data``.
    ValueError
        If ``data`` is not a finite non-empty ``(N, d)`` array, or ``kind``/``method`` is unknown.
    """
    y = real_array(data, "data", finite=False)
    if y.ndim != 2 or y.shape[0] == 0 or y.shape[1] == 0:
        raise ValueError(f"data must have shape (N, d) with N, d >= 1, got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("data contains NaN or inf")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    offset = np.zeros(y.shape[1]) if kind == "span" else y.mean(axis=0)
    a = (y - offset).T
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    rank = int(np.sum(s > RANK_RTOL * s.max())) if s.size and s.max() > 0 else 0
    if method == "qr" and rank == a.shape[1]:
        basis = np.linalg.qr(np.linalg.qr(a)[0])[0]
    else:
        basis = u[:, :rank]
    return DataSubspace(basis, offset, rank, s, kind)


def proper_subspace(data: np.ndarray, method: str = "qr") -> DataSubspace:
    """The span of ``data`` when it is a proper, nonzero subspace (needed to split a field along it).

    Raises
    ------
    ValueError
        If the span is ``{0}`` or all of :math:`\\mathbb R^d` (then :math:`P_\\perp=0` and the split is void).
    """
    sub = subspace_basis(data, "span", method)
    if sub.rank == 0:
        raise ValueError("the data span is {0}: every point is zero")
    if sub.rank >= sub.dim:
        raise ValueError(f"the data span is all of R^{sub.dim} (rank {sub.rank}); the off-subspace part is void")
    return sub
