"""Pairings as index arrays: explicit pairs, the permutation test, the plan of counts and the mean cost.

A coupling returns either a 1-D ``j`` (``x0[i]`` with ``x1[j[i]]``) or a 2-D ``(2, k)`` array of
``k`` pairs drawn with replacement (BatchEOT's ``sampling="plan"``); :func:`pair_indices` turns
either form into explicit ``(i, j)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from numerics.couplings.costs import validate_batches
from theory.validation import dense_guard, integer


def pair_indices(idx: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Explicit ``(i, j)`` index arrays from a coupling's output (1-D ``j`` or 2-D ``(2, k)``)."""
    idx = np.asarray(idx)
    if k is not None:
        k = integer(k, "k", 1)
    if not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"a pairing must be an integer array, got dtype {idx.dtype}")
    if idx.ndim == 1:
        i, j = np.arange(idx.size), idx
    elif idx.ndim == 2 and idx.shape[0] == 2:
        i, j = idx[0], idx[1]
    else:
        raise ValueError(f"a pairing must have shape (k,) or (2, k), got {idx.shape}")
    n = k if k is not None else i.size
    if i.size and (i.min() < 0 or j.min() < 0 or i.max() >= n or j.max() >= n):
        raise ValueError("pairing indices out of range")
    return i, j


def is_permutation(j: np.ndarray) -> bool:
    """Whether ``j`` (1-D) uses every index ``0..k-1`` exactly once."""
    j = np.asarray(j)
    return j.ndim == 1 and np.array_equal(np.sort(j), np.arange(j.size))


def plan_from_pairing(idx: np.ndarray, k: int) -> np.ndarray:
    """The ``(k, k)`` matrix of pair counts (a permutation matrix for exact couplings)."""
    k = integer(k, "k", 1)
    dense_guard((k, k), "plan matrix")
    i, j = pair_indices(idx, k)
    pi = np.zeros((k, k))
    np.add.at(pi, (i, j), 1.0)
    return pi


def pairing_cost(x0: Any, x1: Any, idx: np.ndarray) -> float:
    r"""Mean squared distance of the pairs, :math:`\frac1k\sum_n\|x_0^{i_n}-x_1^{j_n}\|^2`."""
    a, b = validate_batches(x0, x1)
    if np.ndim(idx) == 1 and np.size(idx) != a.shape[0]:
        raise ValueError(f"a pairing of a batch of {a.shape[0]} has {a.shape[0]} entries, got {np.size(idx)}")
    i, j = pair_indices(idx, a.shape[0])
    return float(((a[i] - b[j]) ** 2).sum(1).mean())
