"""Entropic optimal transport in the log domain (float64): the reference solver :func:`sinkhorn_log`.

Log-sum-exp Sinkhorn iterations with :math:`\\varepsilon`-scaling, finished where they stall by a
damped Newton ascent on the semi-dual, with the float64 limit of the regularisation stated and
enforced (see :func:`sinkhorn_log`). The batched torch path
(:func:`numerics.couplings.entropic.entropic_plans`) follows these steps on many problems at once.
"""

from __future__ import annotations

import numpy as np

from theory.validation import dense_guard, integer, real_array, real_scalar


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
