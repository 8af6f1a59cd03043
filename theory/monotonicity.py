r"""Whether a function of :math:`t` keeps its sign on :math:`(0,1)`: SymPy first, a dense adaptive search otherwise.

Used by :meth:`theory.paths.AffinePath.validate` on :math:`\dot\sigma_t` (must be :math:`\le0`) and
on :math:`\dot\lambda_t` (must be :math:`\ge0`). Values on an equispaced grid miss a fast
oscillation whose period divides the grid step (:math:`\sigma_t=1-t+\sin(8000\pi t)/100` passes a
4001-point grid of values), so the derivative itself is examined:

1. :func:`symbolic_sign`: SymPy's assumptions on the expression with
   :math:`t=u/(1+u)`, :math:`u>0` (which covers exactly :math:`(0,1)`); cheap, and decisive for
   polynomial and other simple paths. Only small expressions are asked (:data:`SYMBOLIC_OPS`).
2. :func:`worst_violation`: otherwise the lambdified derivative on :data:`DENSE_POINTS` points (an
   irrational offset, so that no period that divides a round step hides on it), and a bounded
   Brent search for the largest violation around each of the :data:`REFINED` worst grid points.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

SYMBOLIC_OPS = 40
"""Largest expression (``count_ops``) whose sign SymPy's assumptions are asked about."""
DENSE_POINTS = 1 << 16
"""Points of the dense search (2^16: about 1 ms per function in NumPy)."""
REFINED = 16
"""Grid points (the worst local ones) around which the largest violation is sought by Brent's method."""
_OFFSET = (math.sqrt(5) - 1) / 2 / DENSE_POINTS  # a golden-ratio shift of the grid


def symbolic_sign(expr: sp.Expr, t: sp.Symbol) -> int | None:
    """+1 (SymPy proves ``expr > 0`` on (0, 1)), -1 (``expr < 0``) or ``None`` (not decided)."""
    if sp.count_ops(expr) > SYMBOLIC_OPS:
        return None
    u = sp.Symbol("u", positive=True)
    e = expr.subs(t, u / (1 + u))
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    return None


def worst_violation(fn: Callable[[np.ndarray], np.ndarray], sign: int) -> tuple[float, float]:
    """Largest ``-sign * fn(t)`` over (0, 1) found by the dense adaptive search, relative to the
    largest finite ``|fn|`` on the grid, and where.

    ``fn`` is vectorised; NaN values count as violations (infinite). A result ``<= 0`` means
    ``sign * fn >= 0`` wherever the search looked; rounding of a true zero gives about 1e-16.
    """
    grid = np.linspace(0.0, 1.0, DENSE_POINTS, endpoint=False)[1:] + _OFFSET

    def bad(x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            v = -sign * np.asarray(fn(x), dtype=float) * np.ones_like(x)
        return np.where(np.isnan(v), np.inf, v)

    v = bad(grid)
    finite = np.abs(v[np.isfinite(v)])
    scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    k = int(np.argmax(v))
    if v[k] > 0:
        return float(v[k]) / scale, float(grid[k])
    # Local maxima of the violation (closest to a sign change), refined between their neighbours.
    peaks = np.flatnonzero((v[1:-1] >= v[:-2]) & (v[1:-1] >= v[2:])) + 1
    worst, where = float(v[k]), float(grid[k])
    for j in peaks[np.argsort(v[peaks])[::-1][:REFINED]]:
        lo, hi = grid[j - 1], grid[j + 1]
        res = minimize_scalar(lambda x: -float(bad(np.array([x]))[0]), bounds=(lo, hi), method="bounded")
        if -res.fun > worst:
            worst, where = float(-res.fun), float(res.x)
    return worst / scale, where
