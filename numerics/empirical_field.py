r"""The exact (closed-form) flow-matching field of an empirical target and its posterior weights.

Setting (spec ``gao_li.md`` §1): prior :math:`\mathcal N(0, I_d)`, target uniform over the ``N``
rows of ``data``, an affine Gaussian path :math:`x_t=\alpha_tx_1+\sigma_tx_0`
(:mod:`numerics.paths`; by default the OT path :math:`\alpha_t=t`,
:math:`\sigma_t=1-(1-\sigma_{\min})t`). The optimal field is a cross-attention of the queries
``x`` over the data:

.. math::

    w_i(x,t)=\operatorname{softmax}_i\Big(\frac{\alpha_t}{\sigma_t^2}\big(x^\top x^{(i)}
    -\tfrac{\alpha_t}2\|x^{(i)}\|^2\big)\Big),\qquad
    v_t^*(x)=u_t(x\mid\bar x_w)=\frac{\dot\sigma_t}{\sigma_t}(x-\alpha_t\bar x_w)+\dot\alpha_t\bar x_w,

which is :math:`(\bar x_w-(1-\sigma_{\min})x)/\sigma_t` on the OT path. Every function takes the
path as its ``path`` argument (anything :func:`numerics.paths.as_path` accepts: a number is the OT
path's :math:`\sigma_{\min}`, as is the keyword ``sigma_min=``).

The logits drop the term :math:`-\|x\|^2/(2\sigma_t^2)` common to every point (it cancels in
the softmax) and factor the positive scale :math:`\alpha_t/\sigma_t^2` out of an :math:`O(1)`
bracket: two identical points then get bit-identical logits even when the scale is
:math:`10^{30}`, so a tie is split exactly in half.

Near :math:`t=1` the logits reach :math:`10^{30}` in magnitude. Weights are formed as
:math:`e^{\ell_i-m}/\sum_j e^{\ell_j-m}` with the running maximum :math:`m` (never as
:math:`e^{\ell_i-\mathrm{lse}}`: at that scale :math:`m+\log 2` rounds to :math:`m` and two
tied points would each get weight 1). The mean is accumulated by an online (streaming)
log-sum-exp over chunks of the data: memory :math:`O((M+N)d + M\cdot\mathrm{chunk})`, in NumPy
(:func:`weighted_mean`) and in torch (:func:`weighted_mean_torch`, float64, any device,
differentiable).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch

from numerics.integrators import (
    check_tolerances,
    hermite_dense,
    hermite_dense_semilinear,
    solve_rows,
)
from numerics.paths import CondOTPath, NumericPath, PathLike, as_path
from theory.paths import TAU_AT_T_ONE  # noqa: F401 - public here since the OT-only version
from theory.validation import check_range, dense_guard, integer, real_array, real_scalar

DEFAULT_CHUNK = 512
_EXP_FLOOR = -700.0
# Beyond these magnitudes the squared norms or the logits of the softmax overflow float64 (and
# inf - inf turns every weight into NaN): such inputs are refused up front.
_MAX_NORM = 1e150
_MAX_LOGIT = 1e300


# ----------------------------------------------------------------------------- validation
def _check_sigma_min(sigma_min: float) -> float:
    return CondOTPath(real_scalar(sigma_min, "sigma_min")).sigma_min


def _path(path: PathLike, sigma_min: float | None) -> NumericPath:
    """The numeric path of ``path`` / ``sigma_min`` (a bare number keeps its ``sigma_min`` checks)."""
    if sigma_min is not None:
        sigma_min = real_scalar(sigma_min, "sigma_min")
        if isinstance(path, float) and path == 0.0:  # the positional default: the keyword decides
            path = None
    elif path is None:
        raise TypeError("path must be a path or the OT path's sigma_min (a number), got None")
    elif isinstance(path, int | float | np.floating | np.integer) and not isinstance(path, bool):
        path = real_scalar(path, "sigma_min")
    return as_path(path, sigma_min)


def _check_data(data: np.ndarray) -> np.ndarray:
    y = real_array(data, "data")
    if y.ndim != 2:
        raise ValueError(f"data must have shape (N, d), got shape {y.shape}")
    if y.shape[0] == 0:
        raise ValueError("data is empty: need at least one training point")
    if y.shape[1] == 0:
        raise ValueError("data has d = 0 coordinates: need d >= 1")
    return y


def _check_queries(x: np.ndarray, d: int) -> tuple[np.ndarray, bool]:
    q = real_array(x, "x", finite=False)
    single = q.ndim == 1
    q2 = q[None, :] if single else q
    if q2.ndim != 2 or q2.shape[1] != d:
        raise ValueError(f"x must have shape (M, {d}) or ({d},) to match data, got shape {q.shape}")
    if not np.all(np.isfinite(q2)):
        raise ValueError("x contains NaN or inf")
    return q2, single


def _max_row_norm(a: np.ndarray) -> float:
    """Largest row norm, computed without overflow (inf when it exceeds the float64 range)."""
    top = float(np.abs(a).max()) if a.size else 0.0
    if top == 0.0:
        return 0.0
    with np.errstate(over="ignore"):
        return top * float(np.sqrt(((a / top) ** 2).sum(1).max()))


def _check_scales(q_norm: float, y_norm: float, scale: float, alpha: float) -> None:
    r"""Refuse inputs whose squared norms or logits :math:`(\alpha/\sigma^2)(x^\top x^{(i)}-\tfrac\alpha2\|x^{(i)}\|^2)` overflow.

    ``q_norm``, ``y_norm``: largest query and data norms; ``scale``: largest :math:`\alpha_t/\sigma_t^2`;
    ``alpha``: largest :math:`\alpha_t`.
    """
    if max(q_norm, y_norm) > _MAX_NORM:
        raise ValueError(
            f"point norms up to {max(q_norm, y_norm):.3g} exceed {_MAX_NORM:g}: their squares overflow float64 "
            "and the weights would be NaN; rescale the data (e.g. standardise it)"
        )
    with np.errstate(over="ignore"):
        bound = scale * (q_norm * y_norm + 0.5 * alpha * y_norm * y_norm)
    if not bound <= _MAX_LOGIT:
        raise ValueError(
            f"the softmax logits (alpha_t/sigma_t^2)(x.x_i - alpha_t|x_i|^2/2) reach about {bound:.3g} (norms up to "
            f"{max(q_norm, y_norm):.3g}, alpha_t/sigma_t^2 up to {scale:.3g}), beyond the float64 range; rescale the data"
        )


def _check_times(t: float | np.ndarray, m: int, path: NumericPath, allow_end: bool) -> tuple[np.ndarray, np.ndarray]:
    tt = real_array(t, "t", finite=False)
    if tt.ndim == 0:
        tt = np.full(m, float(tt))
    elif tt.shape != (m,):
        raise ValueError(f"t must be a scalar or have shape ({m},), got shape {tt.shape}")
    if not np.all(np.isfinite(tt)):
        raise ValueError("t contains NaN or inf")
    if np.any(tt < 0.0) or np.any(tt > 1.0):
        raise ValueError(f"t must lie in [0, 1], got values in [{tt.min()}, {tt.max()}]")
    sig = path.sigma(tt)
    if not allow_end and np.any(sig <= 0.0):
        raise ValueError(f"t = 1 on a path with sigma_1 = 0 ({path.label}): the optimal field is singular there")
    return tt, sig


def sigma_t(t: float | np.ndarray, sigma_min: PathLike = 0.0) -> float | np.ndarray:
    """Standard deviation :math:`\\sigma_t` of the path (a number: the OT path,
    :math:`1-(1-\\sigma_{\\min})\\,t`; :meth:`numerics.paths.NumericPath.sigma`)."""
    tt = real_array(t, "t")
    check_range(tt, "t", 0.0, 1.0)
    return _path(sigma_min, None).sigma(tt)


# ----------------------------------------------------------------------------- core kernels
def _logit_scale(alpha: np.ndarray, sig: np.ndarray) -> np.ndarray:
    return alpha / (sig * sig)


def unique_points(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``data`` with their multiplicities and the row -> distinct-row map.

    Repeated points must share one logit: near :math:`t=1` the logit scale is
    :math:`10^{30}`, and a matrix product may round the same dot product differently in two
    columns, which would hand the whole weight to one copy. Each distinct point enters the
    softmax once, multiplied by its count after the max shift (adding :math:`\\log c` to a
    logit of size :math:`10^{30}` would be lost).
    """
    rows = np.ascontiguousarray(real_array(data, "data", ndim=2))  # NaN rows would never merge
    # Rows compared as raw bytes (one sort of N keys; np.unique(axis=0) is several times slower).
    # The only rows this fails to merge are +0.0 / -0.0 variants, whose logits agree anyway.
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    return rows[first], counts.astype(np.float64), inverse.reshape(-1)


def weighted_mean(
    x: np.ndarray,
    alpha: np.ndarray,
    sig: np.ndarray,
    data: np.ndarray,
    chunk: int = DEFAULT_CHUNK,
    counts: np.ndarray | None = None,
) -> np.ndarray:
    """Posterior mean :math:`\\bar x_w=\\sum_i w_i x^{(i)}` by a streaming max-shifted softmax.

    Weights :math:`\\operatorname{softmax}_i(-\\|x-\\alpha x^{(i)}\\|^2/(2\\sigma^2))`. Low-level kernel
    without validation: ``x`` (M, d), ``alpha`` and ``sig`` (M,) with ``sig > 0`` (the path's
    :math:`\\alpha_t` and :math:`\\sigma_t`, passed as values so that callers integrating in
    :math:`\\tau` keep :math:`\\sigma=\\sigma_0e^{-\\tau}` exact), ``data`` (N, d).
    Memory :math:`O((M+N)d + M\\cdot\\mathrm{chunk})`. ``counts`` (N,) are multiplicities of
    the (distinct) rows of ``data`` (see :func:`unique_points`); ``None`` means all ones.
    Only the dtypes are checked (complex or object arrays raise ``TypeError``).
    """
    x, alpha, sig, data = (
        real_array(a, n, finite=False) for a, n in ((x, "x"), (alpha, "alpha"), (sig, "sig"), (data, "data"))
    )
    m_rows = x.shape[0]
    scale = _logit_scale(alpha, sig)
    # One product gives the logits: queries carry the row scale alpha/sigma^2, and an extra
    # coordinate pairs the bias -alpha^2/(2 sigma^2) with the keys' squared norms.
    queries = np.empty((m_rows, x.shape[1] + 1))
    np.multiply(x, scale[:, None], out=queries[:, :-1])
    queries[:, -1] = -0.5 * alpha * scale
    keys = np.empty((data.shape[0], data.shape[1] + 1))
    keys[:, :-1] = data
    keys[:, -1] = np.einsum("ij,ij->i", data, data)
    run_max = np.full(m_rows, -np.inf)
    run_sum = np.zeros(m_rows)
    acc = np.zeros_like(x)
    for start in range(0, data.shape[0], chunk):
        yc = data[start : start + chunk]
        logits = queries @ keys[start : start + chunk].T
        new_max = np.maximum(run_max, logits.max(axis=1))
        # exp(-inf) = 0 on the first chunk; new_max is finite because logits are.
        shrink = np.exp(run_max - new_max)
        logits -= new_max[:, None]
        # exp(-700) ~ 1e-304 is already negligible next to the maximal term 1; clipping there
        # keeps exp on its vectorised path (far-underflowing arguments are several times slower).
        np.maximum(logits, _EXP_FLOOR, out=logits)
        np.exp(logits, out=logits)
        if counts is not None:
            logits *= counts[start : start + chunk][None, :]
        run_sum = run_sum * shrink + logits.sum(axis=1)
        acc *= shrink[:, None]
        acc += logits @ yc
        run_max = new_max
    return acc / run_sum[:, None]


def _weights_kernel(x: np.ndarray, alpha: np.ndarray, sig: np.ndarray, data: np.ndarray) -> np.ndarray:
    uniq, counts, inverse = unique_points(data)
    has_dups = uniq.shape[0] < data.shape[0]
    pts = uniq if has_dups else data
    sq = np.einsum("ij,ij->i", pts, pts)
    logits = x @ pts.T
    logits -= 0.5 * alpha[:, None] * sq[None, :]
    logits *= _logit_scale(alpha, sig)[:, None]
    logits -= logits.max(axis=1, keepdims=True)
    np.maximum(logits, _EXP_FLOOR, out=logits)
    np.exp(logits, out=logits)
    if not has_dups:
        logits /= logits.sum(axis=1, keepdims=True)
        return logits
    logits *= counts[None, :]
    group = logits / logits.sum(axis=1, keepdims=True)
    # A group of c identical points shares its posterior mass equally.
    return group[:, inverse] / counts[inverse][None, :]


# ----------------------------------------------------------------------------- public API
def posterior_weights(
    x: np.ndarray, t: float | np.ndarray, data: np.ndarray, path: PathLike = 0.0, *, sigma_min: float | None = None
) -> np.ndarray:
    """Posterior weights :math:`w_i(x,t)=p(x_1=x^{(i)}\\mid x_t=x)` of the path.

    .. math::

        w_i(x,t)=\\operatorname{softmax}_i\\Big(-\\frac{\\|x-\\alpha_t\\,x^{(i)}\\|^2}{2\\sigma_t^2}\\Big)

    Parameters
    ----------
    x : (M, d) or (d,) array
        Query points.
    t : float or (M,) array
        Times in [0, 1] (one per row allowed). At ``t = 1`` on a path with :math:`\\sigma_1=0`
        the weights are the limit one-hot on the nearest point(s) :math:`\\alpha_1x^{(i)}`.
    data : (N, d) array
        Training points as rows.
    path : path-like
        The path (:func:`numerics.paths.as_path`); a number is the OT path's :math:`\\sigma_{\\min}\\in[0,1)`.
    sigma_min : float, optional
        The OT path's :math:`\\sigma_{\\min}` (keyword form).

    Returns
    -------
    (M, N) or (N,) array of weights summing to one per row.

    Memory: the ``(M, N)`` answer and its temporaries (three arrays of that size), plus
    :math:`O((M+N)d + M\\cdot\\mathrm{chunk})`; the :math:`\\sigma_t=0` rows stream the squared
    distances over blocks of the data (never an ``(M, N, d)`` array).

    Raises
    ------
    TypeError
        Complex or non-numeric input.
    ValueError
        On NaN/inf, shape mismatch, empty data, ``t`` outside [0, 1], ``sigma_min`` outside
        [0, 1), or scales whose logits overflow float64 (norms above 1e150, or logits above 1e300).
    DenseSizeError
        If the ``(M, N)`` answer and its temporaries exceed the dense cap.
    """
    p = _path(path, sigma_min)
    y = _check_data(data)
    q, single = _check_queries(x, y.shape[1])
    tt, sig = _check_times(t, q.shape[0], p, allow_end=True)
    dense_guard((q.shape[0], y.shape[0]), "posterior weights", copies=3)
    end = sig <= 0.0
    alpha = p.alpha(tt)
    if np.any(~end):
        scale = float(_logit_scale(alpha[~end], sig[~end]).max())
        _check_scales(_max_row_norm(q[~end]), _max_row_norm(y), scale, float(alpha[~end].max()))
    out = np.empty((q.shape[0], y.shape[0]))
    if np.any(~end):
        out[~end] = _weights_kernel(q[~end], alpha[~end], sig[~end], y)
    if np.any(end):
        out[end] = _nearest_uniform(q[end], y if p.alpha1 == 1.0 else p.alpha1 * y)
    return out[0] if single else out


def _nearest_uniform(q: np.ndarray, y: np.ndarray, chunk: int = DEFAULT_CHUNK) -> np.ndarray:
    r"""The :math:`\sigma_t=0` limit of the weights: uniform over the nearest data points.

    Squared distances are formed from differences (no cancellation, so ties are exact), over
    blocks of about ``chunk / d`` data points (temporary memory ``M * chunk``). Both sets are
    first multiplied by the same power of two, which is exact and keeps the nearest set, so that
    neither huge (1e155) nor tiny (1e-170) coordinates overflow or underflow the squares.
    """
    top = max(float(np.abs(q).max()), float(np.abs(y).max()))
    if top > 0.0:
        shift = -int(np.frexp(top)[1])
        q, y = np.ldexp(q, shift), np.ldexp(y, shift)
    d2 = np.empty((q.shape[0], y.shape[0]))
    block = max(1, chunk // max(y.shape[1], 1))
    for start in range(0, y.shape[0], block):
        d2[:, start : start + block] = ((q[:, None, :] - y[None, start : start + block, :]) ** 2).sum(-1)
    hit = (d2 == d2.min(axis=1, keepdims=True)).astype(float)
    return hit / hit.sum(axis=1, keepdims=True)


def optimal_velocity(
    x: np.ndarray,
    t: float | np.ndarray,
    data: np.ndarray,
    path: PathLike = 0.0,
    chunk: int = DEFAULT_CHUNK,
    *,
    sigma_min: float | None = None,
) -> np.ndarray:
    """Closed-form optimal CFM field of an empirical target (Theorem D.1) on any affine Gaussian path.

    .. math::

        v_t^*(x)=\\sum_{i=1}^N w_i(x,t)\\,u_t(x\\mid x^{(i)})
        =\\frac{\\dot\\sigma_t}{\\sigma_t}(x-\\alpha_t\\bar x_w)+\\dot\\alpha_t\\bar x_w
        \\quad\\Big(=\\frac{\\bar x_w-(1-\\sigma_{\\min})x}{\\sigma_t}\\text{ on the OT path}\\Big)

    Parameters
    ----------
    x : (M, d) or (d,) array
    t : float or (M,) array in [0, 1] (``t = 1`` only on a path with :math:`\\sigma_1>0`)
    data : (N, d) array of training points (rows)
    path : path-like
        The path (:func:`numerics.paths.as_path`); a number is the OT path's :math:`\\sigma_{\\min}`.
    chunk : int
        Data points per block of the streaming softmax (memory ``M * chunk``).
    sigma_min : float, optional
        The OT path's :math:`\\sigma_{\\min}` (keyword form).

    Returns
    -------
    (M, d) or (d,) float64 array.

    Raises
    ------
    TypeError
        Complex or non-numeric input.
    ValueError
        On NaN/inf, shape mismatch, empty data, ``t`` outside [0, 1], ``sigma_min`` outside
        [0, 1), ``t = 1`` on a path with :math:`\\sigma_1=0`, ``chunk`` not a positive integer, or
        scales whose logits overflow float64 (norms above 1e150, or logits above 1e300);
        :class:`theory.paths.PathError` for an invalid path.
    DenseSizeError
        If the ``(M, chunk)`` logits block exceeds the dense cap.
    """
    p = _path(path, sigma_min)
    y = _check_data(data)
    q, single = _check_queries(x, y.shape[1])
    tt, sig = _check_times(t, q.shape[0], p, allow_end=False)
    chunk = integer(chunk, "chunk", 1)
    dense_guard((q.shape[0], min(chunk, y.shape[0])), "logits block", copies=2)
    alpha = p.alpha(tt)
    _check_scales(_max_row_norm(q), _max_row_norm(y), float(_logit_scale(alpha, sig).max()), float(alpha.max()))
    uniq, counts, _ = unique_points(y)
    v = p.conditional_velocity(q, weighted_mean(q, alpha, sig, uniq, chunk, counts), tt)
    return v[0] if single else v


def velocity_in_tau(
    x: np.ndarray,
    tau: np.ndarray,
    data: np.ndarray,
    path: PathLike = 0.0,
    counts: np.ndarray | None = None,
    *,
    sigma_min: float | None = None,
) -> np.ndarray:
    """Right-hand side of the flow in the log-time :math:`\\tau=-\\ln(\\sigma_t/\\sigma_0)` (spec §1.3).

    .. math::

        \\frac{dx}{d\\tau}=-x+g_t\\bar x_w,\\qquad \\sigma_t=\\sigma_0e^{-\\tau}
        \\quad\\Big(=\\frac{\\bar x_w-(1-\\sigma_{\\min})x}{1-\\sigma_{\\min}}\\text{ on the OT path}\\Big)

    bounded for every :math:`\\tau\\ge\\tau(t_{\\rm switch})` (:mod:`theory.paths`). Low-level (no
    validation): ``x`` (M, d), ``tau`` (M,); ``data`` distinct rows with multiplicities ``counts``
    (see :func:`unique_points`).
    """
    p = _path(path, sigma_min)
    alpha, sig = p.in_tau(tau)
    return p.forcing_in_tau(tau, weighted_mean(x, alpha, sig, data, counts=counts)) - x


def time_from_tau(tau: np.ndarray | float, sigma_min: PathLike = 0.0) -> np.ndarray:
    """:math:`t(\\tau)` of the path (OT: :math:`(1-e^{-\\tau})/(1-\\sigma_{\\min})`; inverse of :func:`tau_from_time`)."""
    return _path(sigma_min, None).time_from_tau(tau)


def tau_from_time(t: np.ndarray | float, sigma_min: PathLike = 0.0) -> np.ndarray:
    """:math:`\\tau(t)=-\\ln(\\sigma_t/\\sigma_0)`; infinite at ``t = 1`` on a path with :math:`\\sigma_1=0`."""
    return _path(sigma_min, None).tau(t)


# ----------------------------------------------------------------------------- torch twin
class ReducedPrecisionWarning(UserWarning):
    """The exact field was evaluated below float64 on request; the message gives the measured error."""


class DistinctPoints(NamedTuple):
    """Distinct training points (rows) and their multiplicities (``None``: every point once)."""

    points: torch.Tensor
    counts: torch.Tensor | None


_HASH_ROWS = 4096


def distinct_points(data: torch.Tensor) -> DistinctPoints:
    """Merge repeated rows of ``data`` (see :func:`unique_points`: repeated points must share one logit).

    Rows are first hashed exactly: their float64 bit patterns times random 64-bit integers,
    summed with wrap-around (exact and independent of the summation order, so identical rows get
    identical hashes on any device), in blocks of rows (memory :math:`O(N+\\text{block}\\cdot d)`).
    Without a repeated hash there is no repeated row and ``data`` is used as it is (no copy);
    otherwise ``torch.unique(dim=0)`` merges them.
    """
    data = data.detach()
    if not bool(torch.isfinite(data).all()):
        raise ValueError("data contains NaN or inf")
    if data.shape[0] < 2:
        return DistinctPoints(data, None)
    gen = torch.Generator(device="cpu").manual_seed(0x6A09E667)
    mult = torch.randint(-(2**62), 2**62, (data.shape[1],), generator=gen, dtype=torch.int64).to(data.device)
    bits = data.to(torch.float64).contiguous()
    hashes = torch.empty(data.shape[0], dtype=torch.int64, device=data.device)
    for start in range(0, data.shape[0], _HASH_ROWS):
        block = bits[start : start + _HASH_ROWS].view(torch.int64)
        hashes[start : start + _HASH_ROWS] = (block * mult).sum(dim=1)
    ordered = torch.sort(hashes).values
    if not bool((ordered[1:] == ordered[:-1]).any()):
        return DistinctPoints(data, None)
    uniq, counts = torch.unique(data, dim=0, return_counts=True)
    return DistinctPoints(uniq, counts.to(data.dtype))


def _torch_chunk(m: int, n: int) -> int:
    # Blocks of about 2^25 logits (256 MiB in float64): large GEMMs, bounded memory.
    return int(max(256, min(n, (1 << 25) // max(m, 1))))


def weighted_mean_torch(
    x: torch.Tensor,
    alpha: torch.Tensor,
    sig: torch.Tensor,
    points: DistinctPoints,
    chunk: int | None = None,
) -> torch.Tensor:
    r"""Torch twin of :func:`weighted_mean`: streaming max-shifted softmax over chunks of the points.

    Logits of a chunk come from one product of the queries :math:`(x\alpha/\sigma^2,\,-\alpha^2/(2\sigma^2))`
    with the keys :math:`(x^{(i)},\|x^{(i)}\|^2)`; a running maximum (not differentiated: the
    softmax does not depend on it) rescales the running sum and the running mean
    (flash-attention style). Memory :math:`O((M+N)d+M\cdot\mathrm{chunk})` without autograd;
    with autograd the chunks' weights are kept for the backward pass. Low level: no validation.
    """
    pts, counts = points
    m, d = x.shape
    n = pts.shape[0]
    chunk = _torch_chunk(m, n) if chunk is None else int(chunk)
    work = torch.promote_types(x.dtype, torch.float32)
    scale = alpha / (sig * sig)
    queries = torch.cat([x * scale[:, None], (-0.5 * alpha * scale)[:, None]], dim=1)
    grad = torch.is_grad_enabled() and queries.requires_grad
    # Keys (x_i, |x_i|^2) as the columns of a (d + 1, chunk) buffer: the product reads them contiguously.
    keys = torch.empty((d + 1, min(chunk, n)), dtype=x.dtype, device=x.device)
    run_max = torch.full((m,), -torch.inf, dtype=work, device=x.device)
    run_sum = torch.zeros(m, dtype=work, device=x.device)
    acc = torch.zeros((m, d), dtype=work, device=x.device)
    for start in range(0, n, chunk):
        yc = pts[start : start + chunk]
        # Autograd keeps each chunk's keys for the backward pass: a fresh tensor then, else one buffer.
        kc = torch.empty_like(keys) if grad else keys
        kc = kc[:, : yc.shape[0]]
        kc[:d] = yc.T
        kc[d] = (yc * yc).sum(dim=1)
        logits = (queries @ kc).to(work)
        new_max = torch.maximum(run_max, logits.detach().amax(dim=1))
        shrink = torch.exp(run_max - new_max)
        # Clipped at exp(-700) ~ 1e-304 as in weighted_mean: below it exp returns subnormals, which are
        # negligible next to the top term 1 but slow every later product tens of times.
        if grad:
            e = torch.exp((logits - new_max[:, None]).clamp(min=_EXP_FLOOR))
            if counts is not None:
                e = e * counts[start : start + chunk].to(work)
            run_sum = run_sum * shrink + e.sum(dim=1)
            acc = acc * shrink[:, None] + e.to(x.dtype) @ yc
        else:
            e = logits.sub_(new_max[:, None]).clamp_(min=_EXP_FLOOR).exp_()
            if counts is not None:
                e.mul_(counts[start : start + chunk].to(work))
            run_sum.mul_(shrink).add_(e.sum(dim=1))
            acc.mul_(shrink[:, None]).add_((e.to(x.dtype) @ yc).to(work))
        run_max = new_max
    return (acc / run_sum[:, None]).to(x.dtype)


def _reduced_precision_error(
    x: torch.Tensor, t: torch.Tensor, points: DistinctPoints, path: NumericPath, got: torch.Tensor, rows: int = 256
) -> float:
    """Max relative error of ``got`` (reduced precision) against the float64 field on up to ``rows`` rows."""
    k = min(rows, x.shape[0])
    p64 = DistinctPoints(
        points.points.to(dtype=torch.float64, device=x.device),
        None if points.counts is None else points.counts.to(dtype=torch.float64, device=x.device),
    )
    with torch.no_grad():
        ref = _velocity_torch(x[:k].double(), t[:k].double(), p64, path, None)
        err = (got[:k].double() - ref).norm(dim=1) / ref.norm(dim=1).clamp_min(torch.finfo(torch.float64).tiny)
    return float(err.max())


def _velocity_torch(
    x: torch.Tensor, tt: torch.Tensor, points: DistinctPoints, path: NumericPath, chunk: int | None
) -> torch.Tensor:
    alpha, sig = path.alpha(tt), path.sigma(tt)
    return path.conditional_velocity(x, weighted_mean_torch(x, alpha, sig, points, chunk), tt)


def optimal_velocity_torch(
    x: torch.Tensor,
    t: torch.Tensor | float,
    data: torch.Tensor | DistinctPoints,
    path: PathLike = 0.0,
    *,
    sigma_min: float | None = None,
    chunk: int | None = None,
    allow_reduced_precision: bool = False,
) -> torch.Tensor:
    """PyTorch twin of :func:`optimal_velocity` (any path, any device, differentiable in ``x``).

    Streams over chunks of the data with a running log-sum-exp (:func:`weighted_mean_torch`):
    memory :math:`O((M+N)d+M\\cdot\\mathrm{chunk})`, so that e.g. :math:`N=10^6`, :math:`d=3072`
    fits one GPU. Repeated points are merged (:func:`distinct_points`; pass a
    :class:`DistinctPoints` to merge once for many calls). In float64 it agrees with the NumPy
    field to rounding.

    Parameters
    ----------
    x : (M, d) tensor (float64 unless ``allow_reduced_precision``)
    t : float or (M,) tensor, per-row times in [0, 1) (or [0, 1] on a path with :math:`\\sigma_1>0`)
    data : (N, d) tensor of training points (rows) or their :class:`DistinctPoints`
    path : path-like (:func:`numerics.paths.as_path`); a number is the OT path's :math:`\\sigma_{\\min}`
    sigma_min : float, optional
        The OT path's :math:`\\sigma_{\\min}` (keyword form).
    chunk : int, optional
        Data points per block (default: about :math:`2^{25}/M`).
    allow_reduced_precision : bool
        Evaluate in the dtype of ``x`` when it is below float64. The logits scale like
        :math:`\\alpha_t/\\sigma_t^2` (:math:`10^{30}` near :math:`t=1`), so float32/bfloat16
        fields can be wrong by O(1); the max relative error against float64 on up to 256 rows is
        measured and reported by a :class:`ReducedPrecisionWarning`.

    Returns
    -------
    (M, d) tensor in the dtype of ``x``.

    Raises
    ------
    TypeError
        Non-tensor or non-floating input.
    ValueError
        Shape mismatch, empty data, times outside [0, 1] (or ``t = 1`` with :math:`\\sigma_1=0`),
        or ``x`` below float64 without ``allow_reduced_precision``.
    """
    p = _path(path, sigma_min)
    points = data if isinstance(data, DistinctPoints) else None
    pts = points.points if points is not None else data
    for name, v in (("x", x), ("data", pts), ("t", t)):
        if isinstance(v, torch.Tensor) and not v.dtype.is_floating_point:
            raise TypeError(f"{name} must be a real floating tensor, got dtype {v.dtype}")
    if not isinstance(t, torch.Tensor):
        t = real_array(t, "t", finite=False)
    if not (isinstance(x, torch.Tensor) and isinstance(pts, torch.Tensor)):
        raise TypeError("x and data must be torch tensors (see optimal_velocity for NumPy arrays)")
    if x.ndim != 2 or pts.ndim != 2 or x.shape[1] != pts.shape[1]:
        raise ValueError(
            f"x must be (M, d) and data (N, d) with the same d, got {tuple(x.shape)} and {tuple(pts.shape)}"
        )
    if pts.shape[0] == 0:
        raise ValueError("data is empty: need at least one training point")
    if x.shape[1] == 0:
        raise ValueError("x and data have d = 0 coordinates: need d >= 1")
    if chunk is not None:
        chunk = integer(chunk, "chunk", 1)
    if not (bool(torch.isfinite(x).all()) and bool(torch.isfinite(pts).all())):
        raise ValueError("x or data contains NaN or inf")
    tt = torch.as_tensor(t, dtype=torch.float64, device=x.device)
    if tt.ndim == 0:
        tt = tt.expand(x.shape[0])
    elif tt.shape != (x.shape[0],):
        raise ValueError(f"t must be a scalar or have shape ({x.shape[0]},), got {tuple(tt.shape)}")
    sig = p.sigma(tt)
    if bool(torch.any(~((sig > 0) & (tt >= 0) & (tt <= 1)))):  # one device sync; NaN times included
        raise ValueError("t must lie in [0, 1], and t = 1 needs a path with sigma_1 > 0 (sigma_t = 0 is singular)")
    alpha = p.alpha(tt)
    _check_scales(
        float(torch.linalg.vector_norm(x.detach().double(), dim=1).max()),
        float(torch.linalg.vector_norm(pts.detach().double(), dim=1).max()),
        float((alpha / (sig * sig)).max()),
        float(alpha.max()),
    )
    reduced = x.dtype != torch.float64
    if reduced and not allow_reduced_precision:
        raise ValueError(
            f"x is {x.dtype}: the exact field is computed in float64 only (its logits scale like alpha_t/sigma_t^2, "
            "up to 1e30, and a float32 or bfloat16 field is wrong by O(1) near t = 1); pass "
            "allow_reduced_precision=True to accept it, and the measured error against float64 is reported"
        )
    if points is None:
        points = distinct_points(pts.to(device=x.device))
    here = DistinctPoints(
        points.points.to(dtype=x.dtype, device=x.device),
        None if points.counts is None else points.counts.to(device=x.device),
    )
    v = _velocity_torch(x, tt.to(x.dtype), here, p, chunk)
    if reduced:
        err = _reduced_precision_error(x.detach(), tt, points, p, v.detach())
        warnings.warn(
            ReducedPrecisionWarning(
                f"exact field in {x.dtype}: max relative error {err:.3g} against float64 "
                f"(on {min(256, x.shape[0])} rows; t up to {float(tt.max()):.6g})"
            ),
            stacklevel=2,
        )
    return v


# ----------------------------------------------------------------------------- integration
@dataclass
class FlowSolution:
    """Integrated exact flow (returned by :func:`integrate_flow` with a path or ``t_eval``).

    Attributes
    ----------
    x_end : (M, d) states at ``t_end``.
    x_eval : (K, M, d) states at the requested ``t_eval`` (hit exactly by the solver).
    t_eval : (K,) the requested times.
    nfev : (M,) field evaluations per trajectory (both phases).
    n_accepted, n_rejected : (M,) step counts per trajectory.
    steps : per trajectory ``(tau, x, dx/dtau)`` at the accepted points of the tau phase, if recorded.
    path : the path (:mod:`numerics.paths`).
    t_end, tau_end : the end of the integration (``t`` and log-time).
    steps_t : per trajectory ``(t, x, dx/dt)`` at the accepted points of the ``t`` phase, if recorded.
    t_switch : where the ``t`` phase ends (0: the whole solve is in tau).
    """

    x_end: np.ndarray
    x_eval: np.ndarray
    t_eval: np.ndarray
    nfev: np.ndarray
    n_accepted: np.ndarray
    n_rejected: np.ndarray
    steps: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None
    path: NumericPath
    t_end: float
    tau_end: float
    steps_t: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
    t_switch: float = 0.0

    @property
    def sigma_min(self) -> float:
        """The OT path's :math:`\\sigma_{\\min}` (``AttributeError`` on another path)."""
        return self.path.sigma_min

    def states_at(self, t_grid: np.ndarray) -> np.ndarray:
        """Dense output: states at ``t_grid`` (K,), shape (K, M, d).

        In the tau phase, cubic Hermite interpolation of the exponential step variable (see
        :func:`numerics.integrators.hermite_dense_semilinear`); in the ``t`` phase, cubic Hermite
        in ``t`` (:func:`numerics.integrators.hermite_dense`).

        For locating events on a time grid; end points and ``t_eval`` states are never interpolated.
        """
        if self.steps is None and self.steps_t is None:
            raise ValueError("no path recorded: call integrate_flow(..., return_path=True)")
        tg = real_array(t_grid, "t_grid", ndim=(0, 1)).reshape(-1)
        if np.any(tg < 0) or np.any(tg > self.t_end):
            raise ValueError(f"t_grid must lie in [0, t_end={self.t_end}]")
        m, d = self.x_end.shape
        dense_guard((tg.size, m, d), "dense states")
        out = np.empty((tg.size, m, d))
        early = tg <= self.t_switch if self.t_switch > 0 else np.zeros(tg.size, dtype=bool)
        if np.any(early):
            for r, (ts, xs, fs) in enumerate(self.steps_t):
                out[early, r] = hermite_dense(ts, xs, fs, tg[early])
        if np.any(~early):
            tau = np.minimum(self.path.tau(tg[~early]), self.tau_end)
            for r, (ts, xs, fs) in enumerate(self.steps):
                out[~early, r] = hermite_dense_semilinear(ts, xs, fs, tau)
        return out


def _tau_end(t_end: float, path: NumericPath) -> float:
    if t_end == 1.0:
        return path.tau_end
    return float(min(float(path.tau(t_end)), path.tau_end))


def integrate_flow(
    x0: np.ndarray,
    data: np.ndarray,
    path: PathLike = 0.0,
    t_end: float = 1.0,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    return_path: bool = False,
    t_eval: np.ndarray | None = None,
    max_step: float | None = None,
    *,
    sigma_min: float | None = None,
) -> np.ndarray | FlowSolution:
    """Integrate the exact flow :math:`\\dot x=v_t^*(x)` from ``t = 0`` to ``t_end`` (1 included).

    The ODE is solved in the log-time :math:`\\tau=-\\ln(\\sigma_t/\\sigma_0)`, where the right-hand
    side :math:`-x+g_t\\bar x_w` is bounded, by an embedded Runge–Kutta 8(5,3) pair (DOP853
    coefficients) with one adaptive step per trajectory, vectorised over trajectories, that
    integrates the linear part exactly (:func:`numerics.integrators.solve_rows`). Before the
    path's switch time (:attr:`theory.paths.AffinePath.t_switch`: 0 on the OT path; 1/3 on the
    cosine path, where :math:`g_t` is infinite at ``t = 0``) the same pair runs in ``t`` on
    :math:`v_t^*` itself. For ``t_end = 1`` on a path with :math:`\\sigma_1=0` the solve runs to
    the path's ``tau_end`` (40 on the OT path), where ``t`` equals 1 in float64; the end points
    land on training points by integration (no snapping).

    Parameters
    ----------
    x0 : (M, d) or (d,) array of starting points (prior draws).
    data : (N, d) training points (rows).
    path : path-like (:func:`numerics.paths.as_path`); a number is the OT path's :math:`\\sigma_{\\min}`.
    t_end : float in (0, 1].
    rtol, atol : local error tolerances of the step control.
    return_path : record every accepted step (for :meth:`FlowSolution.states_at`).
    t_eval : optional increasing times in (0, t_end] at which the states are returned (hit exactly).
    max_step : optional bound on the step in tau (and in ``t`` before the switch; accurate dense
        output between recorded steps; without it the tail steps grow to several units of tau).
    sigma_min : float, optional
        The OT path's :math:`\\sigma_{\\min}` (keyword form).

    Returns
    -------
    ndarray of shape (M, d) or (d,) with the end points when neither ``return_path`` nor
    ``t_eval`` is given, else a :class:`FlowSolution`.

    Raises
    ------
    TypeError
        Complex or non-numeric input.
    ValueError
        NaN/inf, shape mismatch, empty data, ``t_end`` outside (0, 1], ``sigma_min`` outside
        [0, 1), tolerances out of range (:func:`numerics.integrators.check_tolerances`), a
        ``max_step`` too small to reach ``t_end`` within the step cap, ``t_eval`` not increasing
        in (0, t_end], or scales whose logits overflow float64. All checked before any work.
    DenseSizeError
        If the states at ``t_eval`` exceed the dense cap.
    """
    p = _path(path, sigma_min)
    y = _check_data(data)
    q, single = _check_queries(x0, y.shape[1])
    te = real_scalar(t_end, "t_end", 0.0, 1.0, lo_open=True)
    rtol, atol, step_cap = check_tolerances(rtol, atol, max_step)
    ts = min(p.t_switch, te)
    tau_end = _tau_end(te, p)
    tau_s = float(p.tau(ts)) if ts > 0 else 0.0
    if te > ts and not tau_end > tau_s:
        raise ValueError(
            f"t_end = {te:g} is too close to 0: sigma_t does not move from sigma_0 in float64 before it "
            "(the log-time is 0), so there is no flow to integrate; use a larger t_end"
        )
    if te > ts:
        a_end, s_end = (float(v[0]) for v in p.in_tau(np.array([tau_end])))
        g_bound = float(np.max(p.forcing(np.array([ts, float(p.time_from_tau(np.array([tau_end]))[0])]))))
    else:
        a_end, s_end = float(p.alpha(np.array([te]))[0]), float(p.sigma(np.array([te]))[0])
        g_bound = max(abs(p.alpha1), 1.0)
    # The tau-phase trajectories stay in the ball of radius max(|x0|, g max|x_i|).
    y_norm = _max_row_norm(y)
    _check_scales(max(_max_row_norm(q), y_norm * g_bound), y_norm, a_end / (s_end * s_end), a_end)
    tev = np.zeros(0)
    early = np.zeros(0, dtype=bool)
    if t_eval is not None:
        tev = np.atleast_1d(real_array(t_eval, "t_eval", finite=False))
        if (
            tev.ndim != 1
            or np.any(~np.isfinite(tev))
            or np.any(tev <= 0)
            or np.any(tev > te)
            or np.any(np.diff(tev) <= 0)
        ):
            raise ValueError(f"t_eval must be strictly increasing in (0, t_end={te}]")
        early = tev <= ts
    uniq, counts, _ = unique_points(y)

    def field(t: np.ndarray, x: np.ndarray) -> np.ndarray:
        return p.conditional_velocity(x, weighted_mean(x, p.alpha(t), p.sigma(t), uniq, counts=counts), t)

    def forcing(tau: np.ndarray, x: np.ndarray) -> np.ndarray:
        # dx/dtau = forcing - x with forcing = g xbar_w (xbar_w / (1 - sigma_min) on the OT path).
        alpha, sig = p.in_tau(tau)
        return p.forcing_in_tau(tau, weighted_mean(x, alpha, sig, uniq, counts=counts))

    opts = {"rtol": rtol, "atol": atol, "record": return_path, "max_step": step_cap}
    x_start, parts = q, []
    if ts > 0:
        sol_t = solve_rows(field, q, 0.0, ts, stops=tev[early] if early.any() else None, **opts)
        x_start = sol_t.y_end
        parts.append(sol_t)
    if te > ts:
        stops = None
        if (~early).any():
            stops = np.minimum(np.array([_tau_end(float(v), p) for v in tev[~early]]), tau_end)
        parts.append(solve_rows(forcing, x_start, tau_s, tau_end, stops=stops, semilinear=True, **opts))
    x_end = parts[-1].y_end
    if not return_path and t_eval is None:
        return x_end[0] if single else x_end
    sol_tau = parts[-1] if te > ts else None
    return FlowSolution(
        x_end,
        np.concatenate([s.y_stops for s in parts], axis=0),
        tev,
        sum(s.nfev for s in parts),
        sum(s.n_accepted for s in parts),
        sum(s.n_rejected for s in parts),
        None if sol_tau is None else sol_tau.steps,
        p,
        te,
        tau_end,
        parts[0].steps if ts > 0 else None,
        ts,
    )


def _mp_posterior_mean(x: list, alpha: Any, sig: Any, pts: list, sq: list) -> list:
    """:math:`\\bar x_w` in mpmath with an explicit max-shifted normalisation."""
    import mpmath

    logits = [
        alpha / sig**2 * (mpmath.fsum(a * b for a, b in zip(x, row)) - alpha / 2 * sq_i) for row, sq_i in zip(pts, sq)
    ]
    top = max(logits)
    e = [mpmath.exp(v - top) for v in logits]
    z = mpmath.fsum(e)
    return [mpmath.fsum(e[i] * pts[i][k] for i in range(len(pts))) / z for k in range(len(x))]


def integrate_flow_mp(
    x0: np.ndarray,
    data: np.ndarray,
    path: PathLike = 0.0,
    t_end: float = 0.9,
    dps: int = 30,
    *,
    sigma_min: float | None = None,
) -> np.ndarray:
    """High-precision reference of :func:`integrate_flow` for one trajectory (mpmath Taylor ``odefun``).

    On the OT path it solves :math:`dx/d\\tau=(\\bar x_w-(1-\\sigma_{\\min})x)/(1-\\sigma_{\\min})`; on
    another path :math:`dx/dt=u_t(x\\mid\\bar x_w)` in ``t`` with :math:`\\alpha,\\sigma` and their
    derivatives lambdified from SymPy to mpmath — in ``dps``-digit arithmetic with the posterior
    weights formed by an explicit max-shifted normalisation. Meant for low dimension and
    ``t_end < 1`` (cost grows quickly with ``d`` and ``t_end``).

    Returns
    -------
    (d,) float64 array: the state at ``t_end`` rounded to float64.
    """
    import mpmath

    p = _path(path, sigma_min)
    y = _check_data(data)
    q, single = _check_queries(x0, y.shape[1])
    if not single and q.shape[0] != 1:
        raise ValueError("integrate_flow_mp integrates one trajectory: x0 must have shape (d,)")
    te = real_scalar(t_end, "t_end")
    dps = integer(dps, "dps", 15)
    if not 0.0 < te < 1.0 and not (te == 1.0 and p.sigma1 > 0):
        raise ValueError(f"t_end must lie in (0, 1) (or equal 1 on a path with sigma_1 > 0), got {t_end}")
    with mpmath.workdps(dps):
        one = mpmath.mpf(1)
        pts = [[mpmath.mpf(float(v)) for v in row] for row in y]
        sq = [mpmath.fsum(v * v for v in row) for row in pts]
        start = [mpmath.mpf(float(v)) for v in q[0]]
        if isinstance(p, CondOTPath):
            smin = mpmath.mpf(p.sigma_min)

            def rhs(tau: Any, x: list) -> list:
                sig = mpmath.exp(-tau)
                mean = _mp_posterior_mean(x, (one - sig) / (one - smin), sig, pts, sq)
                return [(mean[k] - (one - smin) * x[k]) / (one - smin) for k in range(len(x))]

            end = -mpmath.log((one - mpmath.mpf(te)) + smin * mpmath.mpf(te))
        else:
            f = p.symbolic.functions("mpmath")

            def rhs(t: Any, x: list) -> list:
                alpha, sig, da, ds = f["alpha"](t), f["sigma"](t), f["d_alpha"](t), f["d_sigma"](t)
                mean = _mp_posterior_mean(x, alpha, sig, pts, sq)
                return [ds / sig * (x[k] - alpha * mean[k]) + da * mean[k] for k in range(len(x))]

            end = mpmath.mpf(te)
        out = mpmath.odefun(rhs, 0, start)(end)
        return np.array([float(v) for v in out])
