"""Batches and their cost: validation and the squared-distance matrix of the minibatch couplings.

The cost of every coupling of Multisample Flow Matching (spec ``mfm.md`` §1.6) is
:math:`C_{ij}=\\|x_0^i-x_1^j\\|^2`, always in float64 whatever the input precision; batches of
shape ``(k, ...)`` are checked here once (:func:`validate_batches`) and their trailing axes flattened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

from theory.validation import dense_guard, real_array

Coupling = Callable[..., np.ndarray]


# Below this dimension the cost is computed entry by entry (no cancellation); above it with the
# BLAS expansion |a|^2 + |b|^2 - 2 a.b, which is much faster for image-sized vectors.
_DIRECT_COST_MAX_DIM = 64


def _as_float64_2d(x: Any, name: str) -> np.ndarray:
    """Batch as a float64 ``(k, d)`` array (torch tensors are detached and moved to the CPU)."""
    a = real_array(x, name, finite=False)
    if a.ndim == 0:
        raise ValueError(f"{name} must have a batch axis, got a scalar")
    if a.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (k = 0)")
    a = a.reshape(a.shape[0], -1) if a.ndim != 2 else a
    if a.ndim == 1:
        a = a[:, None]
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _square_cost(cost: Any) -> np.ndarray:
    c = real_array(cost, "cost")
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] == 0:
        raise ValueError(f"cost must be a non-empty square matrix, got shape {c.shape}")
    return c


def validate_batches(x0: Any, x1: Any) -> tuple[np.ndarray, np.ndarray]:
    """Check a pair of batches and return them as float64 ``(k, d)`` arrays.

    Raises
    ------
    TypeError
        Complex, object or other non-numeric batches.
    ValueError
        Empty batch, NaN/inf entries, different batch sizes or different point shapes.
    """
    s0 = tuple(getattr(x0, "shape", np.shape(x0)))
    s1 = tuple(getattr(x1, "shape", np.shape(x1)))
    if s0 != s1:
        raise ValueError(f"x0 and x1 must have the same shape (k, ...), got {s0} and {s1}")
    return _as_float64_2d(x0, "x0"), _as_float64_2d(x1, "x1")


def squared_distances(x0: Any, x1: Any) -> np.ndarray:
    r"""Cost matrix :math:`C_{ij}=\|x_0^i-x_1^j\|^2` in float64.

    Parameters
    ----------
    x0, x1 : array_like or torch.Tensor, shape (k, ...)
        Source and target batches (trailing axes are flattened).

    Returns
    -------
    C : ndarray, shape (k, k)

    Raises
    ------
    ValueError
        Bad batches (:func:`validate_batches`), or coordinates so large that a squared distance
        overflows float64.
    DenseSizeError
        If the matrix (and, above 64 dimensions, the two temporaries of the BLAS form) would
        exceed the dense cap ``MEMGEN_MAX_DENSE_GB`` (:func:`theory.validation.dense_guard`).
    """
    a, b = validate_batches(x0, x1)
    dense_guard((a.shape[0], b.shape[0]), "cost matrix", copies=1 if a.shape[1] <= _DIRECT_COST_MAX_DIM else 3)
    return _cost_matrix(a, b)


def _cost_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`squared_distances` of validated float64 ``(k, d)`` batches (checked once by the caller)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if a.shape[1] <= _DIRECT_COST_MAX_DIM:
            c = cdist(a, b, "sqeuclidean")
        else:
            c = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
            c = np.maximum(c, 0.0)  # rounding can make tiny distances negative
    if not np.isfinite(c).all():
        top = max(float(np.abs(a).max()), float(np.abs(b).max()))
        raise ValueError(f"squared distances overflow float64 (coordinates up to {top:.3g}); rescale the batches")
    return c


def _check_rng(rng: Any) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    raise ValueError(f"rng must be a numpy.random.Generator (seeded), got {type(rng).__name__}")
