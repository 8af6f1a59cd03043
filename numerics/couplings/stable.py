"""Stable: the stable matching of squared-distance preferences of both sides (spec ``mfm.md`` §1.6).

:func:`gale_shapley` (proposals, the reference) and :func:`greedy_matching` (global greedy) are
what the claims check; :func:`stable_matching` finds the same, unique, matching by eliminating
mutually best pairs (vectorised), and is what :func:`stable_coupling` and training use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from numerics.couplings.costs import _square_cost, squared_distances
from theory.validation import dense_guard


def gale_shapley(cost: np.ndarray, proposer: str = "rows") -> tuple[np.ndarray, int]:
    """Gale–Shapley stable matching where both sides prefer a smaller ``cost``.

    Ties are broken by the smaller index on both sides (a strict order, so the output is
    deterministic and stable for the tie-broken preferences).

    Parameters
    ----------
    cost : ndarray, shape (k, k)
    proposer : {"rows", "cols"}

    Returns
    -------
    j : ndarray of int, shape (k,)
        Row ``i`` is matched with column ``j[i]`` (a permutation).
    proposals : int
        Number of proposals made (at most ``k**2``).
    """
    c = _square_cost(cost)
    if proposer not in ("rows", "cols"):
        raise ValueError(f"proposer must be 'rows' or 'cols', got {proposer!r}")
    # Python lists of the cost and of the preference order: about 72 bytes per entry.
    dense_guard(c.shape, "stable-matching preference lists", itemsize=72)
    if proposer == "cols":
        i_of_col, n = gale_shapley(c.T, "rows")
        j = np.empty_like(i_of_col)
        j[i_of_col] = np.arange(i_of_col.size)
        return j, n
    k = c.shape[0]
    prefs = np.argsort(c, axis=1, kind="stable")  # each row's columns, best first
    nxt = np.zeros(k, dtype=np.int64)
    holder = np.full(k, -1, dtype=np.int64)  # row currently held by each column
    free = list(range(k - 1, -1, -1))
    proposals = 0
    cl = c.tolist()  # Python floats: the loop below is scalar work
    pl = prefs.tolist()
    nl = nxt.tolist()
    hl = holder.tolist()
    while free:
        i = free.pop()
        col = pl[i][nl[i]]
        nl[i] += 1
        proposals += 1
        cur = hl[col]
        if cur < 0:
            hl[col] = i
        elif (cl[i][col], i) < (cl[cur][col], cur):
            hl[col] = i
            free.append(cur)
        else:
            free.append(i)
    holder = np.asarray(hl, dtype=np.int64)
    j = np.empty(k, dtype=np.int64)
    j[holder] = np.arange(k)
    return j, proposals


def stable_coupling(x0: Any, x1: Any, rng: np.random.Generator | None = None, proposer: str = "x0") -> np.ndarray:
    """Stable: the stable matching of squared-distance preferences of both sides (:func:`stable_matching`).

    Parameters
    ----------
    proposer : {"x0", "x1"}
        Which side proposes in Gale–Shapley. Preferences from one cost matrix, ties broken by
        the smaller index, make the stable matching unique (:func:`stable_matching`), so both
        sides give this matching; it is computed without proposals.

    Returns
    -------
    j : ndarray of int, shape (k,)
        A permutation: :func:`gale_shapley` of the cost, either side proposing.
    """
    if proposer not in ("x0", "x1"):
        raise ValueError(f"proposer must be 'x0' or 'x1', got {proposer!r}")
    return stable_matching(squared_distances(x0, x1))


def stable_matching(cost: np.ndarray) -> np.ndarray:
    r"""The stable matching of :func:`gale_shapley`, by elimination of mutually best pairs (vectorised).

    Both sides prefer a smaller cost, ties broken by the smaller index: row :math:`i` ranks
    column :math:`j` by :math:`(C_{ij}, j)`, column :math:`j` ranks row :math:`i` by
    :math:`(C_{ij}, i)`. Both are restrictions of **one** strict total order of the pairs,
    :math:`(i,j)\prec(i',j')\iff(C_{ij},i,j)<(C_{i'j'},i',j')` lexicographically (within a row
    :math:`i` is fixed, within a column :math:`j` is). Hence:

    1. *A mutually best pair is in every stable matching.* If column :math:`j` is row
       :math:`i`'s first choice and :math:`i` is :math:`j`'s, a matching that pairs them with
       others :math:`j'\neq j`, :math:`i'\neq i` is blocked by :math:`(i,j)`.
    2. *Removing it keeps stability.* A stable matching :math:`M\ni(i,j)` restricted to the other
       rows and columns is stable there (a blocking pair there would block :math:`M`, the
       preferences being restrictions), and every remaining mutually best pair stays mutually
       best when other mutually best pairs are removed (each keeps its first choice).
    3. *One always exists:* the :math:`\prec`-smallest remaining pair.

    So removing all mutually best pairs, round after round, ends in a perfect matching contained
    in every stable matching; one exists (Gale–Shapley finds one), so the stable matching is
    **unique**: it is what Gale–Shapley returns with either side proposing, and what the global
    greedy matching (:func:`greedy_matching`, which takes the :math:`\prec`-smallest pair each
    time, one round of one pair) returns. Each round is two vectorised argmins over the rows and
    columns whose first choice was just removed (``argmin`` returns the first minimum: the
    tie-break).

    Cost: the number of rounds times the rows and columns re-ranked. Measured (one core, noise
    against 8 Gaussians): 2.4 ms at ``k = 256`` against 11 ms for :func:`gale_shapley`,
    0.18 s against 0.36 s at ``k = 1024``; 3-13 times faster for normal batches in d = 1 to 3072. When every
    row ranks the columns alike (e.g. :math:`C_{ij}=a_i+b_j`, or all costs tied) each round
    removes one pair and re-ranks all rows, :math:`O(k^3)`: 1.8 s against 0.7 s at ``k = 1024``.

    Parameters
    ----------
    cost : ndarray, shape (k, k)

    Returns
    -------
    j : ndarray of int, shape (k,)
        Row ``i`` is matched with column ``j[i]`` (a permutation).
    """
    c = _square_cost(cost)
    dense_guard(c.shape, "stable-matching work arrays", copies=2)
    k = c.shape[0]
    rows, cols = np.arange(k), np.arange(k)  # remaining rows and columns, in increasing order
    # working copies over the rows and columns remaining at the last compaction, row-major and
    # column-major; taken columns (rows) are set to +inf, so an argmin over a row (column) sees
    # only the remaining ones. ``at_row[i]`` (``at_col[j]``) is the position of row i (column j)
    # there; they are compacted whenever half of them are gone (O(k^2) copying in all).
    by_row, by_col = c.copy(), np.ascontiguousarray(c.T)
    at_row, at_col = np.arange(k), np.arange(k)
    kept_rows, kept_cols = rows, cols  # the ids of the working copies' rows and columns
    row_best, col_best = by_row.argmin(1), by_col.argmin(1)  # first choices (ids) among the remaining
    j = np.empty(k, dtype=np.int64)
    row_gone, col_gone = np.zeros(k, dtype=bool), np.zeros(k, dtype=bool)
    while rows.size:
        best = row_best[rows]
        mutual = col_best[best] == rows
        pair_rows, pair_cols = rows[mutual], best[mutual]
        j[pair_rows] = pair_cols
        row_gone[pair_rows], col_gone[pair_cols] = True, True
        rows, cols = rows[~mutual], cols[~col_gone[cols]]
        if 2 * rows.size < by_row.shape[0]:
            by_row = by_row[np.ix_(at_row[rows], at_col[cols])]
            by_col = np.ascontiguousarray(by_row.T)
            at_row[rows], at_col[cols] = np.arange(rows.size), np.arange(cols.size)
            kept_rows, kept_cols = rows, cols
        else:
            by_row[:, at_col[pair_cols]], by_col[:, at_row[pair_rows]] = np.inf, np.inf
        stale = rows[col_gone[row_best[rows]]]  # rows whose first choice was taken
        if stale.size:
            row_best[stale] = kept_cols[by_row[at_row[stale]].argmin(1)]
        stale = cols[row_gone[col_best[cols]]]
        if stale.size:
            col_best[stale] = kept_rows[by_col[at_col[stale]].argmin(1)]
    return j


def greedy_matching(cost: np.ndarray) -> np.ndarray:
    """Global greedy matching: repeatedly take the smallest remaining entry, drop its row and column.

    Ties are broken by (row, column) index order. Returns ``j`` with row ``i`` matched to ``j[i]``.
    """
    c = _square_cost(cost)
    dense_guard(c.shape, "greedy-matching sort order", itemsize=16)
    k = c.shape[0]
    order = np.argsort(c, axis=None, kind="stable")
    j = np.full(k, -1, dtype=np.int64)
    col_used = np.zeros(k, dtype=bool)
    left = k
    for n in order.tolist():
        i, col = divmod(n, k)
        if j[i] < 0 and not col_used[col]:
            j[i] = col
            col_used[col] = True
            left -= 1
            if left == 0:
                break
    return j
