"""Exact permutation couplings: CondOT's identity and BatchOT's optimal assignment (spec ``mfm.md`` §1.6).

BatchOT solves the assignment problem of the batch's cost matrix with SciPy's shortest augmenting
paths (:func:`scipy.optimize.linear_sum_assignment`) or POT's network simplex (``ot.emd``), and
blocks of at most five points by enumerating the permutations (:func:`_enumerated_assignments`,
the path of :func:`numerics.couplings.sampler.blockwise_pair`).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from numerics.couplings.costs import _square_cost, squared_distances, validate_batches
from numerics.couplings.pairings import is_permutation
from theory.validation import integer


def independent_coupling(x0: Any, x1: Any, rng: np.random.Generator | None = None) -> np.ndarray:
    """CondOT baseline: pair ``x0[i]`` with ``x1[i]`` (identity permutation).

    Because the points of a batch are i.i.d., the identity has the law of the independent
    coupling :math:`q_0\\otimes q_1`.

    Returns
    -------
    j : ndarray of int, shape (k,)
        ``arange(k)``.
    """
    a, _ = validate_batches(x0, x1)
    return np.arange(a.shape[0])


def batch_ot_coupling(x0: Any, x1: Any, rng: np.random.Generator | None = None, solver: str = "auto") -> np.ndarray:
    r"""BatchOT: the exact optimal assignment of the batch.

    .. math::

        j = \arg\min_{\sigma\in S_k}\sum_i \|x_0^i-x_1^{\sigma(i)}\|^2 .

    By Birkhoff–von Neumann this is also an optimum of the OT problem over doubly stochastic
    plans, so the permutation itself is used (every point once).

    Parameters
    ----------
    solver : {"auto", "scipy", "pot"}
        ``"scipy"``: :func:`scipy.optimize.linear_sum_assignment` (shortest augmenting paths);
        ``"pot"``: POT's network simplex ``ot.emd`` with unit (integer) masses, whose optimal
        vertex is a 0/1 permutation matrix; read off as a permutation and verified, with a
        fall-back to SciPy if the simplex stops early or returns a non-permutation.
        ``"auto"``: POT for ``k >= 512``, and for ``k >= 128`` when ``d <= 8``; SciPy otherwise
        (measured: on low-dimensional batches of these sizes SciPy's solver is up to 10 times
        slower than the network simplex, on higher-dimensional ones it is as fast or faster).

    Returns
    -------
    j : ndarray of int, shape (k,)
        A permutation of ``range(k)``. With ties any optimal permutation may be returned.
    """
    _check_solver(solver)
    c = squared_distances(x0, x1)
    d = int(np.prod(np.shape(x0)[1:])) if len(np.shape(x0)) > 1 else 1
    return _optimal_permutation(c, d, solver)


def optimal_assignment(cost: Any, dim: int = 1, solver: str = "auto") -> np.ndarray:
    """The permutation :func:`batch_ot_coupling` returns for batches whose cost matrix is ``cost``.

    For callers that need the cost matrix themselves (it is then computed once).

    Parameters
    ----------
    cost : array_like, shape (k, k)
        :func:`squared_distances` of the two batches.
    dim : int
        Dimension of the points (it picks the solver under ``"auto"``, as in :func:`batch_ot_coupling`).
    solver : {"auto", "scipy", "pot"}
    """
    _check_solver(solver)
    return _optimal_permutation(_square_cost(cost), integer(dim, "dim", 1), solver)


def _check_solver(solver: str) -> None:
    if solver not in ("auto", "scipy", "pot"):
        raise ValueError(f"solver must be 'auto', 'scipy' or 'pot', got {solver!r}")


def _optimal_permutation(c: np.ndarray, d: int, solver: str) -> np.ndarray:
    """The assignment of :func:`batch_ot_coupling` on its cost matrix ``c`` (points of dimension ``d``)."""
    k = c.shape[0]
    if solver == "pot" or (solver == "auto" and (k >= _POT_MIN_K or (k >= _POT_MIN_K_LOW_DIM and d <= 8))):
        j = _emd_permutation(c)
        if j is not None:
            return j
    rows, cols = linear_sum_assignment(c)
    j = np.empty_like(cols)
    j[rows] = cols
    return j


_POT_MIN_K = 512


_POT_MIN_K_LOW_DIM = 128


def _emd_permutation(c: np.ndarray) -> np.ndarray | None:
    """Optimal permutation from POT's network simplex, or ``None`` if it cannot be trusted."""
    import ot

    k = c.shape[0]
    ones = np.ones(k)
    max_iter = int(min(max(100_000, 100 * k * k), 2**31 - 1))
    plan, log = ot.emd(ones, ones, c, numItermax=max_iter, log=True)
    if log.get("warning") is not None:
        return None
    j = plan.argmax(1)
    if not (is_permutation(j) and np.all(plan[np.arange(k), j] == 1.0) and plan.sum() == k):
        return None
    return j


# Up to this block size the optimal assignments of all blocks of a minibatch are found together by
# enumerating the k! permutations (one array operation instead of one solver call per block; at
# k = 4 a 64-pair minibatch is 16 blocks).
_ENUMERATE_MAX_K = 5


@functools.lru_cache(maxsize=_ENUMERATE_MAX_K)
def _permutations(k: int) -> np.ndarray:
    return np.array(list(itertools.permutations(range(k))))


def _enumerated_assignments(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray | None:
    """The optimal permutation of each block of ``k`` rows of ``(a, b)``, by enumeration, as ``(n, k)``.

    The assignment of :func:`batch_ot_coupling` wherever a block's optimum is unique (ties, of
    probability zero for continuous data, may resolve to another optimal permutation);
    ``None`` where a squared distance overflows (the solver path then reports it).
    """
    n = a.shape[0] // k
    blocks0, blocks1 = a.reshape(n, k, -1), b.reshape(n, k, -1)
    with np.errstate(over="ignore", invalid="ignore"):
        cost = ((blocks0[:, :, None, :] - blocks1[:, None, :, :]) ** 2).sum(-1)
    if not np.isfinite(cost).all():
        return None
    perms = _permutations(k)
    return perms[cost[:, np.arange(k), perms].sum(-1).argmin(1)]
