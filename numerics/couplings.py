"""Minibatch couplings of Multisample Flow Matching (spec ``mfm.md`` §1.6).

Every coupling takes a batch of source points ``x0`` (noise) and target points ``x1`` (data),
both of shape ``(k, ...)`` (trailing axes are flattened for the cost), and returns an integer
index array describing the pairs:

* a 1-D array ``j`` of shape ``(k,)``: ``x0[i]`` is paired with ``x1[j[i]]`` for every ``i``.
  Exact couplings (independent, BatchOT, Stable) always return a **permutation**: every noise
  point and every data point is used exactly once (an exact plan is never sampled with
  replacement);
* only for ``batch_eot_coupling(..., sampling="plan")``: a 2-D array ``ij`` of shape ``(2, k)``
  of ``k`` pairs ``(x0[ij[0, n]], x1[ij[1, n]])`` drawn with replacement from the flat plan.

:func:`pair_indices` turns either form into explicit ``(i, j)`` and :func:`pair` applies it to
NumPy arrays or torch tensors. The cost is :math:`C_{ij}=\\|x_0^i-x_1^j\\|^2`, always in float64
whatever the input precision.

Reference and fast paths. :func:`entropic_plan` (NumPy), :func:`gale_shapley` and
:func:`greedy_matching` are the references the claims check. Training goes through
:func:`blockwise_pair` and :class:`CoupledBatchSampler`, which use the fast paths with the same
results: :func:`entropic_plans` / :func:`batch_eot_pairings` (many BatchEOT plans at once in torch,
float64, CUDA when present; plans equal to rounding, draws equal; :class:`DeferredBatchEOT` for a
loop that shares its generator with other draws), :func:`stable_matching`
(vectorised; the unique stable matching), and drawing ahead / prefetching in the sampler.
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from theory.validation import dense_guard, integer, real_array, real_scalar

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


# --------------------------------------------------------------------------------------------
# the couplings
# --------------------------------------------------------------------------------------------


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


def _lse_rows(z: np.ndarray) -> np.ndarray:
    """log-sum-exp over axis 1 (max-shifted, so nothing overflows or underflows to 0)."""
    m = z.max(axis=1)
    return m + np.log(np.exp(z - m[:, None]).sum(axis=1))


def sinkhorn_log(
    a: np.ndarray,
    b: np.ndarray,
    cost: np.ndarray,
    eps: float,
    *,
    tol: float = 1e-10,
    max_iter: int = 100_000,
    eps_scaling: bool = True,
) -> np.ndarray:
    r"""Entropic OT plan by log-domain Sinkhorn iterations (float64).

    Solves

    .. math::

        P_\varepsilon=\arg\min_{P\in U(a,b)}\langle P,C\rangle-\varepsilon H(P),\qquad
        H(P)=-\sum_{ij}P_{ij}(\ln P_{ij}-1),

    with dual potentials :math:`f,g` and :math:`P_{ij}=\exp((f_i+g_j-C_{ij})/\varepsilon)`. The
    potentials are updated with log-sum-exp, so no kernel :math:`e^{-C/\varepsilon}` ever
    underflows. With ``eps_scaling`` the problem is first solved coarsely at larger
    :math:`\varepsilon` (halving down to ``eps``) with warm-started potentials. Where Sinkhorn's
    linear rate stalls (small :math:`\varepsilon` against the gaps between near-optimal
    assignments), a damped Newton ascent on the semi-dual in :math:`g` (rows exact, a tiny
    Levenberg–Marquardt shift on the Laplacian-shaped Hessian) finishes the solve; plain Sinkhorn
    iterations are the last fall-back.

    **Smallest representable** :math:`\varepsilon`. The potentials and the cost are of size
    :math:`\max|C|`, so the exponent :math:`(f_i+g_j-C_{ij})/\varepsilon` carries a rounding
    error of about :math:`\epsilon_{64}\max|C|/\varepsilon` (:math:`\epsilon_{64}=2^{-52}`, the
    float64 machine epsilon), which is the relative error of every plan entry and of the
    marginals formed from them. The plan is therefore representable in float64 to ``tol`` only for

    .. math:: \varepsilon\ \ge\ \varepsilon_{\min}=\frac{2^{-52}\,\max|C|}{\mathrm{tol}} ;

    below, ``ValueError`` is raised before any iteration (measured on Gaussian batches: the
    marginal error of the plan is :math:`0.1`–:math:`1\times\epsilon_{64}\max|C|/\varepsilon`).
    The final plan is re-checked (finite, nonnegative, rows and columns within ``tol``); if the
    exponential of the potentials misses ``tol`` by rounding, it is re-formed as row-wise
    softmax and rescaled by alternating column/row normalisation (the factors differ from 1 by
    the residual marginal error, so the result is the entropic plan of a cost changed by
    :math:`\varepsilon` times that error, i.e. at the rounding level of the exponents), and a
    plan that still misses ``tol`` is never returned: ``ValueError``.

    Parameters
    ----------
    a, b : ndarray, shape (k,), (m,)
        Positive marginals with equal sums.
    cost : ndarray, shape (k, m)
    eps : float
        Absolute regularisation, :math:`\ge\varepsilon_{\min}` above.
    tol : float
        The returned plan has every row and column sum within relative error ``tol`` of ``a``
        and ``b``; in ``[1e-14, 1)`` (sums of float64 entries carry rounding of a few ulps).
    max_iter : int
        Sinkhorn iterations of the last fall-back (>= 1).

    Returns
    -------
    P : ndarray, shape (k, m)

    Raises
    ------
    TypeError
        Complex or non-numeric input.
    ValueError
        Non-positive or non-finite ``eps``, ``eps`` below :math:`\varepsilon_{\min}`, ``tol`` or
        ``max_iter`` out of range, non-positive marginals, mismatched shapes, NaN, or no
        convergence to ``tol``.
    DenseSizeError
        If the working arrays (about six of the size of ``cost``) exceed the dense cap.
    """
    a = real_array(a, "a", ndim=1)
    b = real_array(b, "b", ndim=1)
    c = real_array(cost, "cost", finite=False)
    eps = real_scalar(eps, "eps", 0.0, lo_open=True)
    tol = real_scalar(tol, "tol", _MIN_TOL, 1.0, hi_open=True)
    max_iter = integer(max_iter, "max_iter", 1)
    if c.shape != (a.size, b.size):
        raise ValueError(f"cost shape {c.shape} does not match marginals ({a.size}, {b.size})")
    if np.any(a <= 0) or np.any(b <= 0) or not np.isclose(a.sum(), b.sum(), rtol=1e-12):
        raise ValueError("marginals must be positive with equal sums")
    if not np.all(np.isfinite(c)):
        raise ValueError("cost contains NaN or inf")
    if c.size == 0:
        raise ValueError("empty marginals")
    floor = _eps_floor(c, tol)
    if eps < floor:
        raise ValueError(
            f"eps = {eps:.3g} is below the float64 limit {floor:.3g} = 2^-52 max|C| / tol for tol = {tol:g}: "
            "the plan's exponents (f_i + g_j - C_ij)/eps carry rounding of 2^-52 max|C|/eps; "
            "raise eps or loosen tol (batch_ot_coupling gives the eps -> 0 limit)"
        )
    dense_guard(c.shape, "entropic OT working arrays", copies=6)
    la, lb = np.log(a), np.log(b)
    g = np.zeros(b.size)
    schedule = _eps_schedule(c, eps)[::-1] if eps_scaling else [float(eps)]
    for n_stage, e in enumerate(schedule):
        if n_stage < len(schedule) - 1:  # coarse stages only provide a warm start
            g, err = _sinkhorn_stage(la, lb, c, e, g, _COARSE_TOL, _COARSE_ITERS)
            if err > _COARSE_TOL:
                g, _ = _newton_semidual(la, lb, c, e, g, _COARSE_TOL, _NEWTON_ITERS)
            continue
        g, err = _sinkhorn_stage(la, lb, c, e, g, tol, _WARM_ITERS)
        if err > tol:
            # Sinkhorn's linear rate degrades when eps is small against the gaps between
            # near-optimal assignments; damped Newton on the semi-dual converges quadratically
            # from the warm start. Plain Sinkhorn remains the fall-back.
            g, err = _newton_semidual(la, lb, c, e, g, tol, _NEWTON_ITERS)
        if err > tol:
            g, err = _sinkhorn_stage(la, lb, c, e, g, tol, max_iter)
        if err > tol:
            raise ValueError(f"entropic OT did not reach tol {tol:g} (error {err:.2e}, eps {eps:g})")
    e = schedule[-1]
    plan = _potential_plan(la, c, g, e)
    if _marginal_error(plan, a, b) > tol:
        plan = _rescaled_plan(a, b, c, g, e, tol)
    err = _marginal_error(plan, a, b)
    if not err <= tol:  # also catches NaN
        raise ValueError(
            f"entropic OT plan misses its marginals after the last step (error {err:.2e} > tol {tol:g}, eps {eps:g})"
        )
    return plan


_MIN_TOL = 1e-14
_RESCALE_SWEEPS = 100


def _eps_schedule(c: np.ndarray, eps: float) -> list[float]:
    """The eps-scaling stages, finest first: ``eps`` doubled until it reaches the spread of ``c``."""
    schedule = [float(eps)]
    spread = float(c.max() - c.min())
    while schedule[-1] < spread:
        schedule.append(schedule[-1] * 2.0)
    return schedule


def _eps_floor(c: np.ndarray, tol: float) -> float:
    """Smallest absolute eps at which the plan's exponents are resolved to ``tol`` (see :func:`sinkhorn_log`)."""
    return float(np.finfo(np.float64).eps * np.abs(c).max() / tol)


def _potential_plan(la: np.ndarray, c: np.ndarray, g: np.ndarray, e: float) -> np.ndarray:
    r""":math:`P_{ij}=\exp((f_i+g_j-C_{ij})/\varepsilon)` with the row potential ``f`` of ``g``."""
    f = _row_potential(la, c, g, e)
    return np.exp((f[:, None] + g[None, :] - c) / e)


def _marginal_error(plan: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Largest relative row/column sum error; ``inf`` for a plan with NaN, inf or negative entries."""
    if not (np.all(np.isfinite(plan)) and np.all(plan >= 0)):
        return float("inf")
    rows = np.abs(plan.sum(1) / a - 1.0).max()
    cols = np.abs(plan.sum(0) / b - 1.0).max()
    return float(max(rows, cols))


def _rescaled_plan(a: np.ndarray, b: np.ndarray, c: np.ndarray, g: np.ndarray, e: float, tol: float) -> np.ndarray:
    """The plan of potential ``g`` with exact rows (row softmax), then alternating column/row rescaling.

    Used only when the exponential of the potentials misses ``tol`` by rounding: every factor
    applied is within rounding of 1, so the result is the entropic plan of a cost perturbed at
    rounding level, now on its marginals.
    """
    z = (g[None, :] - c) / e
    plan = np.exp(z - z.max(1, keepdims=True))
    plan *= (a / plan.sum(1))[:, None]
    for _ in range(_RESCALE_SWEEPS):
        if _marginal_error(plan, a, b) <= tol:
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            plan *= (b / plan.sum(0))[None, :]
            plan *= (a / plan.sum(1))[:, None]
    return plan


_COARSE_ITERS = 10
_COARSE_TOL = 1e-3
_WARM_ITERS = 50
_NEWTON_ITERS = 200


def _row_potential(la: np.ndarray, c: np.ndarray, g: np.ndarray, e: float) -> np.ndarray:
    # f makes every row sum of P = exp((f + g - C) / e) equal to a exactly
    return e * (la - _lse_rows((g[None, :] - c) / e))


def _col_error(lb: np.ndarray, c: np.ndarray, f: np.ndarray, g: np.ndarray, e: float) -> float:
    # relative column-sum error of the plan with exact rows
    col = np.exp((f[:, None] + g[None, :] - c) / e - lb[None, :]).sum(0)
    return float(np.abs(col - 1.0).max())


def _sinkhorn_stage(la, lb, c, e, g, tol, iters):
    ct = np.ascontiguousarray(c.T)
    f = _row_potential(la, c, g, e)
    err = _col_error(lb, c, f, g, e)
    for n in range(iters):
        if err <= tol:
            break
        g = e * (lb - _lse_rows((f[None, :] - ct) / e))
        f_new = _row_potential(la, c, g, e)
        # row sums of the plan (f, g) are a * exp((f - f_new) / e); after the f update the
        # rows are exact, and this is the column error of the next half-step up to rounding
        err = float(np.abs(np.expm1((f - f_new) / e)).max())
        f = f_new
        if n % 50 == 49:
            err = max(err, _col_error(lb, c, f, g, e))
    return g, _col_error(lb, c, f, g, e)


def _semidual(la, lb, c, g, e) -> float:
    # concave semi-dual objective <b, g> + <a, f(g)> (up to a constant)
    f = _row_potential(la, c, g, e)
    return float(np.exp(lb) @ g + np.exp(la) @ f)


def _newton_semidual(la, lb, c, e, g, tol, iters):
    """Damped Newton ascent on the semi-dual in ``g`` (rows exact, columns driven to ``b``)."""
    a, b = np.exp(la), np.exp(lb)
    k2 = b.size
    for _ in range(iters):
        z = (g[None, :] - c) / e
        s = np.exp(z - z.max(1, keepdims=True))
        s /= s.sum(1, keepdims=True)  # row-wise softmax: P = a[:, None] * s
        col = a @ s
        err = float(np.abs(col / b - 1.0).max())
        if err <= tol:
            return g, err
        # -Hessian = L / e with L the Laplacian of weights W = s^T diag(a) s; its diagonal is
        # formed as sum_i a_i s_ij (1 - s_ij) with 1 - s_ij summed from the other entries (no
        # cancellation when s is nearly one-hot)
        w = (s * a[:, None]).T @ s
        np.fill_diagonal(w, 0.0)
        lap = -w
        lap[np.diag_indices(k2)] = (a[:, None] * s * _others(s)).sum(0)
        grad = b - col
        # the Laplacian is singular along constants and nearly singular between groups of
        # columns linked only by exponentially small plan entries: a tiny Levenberg–Marquardt
        # shift keeps the system solvable and lets the line search move such groups
        lap[np.diag_indices(k2)] += 1e-14 * max(float(np.trace(lap)) / k2, 1e-300) + 1e-300
        step = np.linalg.solve(lap, grad) * e
        obj = _semidual(la, lb, c, g, e)
        t = 1.0
        while True:
            g_try = g + t * step
            obj_try = _semidual(la, lb, c, g_try, e)
            if obj_try >= obj:
                break
            # near the optimum the objective no longer resolves the ascent in float64: accept a
            # step that still reduces the marginal error without a visible loss in objective
            if obj_try >= obj - 1e-13 * abs(obj) and _col_error(lb, c, _row_potential(la, c, g_try, e), g_try, e) < err:
                break
            t *= 0.5
            if t < 1e-8:  # no ascent direction left at this precision
                f = _row_potential(la, c, g, e)
                return g, _col_error(lb, c, f, g, e)
        g = g + t * step
    f = _row_potential(la, c, g, e)
    return g, _col_error(lb, c, f, g, e)


def _others(s: np.ndarray) -> np.ndarray:
    """``1 - s`` for row-stochastic ``s``, summed from the other entries of each row."""
    total = s.sum(1, keepdims=True)
    top = s.argmax(1)
    out = total - s
    # for the dominant entry 1 - s is the (accurate) sum of the others
    rows = np.arange(s.shape[0])
    masked = s.copy()
    masked[rows, top] = 0.0
    out[rows, top] = masked.sum(1)
    return out


def entropic_plan(x0: Any, x1: Any, eps_rel: float = 0.05, *, tol: float = 1e-10) -> np.ndarray:
    r"""Doubly stochastic entropic coupling :math:`\pi=kP_\varepsilon` of a batch.

    Uses uniform marginals :math:`1/k`, the squared-distance cost and
    :math:`\varepsilon=\varepsilon_{\rm rel}\cdot\mathrm{mean}(C)` (scale-free).

    **Smallest** :math:`\varepsilon_{\rm rel}`. Float64 represents the plan to ``tol`` only for

    .. math:: \varepsilon_{\rm rel}\ \ge\ \frac{2^{-52}}{\mathrm{tol}}\,\frac{\max C}{\mathrm{mean}\,C}

    (:func:`sinkhorn_log`): at ``tol = 1e-10`` about :math:`2.2\times10^{-6}\max C/\mathrm{mean}\,C`,
    i.e. :math:`5\times10^{-6}`–:math:`1.3\times10^{-5}` for Gaussian batches
    (:math:`\max C/\mathrm{mean}\,C\approx2`–:math:`6`). Below it ``ValueError`` is raised
    before any iteration. The exact plan is *not* substituted: the entropic plan approaches it
    only as :math:`e^{-\Delta/\varepsilon}` with the (unknown) gap :math:`\Delta` between the
    best and second-best assignments, so the substitute could not be certified;
    :func:`batch_ot_coupling` gives the :math:`\varepsilon\to0` limit explicitly.

    Returns
    -------
    pi : ndarray, shape (k, k)
        Rows and columns sum to 1 (to ``tol``; re-checked after the last step).

    Raises
    ------
    ValueError
        ``eps_rel`` not positive and finite or below the float64 limit, bad ``tol``, bad batches.
    """
    eps_rel = real_scalar(eps_rel, "eps_rel", 0.0, lo_open=True)
    tol = real_scalar(tol, "tol", _MIN_TOL, 1.0, hi_open=True)
    c = squared_distances(x0, x1)
    k = c.shape[0]
    eps = _absolute_eps(c, eps_rel, tol)
    if eps is None:  # every point identical: every plan is optimal, take the uniform one
        return np.full((k, k), 1.0 / k)
    u = np.full(k, 1.0 / k)
    return k * sinkhorn_log(u, u, c, eps, tol=tol)


def _absolute_eps(c: np.ndarray, eps_rel: float, tol: float) -> float | None:
    """``eps_rel * mean(C)``, refused below the float64 limit; ``None`` when ``C`` is all zero."""
    mean_c = float(c.mean())
    if mean_c == 0.0:
        return None
    floor = _eps_floor(c, tol) / mean_c
    if eps_rel < floor:
        raise ValueError(
            f"eps_rel = {eps_rel:.3g} is below the float64 limit {floor:.3g} = 2^-52 (max C / mean C) / tol "
            f"for this batch and tol = {tol:g}: the plan cannot be represented to tol; raise eps_rel or "
            "loosen tol (batch_ot_coupling gives the eps -> 0 limit)"
        )
    eps = eps_rel * mean_c
    if not np.isfinite(eps):
        raise ValueError(f"eps_rel * mean(C) = {eps_rel:g} * {mean_c:g} overflows")
    return eps


def batch_eot_coupling(
    x0: Any, x1: Any, rng: np.random.Generator, eps_rel: float = 0.05, sampling: str = "row"
) -> np.ndarray:
    r"""BatchEOT: pairs drawn from the entropic plan of the batch.

    Parameters
    ----------
    x0, x1 : array_like or torch.Tensor, shape (k, ...)
    rng : numpy.random.Generator
        Seeded generator for the draws.
    eps_rel : float
        :math:`\varepsilon=\varepsilon_{\rm rel}\,\mathrm{mean}(C)`.
    sampling : {"row", "plan"}
        ``"row"``: for each ``i`` draw :math:`j\sim\pi_{i\cdot}` (every ``x0`` used once);
        ``"plan"``: ``k`` draws of ``(i, j)`` from the flat plan, with replacement.

    Returns
    -------
    j : ndarray of int, shape (k,)  (``sampling="row"``)
    ij : ndarray of int, shape (2, k)  (``sampling="plan"``)
    """
    rng = _check_rng(rng)
    _check_sampling(sampling)
    return _draw_from_plan(entropic_plan(x0, x1, eps_rel), rng, sampling)


def _check_sampling(sampling: str) -> None:
    if sampling not in ("row", "plan"):
        raise ValueError(f"sampling must be 'row' or 'plan', got {sampling!r}")


def _draw_from_plan(pi: np.ndarray, rng: np.random.Generator, sampling: str) -> np.ndarray:
    """BatchEOT pairs from one plan (the draws of :func:`batch_eot_coupling`, shared by the batched path)."""
    k = pi.shape[0]
    if sampling == "row":
        cdf = np.cumsum(pi, axis=1)
        u = rng.random(k) * cdf[:, -1]
        j = (cdf < u[:, None]).sum(1)
        return np.minimum(j, k - 1)
    flat = pi.ravel() / pi.sum()
    n = rng.choice(k * k, size=k, replace=True, p=flat)
    return np.stack([n // k, n % k])


# --------------------------------------------------------------------------------------------
# many entropic plans at once (torch, float64; CUDA when present)
# --------------------------------------------------------------------------------------------

# Problems solved together on the CPU: as many as fill two 256 x 256 float64 kernels, which (with
# their work arrays) stay in a core's L2 cache, while the per-operation overhead of torch is shared
# by more problems when they are small. Measured per plan on one core (8 Gaussians, eps_rel 0.05):
# k = 64: 3.3 ms at 2 problems, 0.9 ms at 32; k = 128: 4.8 ms at 2, 2.9 ms at 8; k = 256: fastest
# at 2. Every problem's iterates are the same whatever the chunk (identical plans, bit for bit).
_CPU_CHUNK_ENTRIES = 2 * 256 * 256


def _cpu_chunk(k: int) -> int:
    return max(2, _CPU_CHUNK_ENTRIES // (k * k))


def _as_blocks(x: Any, name: str) -> np.ndarray:
    a = real_array(x, name, finite=False)
    if a.ndim < 2:
        raise ValueError(f"{name} must have shape (n, k, ...): n batches of k points, got shape {a.shape}")
    return a


def entropic_plans(
    x0: Any, x1: Any, eps_rel: float = 0.05, *, tol: float = 1e-10, device: Any = None, chunk: int | None = None
) -> np.ndarray:
    r"""The entropic plans :func:`entropic_plan` of many batches at once (torch, float64).

    Every batch ``(x0[n], x1[n])`` is solved along the path of :func:`sinkhorn_log`: the same
    :math:`\varepsilon`-scaling stages, the same Sinkhorn iteration counts and stopping tests,
    the same damped Newton steps on the semi-dual and line search, on all batches together
    (each batch with its own stopping decisions). The Sinkhorn iterations of a stage run on the
    stage's kernel :math:`K_{ij}=e^{(g_j-C_{ij})/\varepsilon-m_i}` (:math:`m_i` the row maximum,
    so :math:`0<K_{ij}\le1`) as scalings :math:`u\odot K v`, two matrix-vector products an
    iteration; in exact arithmetic these are the log-domain iterates of :func:`sinkhorn_log`
    (:math:`f=\varepsilon\ln u-\varepsilon m`, :math:`g\mathrel{+}=\varepsilon\ln v`), so the
    plans agree with :func:`entropic_plan` to rounding: to about the resolution of the plan's
    exponents, :math:`2^{-52}\max C/\varepsilon` (measured on the entries of :math:`\pi`:
    :math:`10^{-16}` at :math:`\varepsilon_{\rm rel}=0.5` to :math:`8\times10^{-13}` at
    :math:`0.002`–:math:`0.005`, :math:`k\in[2,512]`, :math:`d\in\{1,2,8\}`; near the float64
    limit of :func:`entropic_plan`, where that resolution is ``tol``, :math:`0.24\,\mathrm{tol}`).

    Every plan is re-checked in float64 after the last step, by the check of
    :func:`sinkhorn_log` (finite, nonnegative, rows and columns within ``tol``). A batch that
    misses it here, or that needs one of the rare fall-backs of :func:`sinkhorn_log` (plain
    Sinkhorn after Newton, rescaling of the final plan), is solved again by :func:`entropic_plan`
    itself, which returns its plan or raises: a plan off its marginals is never returned.
    :math:`\varepsilon_{\rm rel}` below the float64 limit is refused, for every batch, before
    any iteration, exactly as by :func:`entropic_plan`.

    Cost: the path itself, per plan at ``k = 256``, :math:`\varepsilon_{\rm rel}=0.05` (noise
    against 8 Gaussians): about 166 matrix-vector products, 12 kernels (an exponential of
    :math:`k^2` entries each) and 2 Newton systems (a :math:`k^3` product and a dense solve).
    Measured on one shared CPU core: 11 ms CPU time per plan (17 ms wall at load 4) against 54
    (81) ms for :func:`entropic_plan`; a GPU runs the many plans of ``n`` batches together.

    Parameters
    ----------
    x0, x1 : array_like or torch.Tensor, shape (n, k, ...)
        ``n`` pairs of batches of ``k`` points (trailing axes are flattened for the cost).
    eps_rel, tol : float
        As in :func:`entropic_plan`.
    device : str or torch.device, optional
        Where the iterations run; ``None``: CUDA when present, else the CPU.
    chunk : int, optional
        Batches solved together; ``None``: all of them on a GPU, on the CPU as many as fill two
        256 x 256 kernels (at least 2; kept in cache).

    Returns
    -------
    pi : ndarray, shape (n, k, k)
        ``pi[n]`` is :func:`entropic_plan` of ``(x0[n], x1[n])`` (to rounding).

    Raises
    ------
    ValueError
        Bad batches, ``eps_rel`` or ``tol`` (as :func:`entropic_plan`), or a plan that cannot be
        brought to ``tol``.
    """
    eps_rel = real_scalar(eps_rel, "eps_rel", 0.0, lo_open=True)
    tol = real_scalar(tol, "tol", _MIN_TOL, 1.0, hi_open=True)
    a0, a1 = _as_blocks(x0, "x0"), _as_blocks(x1, "x1")
    if a0.shape != a1.shape:
        raise ValueError(f"x0 and x1 must have the same shape (n, k, ...), got {a0.shape} and {a1.shape}")
    import torch

    from numerics.training import default_device

    n, k = a0.shape[:2]
    dense_guard((n, k, k), "cost matrices and plans", copies=2)
    costs = np.empty((n, k, k))
    for i in range(n):
        costs[i] = squared_distances(a0[i], a1[i])
    eps = [_absolute_eps(c, eps_rel, tol) for c in costs]  # every refusal before any iteration
    pi = np.empty((n, k, k))
    todo = [i for i, e in enumerate(eps) if e is not None]
    pi[[i for i, e in enumerate(eps) if e is None]] = 1.0 / k  # C = 0: the uniform plan, as entropic_plan
    dev = torch.device(device) if device is not None else default_device()
    size = (
        integer(chunk, "chunk", 1)
        if chunk is not None
        else (max(len(todo), 1) if dev.type == "cuda" else _cpu_chunk(k))
    )
    u = np.full(k, 1.0 / k)
    for start in range(0, len(todo), size):
        part = todo[start : start + size]
        dense_guard((len(part), k, k), "batched entropic OT working arrays", copies=5)
        plans = _EntropicBatch(costs[part], [eps[i] for i in part], dev).solve(tol)
        for i, plan in zip(part, plans):
            if plan is None or not _marginal_error(plan, u, u) <= tol:
                plan = sinkhorn_log(u, u, costs[i], eps[i], tol=tol)  # the reference, with its fall-backs
            pi[i] = k * plan
    return pi


class _EntropicBatch:
    """Uniform-marginal entropic OT problems ``(C[n], eps[n])`` on one device, solved along
    the path of :func:`sinkhorn_log` (see :func:`entropic_plans`)."""

    def __init__(self, costs: np.ndarray, eps: list[float], device: Any) -> None:
        import torch

        self.torch = torch
        self.k = costs.shape[1]
        # exactly the marginals of entropic_plan: a = 1/k, log a as sinkhorn_log forms it, and
        # exp(log a) where sinkhorn_log uses that
        self.la = float(np.log(np.full(self.k, 1.0 / self.k))[0])
        self.ea = float(np.exp(self.la))
        self.c = torch.as_tensor(costs, dtype=torch.float64, device=device)
        self.schedules = [_eps_schedule(c, e) for c, e in zip(costs, eps)]
        self.e = torch.as_tensor([s[0] for s in self.schedules], dtype=torch.float64, device=device)

    def _at(self, rows: list[int] | None, level: int) -> _EntropicBatch:
        """The problems ``rows`` (all: ``None``) at eps-scaling stage ``level`` (0: the finest)."""
        sub = object.__new__(_EntropicBatch)
        sub.torch, sub.k, sub.la, sub.ea = self.torch, self.k, self.la, self.ea
        idx = range(self.c.shape[0]) if rows is None else rows
        sub.c = self.c if rows is None else self.c[self.torch.as_tensor(rows, device=self.c.device)]
        sub.schedules = [self.schedules[i] for i in idx]
        sub.e = self.torch.as_tensor([s[level] for s in sub.schedules], dtype=self.c.dtype, device=self.c.device)
        return sub

    def _take(self, keep: Any) -> _EntropicBatch:
        sub = object.__new__(_EntropicBatch)
        sub.torch, sub.k, sub.la, sub.ea = self.torch, self.k, self.la, self.ea
        sub.c, sub.e = self.c[keep], self.e[keep]
        sub.schedules = [s for s, kept in zip(self.schedules, keep.tolist()) if kept]
        return sub

    # -- the kernel and the quantities read off it ------------------------------------------
    def kernel(self, g: Any, out: Any) -> tuple[Any, Any]:
        """``out`` = :math:`e^{z-m}` with :math:`z=(g_j-C_{ij})/\\varepsilon`, :math:`m` its row max;
        returns ``(m, r)``, ``r`` the row sums (so :math:`\\mathrm{lse}_j z=m+\\ln r`)."""
        self.torch.sub(g[:, None, :], self.c, out=out)
        out.div_(self.e[:, None, None])
        m = out.amax(-1)
        out.sub_(m[:, :, None]).exp_()
        return m, out.sum(-1)

    def col_error(self, kern: Any, u: Any, v: Any | None = None) -> Any:
        """Largest relative column-sum error of the plan :math:`u_iK_{ij}v_j` (uniform marginals)."""
        n = u.shape[0]
        col = self.torch.bmm(u.view(n, 1, -1), kern).view(n, -1)
        if v is not None:
            col = col * v.view(n, -1)
        return (col / self.ea - 1.0).abs().amax(-1)

    def semidual(self, g: Any, m: Any, r: Any) -> Any:
        """:math:`\\langle b,g\\rangle+\\langle a,f(g)\\rangle` with the row potential ``f`` of ``g``."""
        f = self.e[:, None] * (self.la - (m + self.torch.log(r)))
        return self.ea * g.sum(-1) + self.ea * f.sum(-1)

    # -- the path of sinkhorn_log -------------------------------------------------------------
    def solve(self, tol: float) -> list[np.ndarray | None]:
        """The plans :math:`P` (rows summing to ``1/k``), ``None`` where a fall-back is needed."""
        torch = self.torch
        n = self.c.shape[0]
        g = torch.zeros(n, self.k, dtype=self.c.dtype, device=self.c.device)
        levels = max(len(s) for s in self.schedules)
        for level in range(levels - 1, -1, -1):
            rows = [i for i, s in enumerate(self.schedules) if len(s) > level]
            sub = self._at(None if len(rows) == n else rows, level)
            gs = g if len(rows) == n else g[rows]
            stage_tol, iters = (_COARSE_TOL, _COARSE_ITERS) if level else (tol, _WARM_ITERS)
            gs, err = sub.sinkhorn(gs, stage_tol, iters)
            slow = ~(err <= stage_tol)
            if bool(slow.any()):  # damped Newton where Sinkhorn stalled (as in sinkhorn_log)
                idx = slow.nonzero()[:, 0]
                gn, en = sub._take(slow).newton(gs[idx], stage_tol, _NEWTON_ITERS)
                gs, err = gs.index_copy(0, idx, gn), err.index_copy(0, idx, en)
            if len(rows) == n:
                g = gs
            else:
                g[rows] = gs
        final = self._at(None, 0)
        kern = torch.empty_like(self.c)
        m, r = final.kernel(g, kern)
        plan = (kern * (self.ea / r)[:, :, None]).cpu().numpy()
        ok = (err <= tol).tolist()  # NaN and not converged: the reference path decides
        return [p if good else None for p, good in zip(plan, ok)]

    def sinkhorn(self, g: Any, tol: float, iters: int) -> tuple[Any, Any]:
        """:func:`_sinkhorn_stage` on every problem: potential ``g`` and column error after the stage.

        A problem leaves the working batch when it stops (its error reached ``tol``), with the
        potential and the column error of its last iterate; the others iterate on without it.
        """
        torch = self.torch
        g_out, err_out = g.clone(), torch.empty(g.shape[:1], dtype=g.dtype, device=g.device)
        alive = torch.arange(g.shape[0], device=g.device)
        e = self.e[:, None]
        kern = torch.empty_like(self.c)
        _, r = self.kernel(g, kern)
        u = r.reciprocal_().mul_(self.ea)[:, None, :]  # rows exact: the plan u_i K_ij (v = 1) of the first f
        v = torch.ones_like(u)
        err = self.col_error(kern, u)
        for n in range(iters + 1):
            stop = ~(err > tol) if n < iters else torch.ones_like(alive, dtype=torch.bool)
            if bool(stop.any()):  # NaN stops too: the caller sees it in the returned error
                at = alive[stop]
                g_out[at] = g[stop] + e[stop] * torch.log(v[stop][:, 0])
                err_out[at] = self.col_error(kern[stop], u[stop], v[stop])
                if bool(stop.all()):
                    break
                keep = ~stop
                alive, g, e, kern, u, v = alive[keep], g[keep], e[keep], kern[keep], u[keep], v[keep]
            # u and v as (n, 1, k) rows: both products are then row-vector times matrix, which
            # the CPU BLAS does much faster than matrix times column
            v = torch.bmm(u, kern).reciprocal_().mul_(self.ea)  # the g update
            u_new = torch.bmm(v, kern.mT).reciprocal_().mul_(self.ea)  # the f update
            # exp((f - f_new)/eps) - 1: the row error of the plan before the f update
            err = u.div_(u_new).sub_(1.0).abs_().amax(-1)[:, 0]
            u = u_new
            if n % 50 == 49:
                err = torch.maximum(err, self.col_error(kern, u, v))
        return g_out, err_out

    def newton(self, g: Any, tol: float, iters: int) -> tuple[Any, Any]:
        """:func:`_newton_semidual` on every problem; problems leave the batch as they finish."""
        torch = self.torch
        g_out, err_out = g.clone(), torch.full(g.shape[:1], float("nan"), dtype=g.dtype, device=g.device)
        alive = torch.arange(g.shape[0], device=g.device)
        prob, kern, spare = self, torch.empty_like(self.c), torch.empty_like(self.c)
        m, r = prob.kernel(g, kern)
        obj = prob.semidual(g, m, r)
        for _ in range(iters):
            kern.div_(r[:, :, None])  # row softmax s: P = a s
            col = self.ea * kern.sum(1)
            err = (col / self.ea - 1.0).abs().amax(-1)
            done = err <= tol
            if bool(done.any()):
                g_out[alive[done]], err_out[alive[done]] = g[done], err[done]
                if bool(done.all()):
                    return g_out, err_out
                keep = ~done
                prob, alive, g, kern, spare = prob._take(keep), alive[keep], g[keep], kern[keep], spare[keep]
                obj, col, err = obj[keep], col[keep], err[keep]
            step = prob._newton_step(kern, spare, col)
            t = torch.ones_like(obj)
            pending = torch.ones_like(alive, dtype=torch.bool)
            failed = torch.zeros_like(pending)
            while bool(pending.any()):
                g_try = g + t[:, None] * step
                m, r = prob.kernel(g_try, spare)
                obj_try = prob.semidual(g_try, m, r)
                ok = obj_try >= obj
                # near the optimum the objective no longer resolves the ascent: accept a step that
                # still reduces the marginal error without a visible loss in objective
                near = pending & ~ok & (obj_try >= obj - 1e-13 * obj.abs())
                if bool(near.any()):
                    ok = ok | (near & (prob.col_error(spare, self.ea / r) < err))
                pending = pending & ~ok
                t = torch.where(pending, t * 0.5, t)
                gave_up = pending & (t < 1e-8)  # no ascent direction left at this precision
                failed, pending = failed | gave_up, pending & ~gave_up
            if bool(failed.any()):
                # returned at the current g with the column error of its plan, as by sinkhorn_log
                g_out[alive[failed]], err_out[alive[failed]] = g[failed], err[failed]
                if bool(failed.all()):
                    return g_out, err_out
                keep = ~failed
                prob, alive, g_try, spare, obj_try, r = (
                    prob._take(keep),
                    alive[keep],
                    g_try[keep],
                    spare[keep],
                    obj_try[keep],
                    r[keep],
                )
                kern = kern[keep]
            g, obj = g_try, obj_try
            kern, spare = spare, kern  # the kernel at the accepted step starts the next iteration
        g_out[alive] = g
        err_out[alive] = prob.col_error(kern, self.ea / r)
        return g_out, err_out

    def _newton_step(self, s: Any, work: Any, col: Any) -> Any:
        """Newton direction on the semi-dual: the shifted Laplacian system of :func:`_newton_semidual`."""
        torch = self.torch
        lap = torch.bmm(s.mT, s).mul_(-self.ea)  # -W, W = s^T diag(a) s (its diagonal is replaced)
        # diagonal sum_i a_i s_ij (1 - s_ij) with 1 - s_ij = sum of the row's other entries, as
        # _others forms it: total - s_ij loses digits only for an entry near 1, and only the
        # row's dominant entry can exceed 1/2; for it the others are summed directly
        big = s > 0.5
        others = work.copy_(s).masked_fill_(big, 0.0).sum(-1, keepdim=True)
        torch.sub(s.sum(-1, keepdim=True), s, out=work)
        diag = torch.where(big, others, work, out=work).mul_(s).sum(1).mul_(self.ea)
        shift = 1e-14 * torch.clamp(diag.sum(-1) / self.k, min=1e-300) + 1e-300
        lap.diagonal(dim1=-2, dim2=-1).copy_(diag + shift[:, None])
        grad = self.ea - col
        if lap.device.type == "cpu":
            # one system at a time: as fast per system on the CPU, and the batched CPU LU of
            # torch 2.13 (MKL) fails (DLASWP parameter errors, then a hang) when torch runs more
            # threads than MKL_NUM_THREADS / OMP_NUM_THREADS allow
            step = torch.stack([torch.linalg.solve_ex(a, b)[0] for a, b in zip(lap, grad)])
        else:
            step, _ = torch.linalg.solve_ex(lap, grad)
        return step * self.e[:, None]


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


COUPLINGS: dict[str, Coupling] = {
    "condot": independent_coupling,
    "batchot": batch_ot_coupling,
    "batcheot": batch_eot_coupling,
    "stable": stable_coupling,
}


def off_by_one_pairing(coupling: Coupling) -> Coupling:
    """A single fault for negative controls: ``coupling``'s pairing read one row off.

    ``x0[i]`` is paired with the partner of ``x0[i+1]`` (cyclically), ``x1[j(i+1)]``, instead of
    ``x1[j(i)]``: an indexing mistake that keeps both marginals and every point once, but not the
    coupling's geometry. The points of a batch are i.i.d., so ``x0[i]`` and ``x0[i+1]``'s partner
    are nearly independent, and the arm trained on it is a model of its own (other pairs), so an ordering
    against CondOT is not forced to fail by identical arms. (Measured: the off-by-one Stable arm still has a
    variance proxy 0.8% below CondOT's, t = 9.8 over 5 seeds, so Stable's control shuffles its partners
    instead, :func:`shuffled_pairing`; the inverse permutation is no fault either: its fixed points
    and 2-cycles keep their true partners.)
    """

    def off_by_one(x0: Any, x1: Any, rng: np.random.Generator | None = None, **kwargs: Any) -> np.ndarray:
        return np.roll(coupling(x0, x1, rng, **kwargs), -1)

    off_by_one.__name__ = f"off_by_one_{coupling.__name__}"
    return off_by_one


def shuffled_pairing(coupling: Coupling) -> Coupling:
    """A single fault for negative controls: ``coupling``'s partners handed out in a random order.

    The pairing is computed and then applied through a uniformly random permutation (from the
    coupling's own stream), so ``x0[i]`` receives the partner of a random other point: the pairs are
    independent in law, like CondOT's, but not the same pairs, and both marginals are kept.
    """

    def shuffled(x0: Any, x1: Any, rng: np.random.Generator | None = None, **kwargs: Any) -> np.ndarray:
        if rng is None:
            raise ValueError("a shuffled pairing needs the coupling's random stream (rng)")
        j = np.asarray(coupling(x0, x1, rng, **kwargs))
        return j[rng.permutation(j.size)]

    shuffled.__name__ = f"shuffled_{coupling.__name__}"
    return shuffled


FAULTY_COUPLINGS: dict[str, Coupling] = {
    "batchot-off-by-one": off_by_one_pairing(batch_ot_coupling),
    "stable-shuffled": shuffled_pairing(stable_coupling),
}
"""Couplings with one deliberate fault, trained only by the negative controls of the learned claims."""


# --------------------------------------------------------------------------------------------
# applying a pairing
# --------------------------------------------------------------------------------------------


def get_coupling(coupling: str | Coupling) -> Coupling:
    """A coupling function from its name in :data:`COUPLINGS` or the function itself."""
    if callable(coupling):
        return coupling
    if coupling in FAULTY_COUPLINGS:
        return FAULTY_COUPLINGS[coupling]
    if coupling not in COUPLINGS:
        raise ValueError(f"unknown coupling {coupling!r}; choose from {', '.join(COUPLINGS)}")
    return COUPLINGS[coupling]


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


def pair(
    x0: Any, x1: Any, coupling: str | Coupling, rng: np.random.Generator | None = None, **kwargs: Any
) -> tuple[Any, Any]:
    """Paired batches ``(x0[i], x1[j])`` for training with the given coupling.

    Parameters
    ----------
    x0, x1 : ndarray or torch.Tensor, shape (k, ...)
        Same type out as in (torch tensors keep their device, dtype and autograd graph).
    coupling : str or callable
        A name in :data:`COUPLINGS` or a coupling function.
    rng : numpy.random.Generator, optional
        Needed by random couplings (BatchEOT).
    **kwargs
        Passed to the coupling (``eps_rel``, ``sampling``, ``proposer``).

    Returns
    -------
    x0_paired, x1_paired
    """
    fn = get_coupling(coupling)
    idx = fn(x0, x1, rng, **kwargs)
    i, j = pair_indices(idx, int(np.shape(x0)[0]) if not hasattr(x0, "detach") else int(x0.shape[0]))
    if hasattr(x0, "detach"):
        import torch

        ti = torch.as_tensor(i, dtype=torch.long, device=x0.device)
        tj = torch.as_tensor(j, dtype=torch.long, device=x1.device)
        return x0[ti], x1[tj]
    return np.asarray(x0)[i], np.asarray(x1)[j]


def blockwise_pair(
    x0: np.ndarray,
    x1: np.ndarray,
    coupling: str,
    k: int,
    rng: np.random.Generator,
    *,
    device: Any = None,
    **coupling_kwargs: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Paired minibatch, the coupling :func:`pair` solved in blocks of ``k``.

    The blocks are paired in order, each drawing from ``rng`` as :func:`pair` would; BatchEOT
    solves the plans of all blocks at once (:func:`batch_eot_pairings`, same pairs as block by
    block).

    Parameters
    ----------
    x0, x1 : ndarray, shape (B, d)
        Noise and data of one minibatch (or of several, one after the other); ``B`` must be a
        multiple of ``k``.
    coupling : str
        A key of :data:`COUPLINGS`.
    k : int
        Coupling block size (``k = 1``: independent pairs).
    rng : numpy.random.Generator
        For randomised couplings (BatchEOT sampling).
    device : str or torch.device, optional
        Where BatchEOT's plans are solved (:func:`entropic_plans`; ``None``: CUDA when present).

    Returns
    -------
    x0_paired, x1_paired : ndarray, shape (B, d)
        Row ``i`` of both is one pair; pairs never cross a block.
    """
    for name, x in (("x0", x0), ("x1", x1)):
        real_array(x, name, ndim=2)  # refuses complex, object and NaN input (the arrays keep their dtype)
    x0 = np.asarray(x0)
    x1 = np.asarray(x1)
    if x0.shape != x1.shape:
        raise ValueError(f"x0 and x1 must be (B, d) arrays of one shape, got {x0.shape} and {x1.shape}")
    k = integer(k, "k", 1)
    if x0.shape[0] % k:
        raise ValueError(f"block size k={k!r} must be a positive divisor of the batch size {x0.shape[0]}")
    fn = get_coupling(coupling)
    if k == 1:  # a block of one point: the only pairing is the independent one
        return x0, x1
    n = x0.shape[0] // k
    if fn is batch_eot_coupling:
        pairings = batch_eot_pairings(x0.reshape(n, k, -1), x1.reshape(n, k, -1), rng, device=device, **coupling_kwargs)
    elif fn is batch_ot_coupling and set(coupling_kwargs) <= {"solver"}:
        # the blocks of batches checked above: batch_ot_coupling's cost and assignment, block by
        # block, without checking every block again (the same arrays, so the same permutations)
        solver = coupling_kwargs.get("solver", "auto")
        _check_solver(solver)
        dense_guard((k, k), "cost matrix", copies=1 if x0.shape[1] <= _DIRECT_COST_MAX_DIM else 3)
        a, b = x0.astype(np.float64, copy=False), x1.astype(np.float64, copy=False)
        small = _enumerated_assignments(a, b, k) if k <= _ENUMERATE_MAX_K else None
        pairings = (
            small
            if small is not None
            else [
                _optimal_permutation(_cost_matrix(a[s : s + k], b[s : s + k]), a.shape[1], solver)
                for s in range(0, n * k, k)
            ]
        )
    else:
        pairings = [fn(x0[s : s + k], x1[s : s + k], rng, **coupling_kwargs) for s in range(0, n * k, k)]
    offsets = np.arange(n) * k
    if all(np.ndim(p) == 1 for p in pairings):  # permutations (or row draws): every x0 once, in order
        j = np.asarray(pairings)
        if j.shape != (n, k) or not np.issubdtype(j.dtype, np.integer) or j.min() < 0 or j.max() >= k:
            raise ValueError(f"the coupling {coupling!r} returned pairings outside [0, {k}) or of the wrong shape")
        return x0[np.arange(n * k)], x1[(j + offsets[:, None]).ravel()]
    ij = [pair_indices(p, k) for p in pairings]
    i = np.concatenate([b + i for b, (i, _) in zip(offsets, ij)])
    j = np.concatenate([b + j for b, (_, j) in zip(offsets, ij)])
    return x0[i], x1[j]


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


def batch_eot_pairings(
    x0: Any,
    x1: Any,
    rng: np.random.Generator,
    eps_rel: float = 0.05,
    sampling: str = "row",
    *,
    device: Any = None,
    chunk: int | None = None,
) -> list[np.ndarray]:
    """BatchEOT pairings of many batches: ``[batch_eot_coupling(x0[n], x1[n], rng, ...) for n]``.

    The plans are solved together (:func:`entropic_plans`, equal to :func:`entropic_plan` to
    rounding), then the pairs of each batch are drawn from ``rng`` in order by the sampler of
    :func:`batch_eot_coupling`: the same draws as batch by batch (a draw can differ only where a
    uniform falls within the rounding of the plans, about ``1e-13``, of a cumulative sum).

    Parameters
    ----------
    x0, x1 : array_like, shape (n, k, ...)
    rng, eps_rel, sampling : as in :func:`batch_eot_coupling`
    device, chunk : as in :func:`entropic_plans`

    Returns
    -------
    pairings : list of n int arrays, each (k,) or (2, k) as returned by :func:`batch_eot_coupling`
    """
    rng = _check_rng(rng)
    _check_sampling(sampling)
    return [_draw_from_plan(p, rng, sampling) for p in entropic_plans(x0, x1, eps_rel, device=device, chunk=chunk)]


class DeferredBatchEOT:
    """BatchEOT pairings of batches met one at a time in a loop whose generator also draws other
    things (the points of the next batch), solved together at the end.

    :meth:`defer` keeps a batch and advances the generator exactly as :func:`batch_eot_coupling`
    would (the number of draws it takes does not depend on the plan), keeping the generator's
    state at that point; :meth:`pairings` solves every kept plan at once (:func:`entropic_plans`)
    and draws each batch's pairs from its kept state. The result is that of calling
    :func:`batch_eot_coupling` in the loop, with the plans of :func:`entropic_plans` (equal to
    rounding; a draw can differ only where a uniform falls within that rounding of a cumulative
    sum, as for :func:`batch_eot_pairings`).

    Parameters
    ----------
    eps_rel, sampling : as in :func:`batch_eot_coupling`
    device : as in :func:`entropic_plans`
    """

    def __init__(self, eps_rel: float = 0.05, sampling: str = "row", *, device: Any = None) -> None:
        _check_sampling(sampling)
        self.eps_rel = real_scalar(eps_rel, "eps_rel", 0.0, lo_open=True)
        self.sampling, self.device = sampling, device
        self._batches: list[tuple[np.ndarray, np.ndarray, dict[str, Any], type]] = []

    @classmethod
    def of(cls, coupling: Any, **kwargs: Any) -> DeferredBatchEOT | None:
        """The deferred form of ``coupling`` if it is :func:`batch_eot_coupling` (or a
        ``functools.partial`` of it with keyword arguments), else ``None``."""
        if coupling is batch_eot_coupling:
            return cls(**kwargs)
        if isinstance(coupling, functools.partial) and coupling.func is batch_eot_coupling and not coupling.args:
            return cls(**{**coupling.keywords, **kwargs})
        return None

    def defer(self, x0: Any, x1: Any, rng: np.random.Generator) -> None:
        """Keep the batch ``(x0, x1)``; advance ``rng`` past the draws of its pairs."""
        rng = _check_rng(rng)
        a, b = validate_batches(x0, x1)
        state = copy.deepcopy(rng.bit_generator.state)
        k = a.shape[0]
        _draw_from_plan(np.full((k, k), 1.0 / k), rng, self.sampling)  # the same draws, any plan
        self._batches.append((a, b, state, type(rng.bit_generator)))

    def pairings(self) -> list[np.ndarray]:
        """The pairings of the kept batches, in order (as :func:`batch_eot_coupling` returns them)."""
        if not self._batches:
            return []
        plans = entropic_plans(
            np.stack([a for a, *_ in self._batches]),
            np.stack([b for _, b, *_ in self._batches]),
            self.eps_rel,
            device=self.device,
        )
        out = []
        for plan, (_, _, state, bit_generator) in zip(plans, self._batches):
            gen = np.random.Generator(bit_generator())
            gen.bit_generator.state = state
            out.append(_draw_from_plan(plan, gen, self.sampling))
        return out


class CoupledBatchSampler:
    """Draws paired minibatches ``(x0, x1)`` of one coupling from its own seeded streams.

    Noise :math:`x_0\\sim\\mathcal N(0,I)`, data :math:`x_1\\sim q_1` (``target.sample(n, rng)``) and
    the coupling's randomness each come from a separate generator seeded from ``seed``, so the
    same seed gives the same sequence of paired batches regardless of the model being trained.

    **Drawing ahead.** With ``ahead = m`` the next ``m`` minibatches are drawn and coupled in one
    go (BatchEOT: all their blocks in one batched solve, :func:`entropic_plans`, which is what a
    GPU needs to be busy); with ``prefetch`` the next such group is coupled in a background
    thread while the caller uses the current one (the exact BatchOT and Stable solvers release
    the GIL, so they run beside a training step). Either way the sequence of minibatches is the
    one drawn without them: each stream is only read by one thread at a time, in the same order
    (noise, data and coupling streams are separate generators, so drawing several minibatches
    first and coupling them afterwards reads each stream exactly as one minibatch after the
    other does). The streams are then ahead of the minibatches returned so far.

    Parameters
    ----------
    target : object with ``dim`` and ``sample(n, rng)`` (e.g. :class:`numerics.datasets.FlowTarget`)
    batch : int
        Pairs per minibatch (a multiple of ``k``).
    coupling : str
        A key of :data:`COUPLINGS`, solved in blocks of ``k`` (:func:`blockwise_pair`).
    k : int
    seed : int or list of int
    coupling_kwargs : dict
        Passed to the coupling (``eps_rel``, ``sampling`` for BatchEOT).
    ahead : int
        Minibatches drawn and coupled together (default 1; for BatchEOT on a GPU tens, so that
        the batched solve has enough plans).
    prefetch : bool
        Couple the next group in a background thread (default off). Call :meth:`close` (or use
        the sampler as a context manager) to stop it.
    device : str or torch.device, optional
        Where BatchEOT's plans are solved (``None``: CUDA when present, else the CPU).
    """

    STREAM_DATA, STREAM_NOISE, STREAM_COUPLING = 1, 2, 3

    def __init__(
        self,
        target: Any,
        batch: int,
        coupling: str,
        k: int,
        seed: int | list[int],
        coupling_kwargs: dict[str, Any] | None = None,
        *,
        ahead: int = 1,
        prefetch: bool = False,
        device: Any = None,
    ) -> None:
        batch, k = integer(batch, "batch", 1), integer(k, "k", 1)
        if batch % k:
            raise ValueError(f"batch ({batch!r}) must be a positive multiple of the block size k ({k!r})")
        get_coupling(coupling)
        if not isinstance(prefetch, bool):
            raise TypeError(f"prefetch must be True or False, got {prefetch!r}")
        self.target, self.batch, self.coupling, self.k = target, batch, coupling, k
        base = [integer(s, "seed", 0) for s in np.atleast_1d(seed)]
        self.noise_rng = np.random.default_rng([*base, self.STREAM_NOISE])
        self.data_rng = np.random.default_rng([*base, self.STREAM_DATA])
        self.coupling_rng = np.random.default_rng([*base, self.STREAM_COUPLING])
        self.kwargs = dict(coupling_kwargs or {})
        self.ahead, self.prefetch, self.device = integer(ahead, "ahead", 1), prefetch, device
        self._ready: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._pool: Any = None
        self._next: Any = None  # the future of the group being coupled in the background

    def draw(self, batch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One paired minibatch (float64): ``x1[i]`` is the data point coupled to ``x0[i]``.

        ``batch`` other than the sampler's is drawn at once, and only while nothing is drawn
        ahead (otherwise it would take the streams out of order: ``ValueError``).
        """
        if batch is not None and integer(batch, "batch", 1) != self.batch:
            if self._ready or self._next is not None:
                raise ValueError(
                    f"cannot draw a minibatch of {batch} while minibatches of {self.batch} are drawn ahead "
                    "(it would read the random streams out of order); use a separate sampler"
                )
            return self._couple(1, batch)[0]
        if not self._ready:
            self._ready.extend(self._next_group())
        return self._ready.popleft()

    def _next_group(self) -> list[tuple[np.ndarray, np.ndarray]]:
        if not self.prefetch:
            return self._couple(self.ahead, self.batch)
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coupled-batches")
        if self._next is None:
            self._next = self._pool.submit(self._couple, self.ahead, self.batch)
        group = self._next.result()
        # one worker: groups are coupled one after the other, in the order submitted
        self._next = self._pool.submit(self._couple, self.ahead, self.batch)
        return group

    def _couple(self, m: int, b: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """``m`` minibatches of ``b`` pairs: their points drawn in turn, then coupled in one call."""
        points = [
            (self.noise_rng.standard_normal((b, self.target.dim)), self.target.sample(b, self.data_rng))
            for _ in range(m)
        ]
        x0 = np.concatenate([p for p, _ in points])
        x1 = np.concatenate([q for _, q in points])
        a0, a1 = blockwise_pair(x0, x1, self.coupling, self.k, self.coupling_rng, device=self.device, **self.kwargs)
        return [(a0[s : s + b], a1[s : s + b]) for s in range(0, m * b, b)]

    def close(self) -> None:
        """Stop the background thread; the group it was coupling is kept, so the sampler stays usable
        and its sequence unchanged (an error raised there is raised by the next :meth:`draw`)."""
        if self._pool is None:
            return
        self._pool.shutdown(wait=True)
        self._pool = None
        if self._next is not None and self._next.exception() is None:
            self._ready.extend(self._next.result())
            self._next = None

    def __enter__(self) -> CoupledBatchSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
