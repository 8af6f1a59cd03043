"""BatchEOT: pairs drawn from the entropic plan of each batch (spec ``mfm.md`` §1.6).

:func:`entropic_plan` (NumPy, through :func:`numerics.couplings.sinkhorn.sinkhorn_log`) is the
reference the claims check; :func:`entropic_plans` / :func:`batch_eot_pairings` solve many plans
at once in torch (float64, CUDA when present; plans equal to rounding, draws equal), and
:class:`DeferredBatchEOT` does so for a loop that shares its generator with other draws.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np

from numerics.couplings.costs import _check_rng, squared_distances, validate_batches
from numerics.couplings.sinkhorn import (
    _COARSE_ITERS,
    _COARSE_TOL,
    _MIN_TOL,
    _NEWTON_ITERS,
    _WARM_ITERS,
    _eps_floor,
    _eps_schedule,
    _marginal_error,
    sinkhorn_log,
)
from theory.validation import dense_guard, integer, real_array, real_scalar


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
