"""The exact (closed-form) flow-matching field of an empirical target and its posterior weights.

Setting (spec ``gao_li.md`` §1): prior :math:`\\mathcal N(0, I_d)`, target uniform over the ``N``
rows of ``data``, OT conditional path :math:`x_t = t x_1 + \\sigma_t x_0` with
:math:`\\sigma_t = 1-(1-\\sigma_{\\min})t`. The optimal field is a cross-attention of the
queries ``x`` over the data:

.. math::

    w_i(x,t) = \\operatorname{softmax}_i\\Big(\\frac{t}{\\sigma_t^2}\\big(x^\\top x^{(i)}
    - \\tfrac t2\\|x^{(i)}\\|^2\\big)\\Big),\\qquad
    v_t^*(x) = \\frac{\\sum_i w_i x^{(i)} - (1-\\sigma_{\\min})x}{\\sigma_t}.

The logits drop the term :math:`-\\|x\\|^2/(2\\sigma_t^2)` common to every point (it cancels in
the softmax) and factor the positive scale :math:`t/\\sigma_t^2` out of an :math:`O(1)`
bracket: two identical points then get bit-identical logits even when the scale is
:math:`10^{30}`, so a tie is split exactly in half.

Near :math:`t=1` the logits reach :math:`10^{30}` in magnitude. Weights are formed as
:math:`e^{\\ell_i-m}/\\sum_j e^{\\ell_j-m}` with the running maximum :math:`m` (never as
:math:`e^{\\ell_i-\\mathrm{lse}}`: at that scale :math:`m+\\log 2` rounds to :math:`m` and two
tied points would each get weight 1). The mean is accumulated by an online (streaming)
log-sum-exp over chunks of the data: memory :math:`O((M+N)d + M\\cdot\\mathrm{chunk})`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from numerics.integrators import check_tolerances, hermite_dense_semilinear, solve_rows
from numerics.paths import CondOTPath
from theory.validation import dense_guard, integer, real_array, real_scalar

DEFAULT_CHUNK = 512
_EXP_FLOOR = -700.0
# Beyond these magnitudes the squared norms or the logits of the softmax overflow float64 (and
# inf - inf turns every weight into NaN): such inputs are refused up front.
_MAX_NORM = 1e150
_MAX_LOGIT = 1e300


# ----------------------------------------------------------------------------- validation
def _check_sigma_min(sigma_min: float) -> float:
    return CondOTPath(real_scalar(sigma_min, "sigma_min")).sigma_min


def _check_data(data: np.ndarray) -> np.ndarray:
    y = real_array(data, "data")
    if y.ndim != 2:
        raise ValueError(f"data must have shape (N, d), got shape {y.shape}")
    if y.shape[0] == 0:
        raise ValueError("data is empty: need at least one training point")
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


def _check_scales(q_norm: float, y_norm: float, scale: float, t: float) -> None:
    r"""Refuse inputs whose squared norms or logits :math:`(t/\sigma_t^2)(x^\top x^{(i)}-\tfrac t2\|x^{(i)}\|^2)` overflow.

    ``q_norm``, ``y_norm``: largest query and data norms; ``scale``: largest :math:`t/\sigma_t^2`;
    ``t``: largest time.
    """
    if max(q_norm, y_norm) > _MAX_NORM:
        raise ValueError(
            f"point norms up to {max(q_norm, y_norm):.3g} exceed {_MAX_NORM:g}: their squares overflow float64 "
            "and the weights would be NaN; rescale the data (e.g. standardise it)"
        )
    with np.errstate(over="ignore"):
        bound = scale * (q_norm * y_norm + 0.5 * t * y_norm * y_norm)
    if not bound <= _MAX_LOGIT:
        raise ValueError(
            f"the softmax logits (t/sigma_t^2)(x.x_i - t|x_i|^2/2) reach about {bound:.3g} (norms up to "
            f"{max(q_norm, y_norm):.3g}, t/sigma_t^2 up to {scale:.3g}), beyond the float64 range; rescale the data"
        )


def _check_times(t: float | np.ndarray, m: int, sigma_min: float, allow_end: bool) -> tuple[np.ndarray, np.ndarray]:
    tt = real_array(t, "t", finite=False)
    if tt.ndim == 0:
        tt = np.full(m, float(tt))
    elif tt.shape != (m,):
        raise ValueError(f"t must be a scalar or have shape ({m},), got shape {tt.shape}")
    if not np.all(np.isfinite(tt)):
        raise ValueError("t contains NaN or inf")
    if np.any(tt < 0.0) or np.any(tt > 1.0):
        raise ValueError(f"t must lie in [0, 1], got values in [{tt.min()}, {tt.max()}]")
    sig = sigma_t(tt, sigma_min)
    if not allow_end and np.any(sig <= 0.0):
        raise ValueError("t = 1 with sigma_min = 0: the optimal field is singular there (sigma_t = 0)")
    return tt, sig


def sigma_t(t: float | np.ndarray, sigma_min: float = 0.0) -> float | np.ndarray:
    """Standard deviation of the OT conditional path, :math:`\\sigma_t = 1-(1-\\sigma_{\\min})\\,t`
    (:meth:`numerics.paths.CondOTPath.sigma`)."""
    return CondOTPath(sigma_min).sigma(real_array(t, "t"))


# ----------------------------------------------------------------------------- core kernels
def _logit_scale(t: np.ndarray, sig: np.ndarray) -> np.ndarray:
    return t / (sig * sig)


def unique_points(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``data`` with their multiplicities and the row -> distinct-row map.

    Repeated points must share one logit: near :math:`t=1` the logit scale is
    :math:`10^{30}`, and a matrix product may round the same dot product differently in two
    columns, which would hand the whole weight to one copy. Each distinct point enters the
    softmax once, multiplied by its count after the max shift (adding :math:`\\log c` to a
    logit of size :math:`10^{30}` would be lost).
    """
    rows = np.ascontiguousarray(real_array(data, "data", ndim=2, finite=False))
    # Rows compared as raw bytes (one sort of N keys; np.unique(axis=0) is several times slower).
    # The only rows this fails to merge are +0.0 / -0.0 variants, whose logits agree anyway.
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    return rows[first], counts.astype(np.float64), inverse.reshape(-1)


def weighted_mean(
    x: np.ndarray,
    t: np.ndarray,
    sig: np.ndarray,
    data: np.ndarray,
    chunk: int = DEFAULT_CHUNK,
    counts: np.ndarray | None = None,
) -> np.ndarray:
    """Posterior mean :math:`\\bar x_w=\\sum_i w_i x^{(i)}` by a streaming max-shifted softmax.

    Low-level kernel without validation: ``x`` (M, d), ``t`` and ``sig`` (M,) with
    ``sig > 0`` (``sig`` is passed separately so that callers integrating in
    :math:`\\tau=-\\ln\\sigma_t` keep :math:`\\sigma_t=e^{-\\tau}` exact), ``data`` (N, d).
    Memory :math:`O((M+N)d + M\\cdot\\mathrm{chunk})`. ``counts`` (N,) are multiplicities of
    the (distinct) rows of ``data`` (see :func:`unique_points`); ``None`` means all ones.
    Only the dtypes are checked (complex or object arrays raise ``TypeError``).
    """
    x, t, sig, data = (real_array(a, n, finite=False) for a, n in ((x, "x"), (t, "t"), (sig, "sig"), (data, "data")))
    m_rows = x.shape[0]
    scale = _logit_scale(t, sig)
    # One product gives the logits: queries carry the row scale t/sigma^2, and an extra
    # coordinate pairs the bias -t^2/(2 sigma^2) with the keys' squared norms.
    queries = np.empty((m_rows, x.shape[1] + 1))
    np.multiply(x, scale[:, None], out=queries[:, :-1])
    queries[:, -1] = -0.5 * t * scale
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


def _weights_kernel(x: np.ndarray, t: np.ndarray, sig: np.ndarray, data: np.ndarray) -> np.ndarray:
    uniq, counts, inverse = unique_points(data)
    has_dups = uniq.shape[0] < data.shape[0]
    pts = uniq if has_dups else data
    sq = np.einsum("ij,ij->i", pts, pts)
    logits = x @ pts.T
    logits -= 0.5 * t[:, None] * sq[None, :]
    logits *= _logit_scale(t, sig)[:, None]
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
def posterior_weights(x: np.ndarray, t: float | np.ndarray, data: np.ndarray, sigma_min: float = 0.0) -> np.ndarray:
    """Posterior weights :math:`w_i(x,t)=p(x_1=x^{(i)}\\mid x_t=x)` of the OT path.

    .. math::

        w_i(x,t)=\\operatorname{softmax}_i\\Big(-\\frac{\\|x-t\\,x^{(i)}\\|^2}{2\\sigma_t^2}\\Big)

    Parameters
    ----------
    x : (M, d) or (d,) array
        Query points.
    t : float or (M,) array
        Times in [0, 1] (one per row allowed). At ``t = 1`` with ``sigma_min = 0`` the weights
        are the limit one-hot on the nearest point(s).
    data : (N, d) array
        Training points as rows.
    sigma_min : float
        :math:`\\sigma_{\\min}\\in[0,1)`.

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
    s = _check_sigma_min(sigma_min)
    y = _check_data(data)
    q, single = _check_queries(x, y.shape[1])
    tt, sig = _check_times(t, q.shape[0], s, allow_end=True)
    dense_guard((q.shape[0], y.shape[0]), "posterior weights", copies=3)
    end = sig <= 0.0
    if np.any(~end):
        scale = float(_logit_scale(tt[~end], sig[~end]).max())
        _check_scales(_max_row_norm(q[~end]), _max_row_norm(y), scale, float(tt[~end].max()))
    out = np.empty((q.shape[0], y.shape[0]))
    if np.any(~end):
        out[~end] = _weights_kernel(q[~end], tt[~end], sig[~end], y)
    if np.any(end):
        out[end] = _nearest_uniform(q[end], y)
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
    x: np.ndarray, t: float | np.ndarray, data: np.ndarray, sigma_min: float = 0.0, chunk: int = DEFAULT_CHUNK
) -> np.ndarray:
    """Closed-form optimal CFM field of an empirical target (Theorem D.1, OT path).

    .. math::

        v_t^*(x)=\\sum_{i=1}^N w_i(x,t)\\,\\frac{x^{(i)}-(1-\\sigma_{\\min})x}{\\sigma_t}
        =\\frac{\\bar x_w-(1-\\sigma_{\\min})x}{\\sigma_t}

    Parameters
    ----------
    x : (M, d) or (d,) array
    t : float or (M,) array in [0, 1] (``t = 1`` only if ``sigma_min > 0``)
    data : (N, d) array of training points (rows)
    sigma_min : float in [0, 1)
    chunk : int
        Data points per block of the streaming softmax (memory ``M * chunk``).

    Returns
    -------
    (M, d) or (d,) float64 array.

    Raises
    ------
    TypeError
        Complex or non-numeric input.
    ValueError
        On NaN/inf, shape mismatch, empty data, ``t`` outside [0, 1], ``sigma_min`` outside
        [0, 1), ``t = 1`` with ``sigma_min = 0``, ``chunk`` not a positive integer, or scales
        whose logits overflow float64 (norms above 1e150, or logits above 1e300).
    DenseSizeError
        If the ``(M, chunk)`` logits block exceeds the dense cap.
    """
    s = _check_sigma_min(sigma_min)
    y = _check_data(data)
    q, single = _check_queries(x, y.shape[1])
    tt, sig = _check_times(t, q.shape[0], s, allow_end=False)
    chunk = integer(chunk, "chunk", 1)
    dense_guard((q.shape[0], min(chunk, y.shape[0])), "logits block", copies=2)
    _check_scales(_max_row_norm(q), _max_row_norm(y), float(_logit_scale(tt, sig).max()), float(tt.max()))
    uniq, counts, _ = unique_points(y)
    v = (weighted_mean(q, tt, sig, uniq, chunk, counts) - (1.0 - s) * q) / sig[:, None]
    return v[0] if single else v


def velocity_in_tau(
    x: np.ndarray, tau: np.ndarray, data: np.ndarray, sigma_min: float, counts: np.ndarray | None = None
) -> np.ndarray:
    """Right-hand side of the flow in the log-time :math:`\\tau=-\\ln\\sigma_t` (spec §1.3).

    .. math::

        \\frac{dx}{d\\tau}=\\frac{\\bar x_w-(1-\\sigma_{\\min})x}{1-\\sigma_{\\min}},\\qquad
        \\sigma_t=e^{-\\tau},\\quad t=\\frac{1-e^{-\\tau}}{1-\\sigma_{\\min}}

    bounded for every :math:`\\tau\\ge 0`. Low-level (no validation): ``x`` (M, d), ``tau`` (M,);
    ``data`` distinct rows with multiplicities ``counts`` (see :func:`unique_points`).
    """
    sig = np.exp(-tau)
    t = -np.expm1(-tau) / (1.0 - sigma_min)
    return weighted_mean(x, t, sig, data, counts=counts) / (1.0 - sigma_min) - x


def time_from_tau(tau: np.ndarray | float, sigma_min: float = 0.0) -> np.ndarray:
    """:math:`t(\\tau)=(1-e^{-\\tau})/(1-\\sigma_{\\min})` (inverse of :func:`tau_from_time`)."""
    return CondOTPath(sigma_min).time_from_tau(tau)


def tau_from_time(t: np.ndarray | float, sigma_min: float = 0.0) -> np.ndarray:
    """:math:`\\tau(t)=-\\ln\\sigma_t`; infinite at ``t = 1`` when ``sigma_min = 0``."""
    return CondOTPath(sigma_min).tau(t)


# ----------------------------------------------------------------------------- torch twin
def optimal_velocity_torch(
    x: torch.Tensor, t: torch.Tensor | float, data: torch.Tensor, sigma_min: float = 0.0
) -> torch.Tensor:
    """PyTorch twin of :func:`optimal_velocity` (differentiable; float64-capable; any device).

    Same logits and max-shifted softmax as the NumPy version (``torch.softmax`` divides by the
    shifted sum), so in float64 the two agree to rounding.

    Parameters
    ----------
    x : (M, d) tensor
    t : float or (M,) tensor, per-row times in [0, 1) (or [0, 1] if ``sigma_min > 0``)
    data : (N, d) tensor of training points (rows), same dtype/device as ``x``
    sigma_min : float in [0, 1)

    Returns
    -------
    (M, d) tensor.
    """
    s = _check_sigma_min(sigma_min)
    for name, v in (("x", x), ("data", data), ("t", t)):
        if isinstance(v, torch.Tensor) and not v.dtype.is_floating_point:
            raise TypeError(f"{name} must be a real floating tensor, got dtype {v.dtype}")
    if not isinstance(t, torch.Tensor):
        t = real_array(t, "t", finite=False)
    if not (isinstance(x, torch.Tensor) and isinstance(data, torch.Tensor)):
        raise TypeError("x and data must be torch tensors (see optimal_velocity for NumPy arrays)")
    if x.ndim != 2 or data.ndim != 2 or x.shape[1] != data.shape[1]:
        raise ValueError(
            f"x must be (M, d) and data (N, d) with the same d, got {tuple(x.shape)} and {tuple(data.shape)}"
        )
    if data.shape[0] == 0:
        raise ValueError("data is empty: need at least one training point")
    tt = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    if tt.ndim == 0:
        tt = tt.expand(x.shape[0])
    elif tt.shape != (x.shape[0],):
        raise ValueError(f"t must be a scalar or have shape ({x.shape[0]},), got {tuple(tt.shape)}")
    sig = (1.0 - tt) + s * tt
    if bool(torch.any(~((sig > 0) & (tt >= 0) & (tt <= 1)))):  # one device sync; NaN times included
        raise ValueError("t must lie in [0, 1], and t = 1 needs sigma_min > 0 (sigma_t = 0 is singular)")
    data = data.to(dtype=x.dtype, device=x.device).detach()
    # Distinct points with multiplicities: see unique_points.
    uniq, counts = torch.unique(data, dim=0, return_counts=True)
    sq = (uniq * uniq).sum(dim=1)
    logits = (x @ uniq.T - 0.5 * tt[:, None] * sq[None, :]) * (tt / (sig * sig))[:, None]
    e = torch.exp(logits - logits.max(dim=1, keepdim=True).values.detach()) * counts.to(x.dtype)[None, :]
    w = e / e.sum(dim=1, keepdim=True)
    return (w @ uniq - (1.0 - s) * x) / sig[:, None]


# ----------------------------------------------------------------------------- integration
TAU_AT_T_ONE = 40.0
"""Log-time at which ``t = 1`` is reached for ``sigma_min = 0``: :math:`\\sigma_t=e^{-40}\\approx
4\\times10^{-18}` is below the float64 resolution of :math:`1-t` (``time_from_tau(40) == 1.0``), and
the remaining distance to the limit point is :math:`e^{-40}\\|x(\\tau_c)-x^{(j)}\\|`."""


@dataclass
class FlowSolution:
    """Integrated exact flow (returned by :func:`integrate_flow` with a path or ``t_eval``).

    Attributes
    ----------
    x_end : (M, d) states at ``t_end``.
    x_eval : (K, M, d) states at the requested ``t_eval`` (hit exactly by the solver).
    t_eval : (K,) the requested times.
    nfev : (M,) field evaluations per trajectory.
    n_accepted, n_rejected : (M,) step counts per trajectory.
    steps : per trajectory ``(tau, x, dx/dtau)`` at the accepted points, if recorded.
    sigma_min, t_end, tau_end : the integration setting.
    """

    x_end: np.ndarray
    x_eval: np.ndarray
    t_eval: np.ndarray
    nfev: np.ndarray
    n_accepted: np.ndarray
    n_rejected: np.ndarray
    steps: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None
    sigma_min: float
    t_end: float
    tau_end: float

    def states_at(self, t_grid: np.ndarray) -> np.ndarray:
        """Dense output: states at ``t_grid`` (K,), shape (K, M, d), interpolated in tau.

        Cubic Hermite interpolation of the exponential step variable (see
        :func:`numerics.integrators.hermite_dense_semilinear`).

        For locating events on a time grid; end points and ``t_eval`` states are never interpolated.
        """
        if self.steps is None:
            raise ValueError("no path recorded: call integrate_flow(..., return_path=True)")
        tg = real_array(t_grid, "t_grid", ndim=(0, 1)).reshape(-1)
        if np.any(tg < 0) or np.any(tg > self.t_end):
            raise ValueError(f"t_grid must lie in [0, t_end={self.t_end}]")
        dense_guard((tg.size, len(self.steps), self.x_end.shape[1]), "dense states")
        tau = np.minimum(tau_from_time(tg, self.sigma_min), self.tau_end)
        out = np.empty((tg.size, len(self.steps), self.x_end.shape[1]))
        for r, (ts, xs, fs) in enumerate(self.steps):
            out[:, r] = hermite_dense_semilinear(ts, xs, fs, tau)
        return out


def _tau_scale(tau: float, sigma_min: float) -> float:
    r"""Logit scale :math:`t/\sigma_t^2` at log-time ``tau`` (increasing in ``tau``)."""
    return float(-np.expm1(-tau) / (1.0 - sigma_min) * np.exp(2.0 * tau))


def _tau_end(t_end: float, sigma_min: float) -> float:
    if sigma_min == 0.0 and t_end == 1.0:
        return TAU_AT_T_ONE
    return float(min(-np.log(float(sigma_t(t_end, sigma_min))), TAU_AT_T_ONE))


def integrate_flow(
    x0: np.ndarray,
    data: np.ndarray,
    sigma_min: float = 0.0,
    t_end: float = 1.0,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    return_path: bool = False,
    t_eval: np.ndarray | None = None,
    max_step: float | None = None,
) -> np.ndarray | FlowSolution:
    """Integrate the exact flow :math:`\\dot x=v_t^*(x)` from ``t = 0`` to ``t_end`` (1 included).

    The ODE is solved in the log-time :math:`\\tau=-\\ln\\sigma_t`, where the right-hand side
    :math:`(\\bar x_w-(1-\\sigma_{\\min})x)/(1-\\sigma_{\\min})` is bounded, by an embedded
    Runge–Kutta 8(5,3) pair (DOP853 coefficients) with one adaptive step per trajectory,
    vectorised over trajectories (:func:`numerics.integrators.solve_rows`). For
    ``sigma_min = 0`` and ``t_end = 1`` the solve runs to :math:`\\tau=40`, where ``t`` equals 1 in
    float64; the end points land on training points by integration (no snapping).

    Parameters
    ----------
    x0 : (M, d) or (d,) array of starting points (prior draws).
    data : (N, d) training points (rows).
    sigma_min : float in [0, 1).
    t_end : float in (0, 1].
    rtol, atol : local error tolerances of the step control.
    return_path : record every accepted step (for :meth:`FlowSolution.states_at`).
    t_eval : optional increasing times in (0, t_end] at which the states are returned (hit exactly).
    max_step : optional bound on the step in tau (accurate dense output between recorded steps;
        without it the tail steps grow to several units of tau).

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
    s = _check_sigma_min(sigma_min)
    y = _check_data(data)
    q, single = _check_queries(x0, y.shape[1])
    te = real_scalar(t_end, "t_end", 0.0, 1.0, lo_open=True)
    rtol, atol, step_cap = check_tolerances(rtol, atol, max_step)
    tau_end = _tau_end(te, s)
    # The trajectories stay in the ball of radius max(|x0|, max|x_i| / (1 - sigma_min)).
    y_norm = _max_row_norm(y)
    _check_scales(max(_max_row_norm(q), y_norm / (1.0 - s)), y_norm, _tau_scale(tau_end, s), te)
    stops = None
    tev = np.zeros(0)
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
        stops = np.minimum(np.array([_tau_end(float(v), s) for v in tev]), tau_end)

    uniq, counts, _ = unique_points(y)

    def forcing(tau: np.ndarray, x: np.ndarray) -> np.ndarray:
        # dx/dtau = forcing - x with forcing = xbar_w / (1 - sigma_min): semilinear form.
        sig = np.exp(-tau)
        t = -np.expm1(-tau) / (1.0 - s)
        return weighted_mean(x, t, sig, uniq, counts=counts) / (1.0 - s)

    sol = solve_rows(
        forcing,
        q,
        0.0,
        tau_end,
        rtol=rtol,
        atol=atol,
        stops=stops,
        record=return_path,
        semilinear=True,
        max_step=step_cap,
    )
    if not return_path and t_eval is None:
        return sol.y_end[0] if single else sol.y_end
    return FlowSolution(
        sol.y_end, sol.y_stops, tev, sol.nfev, sol.n_accepted, sol.n_rejected, sol.steps, s, te, tau_end
    )


def integrate_flow_mp(
    x0: np.ndarray, data: np.ndarray, sigma_min: float = 0.0, t_end: float = 0.9, dps: int = 30
) -> np.ndarray:
    """High-precision reference of :func:`integrate_flow` for one trajectory (mpmath Taylor ``odefun``).

    Solves :math:`dx/d\\tau=(\\bar x_w-(1-\\sigma_{\\min})x)/(1-\\sigma_{\\min})` in ``dps``-digit
    arithmetic with the posterior weights formed by an explicit max-shifted normalisation.
    Meant for low dimension and ``t_end < 1`` (cost grows quickly with ``d`` and ``tau``).

    Returns
    -------
    (d,) float64 array: the state at ``t_end`` rounded to float64.
    """
    import mpmath

    s = _check_sigma_min(sigma_min)
    y = _check_data(data)
    q, single = _check_queries(x0, y.shape[1])
    if not single and q.shape[0] != 1:
        raise ValueError("integrate_flow_mp integrates one trajectory: x0 must have shape (d,)")
    te = real_scalar(t_end, "t_end")
    dps = integer(dps, "dps", 15)
    if not 0.0 < te < 1.0 and not (te == 1.0 and s > 0):
        raise ValueError(f"t_end must lie in (0, 1) (or equal 1 with sigma_min > 0), got {t_end}")
    with mpmath.workdps(dps):
        one = mpmath.mpf(1)
        smin = mpmath.mpf(s)
        pts = [[mpmath.mpf(float(v)) for v in row] for row in y]
        sq = [mpmath.fsum(v * v for v in row) for row in pts]

        def rhs(tau, x):
            sig = mpmath.exp(-tau)
            t = (one - sig) / (one - smin)
            logits = [
                t / sig**2 * (mpmath.fsum(a * b for a, b in zip(x, row)) - t / 2 * sq_i) for row, sq_i in zip(pts, sq)
            ]
            top = max(logits)
            e = [mpmath.exp(v - top) for v in logits]
            z = mpmath.fsum(e)
            mean = [mpmath.fsum(e[i] * pts[i][k] for i in range(len(pts))) / z for k in range(len(x))]
            return [(mean[k] - (one - smin) * x[k]) / (one - smin) for k in range(len(x))]

        sol = mpmath.odefun(rhs, 0, [mpmath.mpf(float(v)) for v in q[0]])
        tau_end = -mpmath.log((one - mpmath.mpf(te)) + smin * mpmath.mpf(te))
        out = sol(tau_end)
        return np.array([float(v) for v in out])
