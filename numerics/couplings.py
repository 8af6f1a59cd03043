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
"""

from __future__ import annotations

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
    with np.errstate(over="ignore", invalid="ignore"):
        if a.shape[1] <= _DIRECT_COST_MAX_DIM:
            c = cdist(a, b, "sqeuclidean")
        else:
            c = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
            c = np.maximum(c, 0.0)  # rounding can make tiny distances negative
    if not np.all(np.isfinite(c)):
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
    if solver not in ("auto", "scipy", "pot"):
        raise ValueError(f"solver must be 'auto', 'scipy' or 'pot', got {solver!r}")
    c = squared_distances(x0, x1)
    k = c.shape[0]
    d = int(np.prod(np.shape(x0)[1:])) if len(np.shape(x0)) > 1 else 1
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
    schedule = [float(eps)]
    if eps_scaling:
        spread = float(c.max() - c.min())
        while schedule[-1] < spread:
            schedule.append(schedule[-1] * 2.0)
        schedule = schedule[::-1]
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
    mean_c = float(c.mean())
    if mean_c == 0.0:  # every point identical: every plan is optimal, take the uniform one
        return np.full((k, k), 1.0 / k)
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
    u = np.full(k, 1.0 / k)
    return k * sinkhorn_log(u, u, c, eps, tol=tol)


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
    if sampling not in ("row", "plan"):
        raise ValueError(f"sampling must be 'row' or 'plan', got {sampling!r}")
    pi = entropic_plan(x0, x1, eps_rel)
    k = pi.shape[0]
    if sampling == "row":
        cdf = np.cumsum(pi, axis=1)
        u = rng.random(k) * cdf[:, -1]
        j = (cdf < u[:, None]).sum(1)
        return np.minimum(j, k - 1)
    flat = pi.ravel() / pi.sum()
    n = rng.choice(k * k, size=k, replace=True, p=flat)
    return np.stack([n // k, n % k])


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
    """Stable: Gale–Shapley matching on squared-distance preferences of both sides.

    Parameters
    ----------
    proposer : {"x0", "x1"}
        Which side proposes. With preferences from one cost matrix and no ties the stable
        matching is unique, so the side does not matter.

    Returns
    -------
    j : ndarray of int, shape (k,)
        A permutation.
    """
    if proposer not in ("x0", "x1"):
        raise ValueError(f"proposer must be 'x0' or 'x1', got {proposer!r}")
    j, _ = gale_shapley(squared_distances(x0, x1), "rows" if proposer == "x0" else "cols")
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


# --------------------------------------------------------------------------------------------
# applying a pairing
# --------------------------------------------------------------------------------------------


def get_coupling(coupling: str | Coupling) -> Coupling:
    """A coupling function from its name in :data:`COUPLINGS` or the function itself."""
    if callable(coupling):
        return coupling
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
    x0: np.ndarray, x1: np.ndarray, coupling: str, k: int, rng: np.random.Generator, **coupling_kwargs: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Paired minibatch, the coupling :func:`pair` solved in blocks of ``k``.

    Parameters
    ----------
    x0, x1 : ndarray, shape (B, d)
        Noise and data of one minibatch; ``B`` must be a multiple of ``k``.
    coupling : str
        A key of :data:`COUPLINGS`.
    k : int
        Coupling block size (``k = 1``: independent pairs).
    rng : numpy.random.Generator
        For randomised couplings (BatchEOT sampling).

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
    get_coupling(coupling)
    if k == 1:  # a block of one point: the only pairing is the independent one
        return x0, x1
    parts = [pair(x0[s : s + k], x1[s : s + k], coupling, rng, **coupling_kwargs) for s in range(0, len(x0), k)]
    return np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts])


class CoupledBatchSampler:
    """Draws paired minibatches ``(x0, x1)`` of one coupling from its own seeded streams.

    Noise :math:`x_0\\sim\\mathcal N(0,I)`, data :math:`x_1\\sim q_1` (``target.sample(n, rng)``) and
    the coupling's randomness each come from a separate generator seeded from ``seed``, so the
    same seed gives the same sequence of paired batches regardless of the model being trained.

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
    ) -> None:
        batch, k = integer(batch, "batch", 1), integer(k, "k", 1)
        if batch % k:
            raise ValueError(f"batch ({batch!r}) must be a positive multiple of the block size k ({k!r})")
        get_coupling(coupling)
        self.target, self.batch, self.coupling, self.k = target, batch, coupling, k
        base = [integer(s, "seed", 0) for s in np.atleast_1d(seed)]
        self.noise_rng = np.random.default_rng([*base, self.STREAM_NOISE])
        self.data_rng = np.random.default_rng([*base, self.STREAM_DATA])
        self.coupling_rng = np.random.default_rng([*base, self.STREAM_COUPLING])
        self.kwargs = dict(coupling_kwargs or {})

    def draw(self, batch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One paired minibatch (float64): ``x1[i]`` is the data point coupled to ``x0[i]``."""
        b = self.batch if batch is None else integer(batch, "batch", 1)
        x0 = self.noise_rng.standard_normal((b, self.target.dim))
        x1 = self.target.sample(b, self.data_rng)
        return blockwise_pair(x0, x1, self.coupling, self.k, self.coupling_rng, **self.kwargs)
