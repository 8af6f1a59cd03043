"""ODE integrators: fixed-step solvers for learned fields, and an adaptive pair for the exact flow.

- :func:`euler`, :func:`rk4`: equal steps in ``t`` on batches ``v(x, t)`` with a float64 state
  (spec convention: a model may be evaluated in float32, the state stays float64);
  :func:`torch_field` adapts a torch module to such a field.
- :func:`solve_rows`: an embedded Runge–Kutta 8(5,3) pair with one step size per trajectory,
  vectorised over trajectories.

Stacking many trajectories into one ODE state (``solve_ivp`` on a stacked vector, torchdiffeq,
diffrax) shares one step size, so the hardest trajectory (one near a basin boundary, where the
Jacobian of the exact field grows like :math:`\\mathrm{Cov}_w/\\sigma_t^2`) sets the step of all.
In :func:`solve_rows` every row ``i`` of the state has its own time ``s_i``, step ``h_i`` and error
control; each stage evaluates the field once for all still-running rows at their own times.

The tableau and the 5th/3rd-order error estimators are those of Dormand–Prince DOP853 (Hairer,
Nørsett & Wanner, *Solving ODEs I*, §II.10), taken from SciPy's coefficient module; the error
norm and the step-size controller follow the same reference.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate._ivp import dop853_coefficients as _dop

from theory.validation import dense_guard, integer, real_array, real_scalar

Field = Callable[[np.ndarray, float], np.ndarray]


def torch_field(model: torch.nn.Module, dtype: torch.dtype | None = None) -> Field:
    """Adapter: a torch module ``model(x, t)`` as a NumPy float64 field (no gradients).

    Raises
    ------
    TypeError
        If ``model`` is not a module or evaluates in a complex or non-floating dtype.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    p = next(model.parameters(), None)
    dev = p.device if p is not None else torch.device("cpu")
    dt = dtype or (p.dtype if p is not None else torch.float32)
    if not dt.is_floating_point:
        raise TypeError(f"the field must evaluate in a real floating dtype, got {dt}")

    def v(x: np.ndarray, t: float) -> np.ndarray:
        with torch.no_grad():
            xt = torch.as_tensor(x, dtype=dt, device=dev)
            return model(xt, torch.full((xt.shape[0],), float(t), dtype=dt, device=dev)).double().cpu().numpy()

    return v


def _fixed_step_setup(v: Field, x0: np.ndarray, steps: int, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """Validated float64 start (a copy) and time grid of the fixed-step solvers."""
    if not callable(v):
        raise TypeError(f"the field must be callable, got {type(v).__name__}")
    steps = integer(steps, "steps", 1)
    t0, t1 = real_scalar(t0, "t0"), real_scalar(t1, "t1")
    x = np.array(real_array(x0, "x0"), dtype=np.float64)
    return x, np.linspace(t0, t1, steps + 1)


def euler(v: Field, x0: np.ndarray, steps: int, t0: float = 0.0, t1: float = 1.0) -> np.ndarray:
    """Euler with ``steps`` equal steps (NFE = steps).

    Raises
    ------
    TypeError
        Complex or non-numeric start, non-callable field.
    ValueError
        ``steps`` not an integer >= 1, non-finite times or start.
    """
    x, ts = _fixed_step_setup(v, x0, steps, t0, t1)
    for a, b in itertools.pairwise(ts):
        x = x + (b - a) * v(x, a)
    return x


def rk4_nodes(
    v: Field, x0: np.ndarray, steps: int, t0: float = 0.0, t1: float = 1.0
) -> Iterator[tuple[float, np.ndarray]]:
    """Classical RK4 with ``steps`` equal steps, yielding ``(t_n, x_n)`` at every node ``n = 0..steps``.

    Memory of one state: callers that need the whole path accumulate what they need from the
    yielded states (each is a fresh array). Validation as :func:`euler`.
    """
    x, ts = _fixed_step_setup(v, x0, steps, t0, t1)
    return _rk4_nodes(v, x, ts)


def _rk4_nodes(v: Field, x: np.ndarray, ts: np.ndarray) -> Iterator[tuple[float, np.ndarray]]:
    yield ts[0], x
    for a, b in itertools.pairwise(ts):
        h = b - a
        k1 = v(x, a)
        k2 = v(x + 0.5 * h * k1, a + 0.5 * h)
        k3 = v(x + 0.5 * h * k2, a + 0.5 * h)
        k4 = v(x + h * k3, b)
        x = x + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        yield b, x


def rk4(
    v: Field, x0: np.ndarray, steps: int, t0: float = 0.0, t1: float = 1.0, return_path: bool = False
) -> np.ndarray:
    """Classical RK4 with ``steps`` equal steps (NFE = 4 steps); optionally the whole path.

    Raises
    ------
    TypeError, ValueError
        Bad field, start, ``steps`` or times, as :func:`euler`.
    DenseSizeError
        ``return_path`` with a path of ``(steps + 1, *x0.shape)`` above the dense cap.
    """
    x, ts = _fixed_step_setup(v, x0, steps, t0, t1)
    if return_path:
        dense_guard((ts.size, *x.shape), "RK4 path")
        return np.stack([xn.copy() for _, xn in _rk4_nodes(v, x, ts)])
    return deque(_rk4_nodes(v, x, ts), maxlen=1)[0][1]  # the last node; one state in memory


RowField = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``f(s, y)``: per-row times ``s`` (M,), states ``y`` (M, d) -> derivatives (M, d)."""

_N_STAGES = _dop.N_STAGES
_A = _dop.A[:_N_STAGES, :_N_STAGES]
_B = _dop.B
_C = _dop.C[:_N_STAGES]
_E3 = _dop.E3
_E5 = _dop.E5
_ERR_EXP = -1.0 / 8.0  # error of the embedded estimate ~ h^8
_SAFETY, _MIN_FACTOR, _MAX_FACTOR = 0.9, 0.2, 10.0


@dataclass
class RowSolution:
    """Result of :func:`solve_rows`.

    Attributes
    ----------
    y_end : (M, d) states at the end times.
    y_stops : (K, M, d) states at the requested stop times (empty if none).
    nfev : (M,) field evaluations spent on each row.
    n_accepted, n_rejected : (M,) step counts.
    steps : list of M tuples ``(s, y, f)`` of accepted points (times (n,), states (n, d),
        derivatives (n, d)) when recorded, else ``None``.
    """

    y_end: np.ndarray
    y_stops: np.ndarray
    nfev: np.ndarray
    n_accepted: np.ndarray
    n_rejected: np.ndarray
    steps: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None


def _rms(a: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(a * a, axis=1))


def _initial_step(
    f: RowField, s: np.ndarray, y: np.ndarray, f0: np.ndarray, rtol: float, atol: float, span: np.ndarray
) -> np.ndarray:
    # Hairer–Wanner starting-step heuristic (Solving ODEs I, §II.4), per row.
    scale = atol + rtol * np.abs(y)
    d0, d1 = _rms(y / scale), _rms(f0 / scale)
    h0 = np.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / np.maximum(d1, 1e-300))
    h0 = np.minimum(h0, span)
    f1 = f(s + h0, y + h0[:, None] * f0)
    d2 = _rms((f1 - f0) / scale) / h0
    big = np.maximum(d1, d2)
    h1 = np.where(big <= 1e-15, np.maximum(1e-6, h0 * 1e-3), (0.01 / np.maximum(big, 1e-300)) ** (1.0 / 8.0))
    return np.minimum(np.minimum(100.0 * h0, h1), span)


MIN_RTOL = 100 * float(np.finfo(np.float64).eps)
"""Smallest accepted ``rtol`` (as SciPy's ``solve_ivp``): below it the error estimate is rounding."""


def check_tolerances(rtol: float, atol: float, max_step: float | None = None) -> tuple[float, float, float]:
    """Validated ``(rtol, atol, max_step)`` of an adaptive solve (``max_step=None`` means no bound: inf).

    Raises
    ------
    TypeError
        Complex, bool or non-numeric values.
    ValueError
        ``rtol`` outside ``[MIN_RTOL, 1)``, ``atol`` not positive and finite, ``max_step`` not
        positive (NaN included).
    """
    rtol = real_scalar(rtol, "rtol", MIN_RTOL, 1.0, hi_open=True)
    atol = real_scalar(atol, "atol", 0.0, lo_open=True)
    cap = np.inf if max_step is None else real_scalar(max_step, "max_step", 0.0, lo_open=True, allow_inf=True)
    return rtol, atol, cap


def solve_rows(
    f: RowField,
    y0: np.ndarray,
    s0: float,
    s_end: float,
    rtol: float = 1e-10,
    atol: float = 1e-12,
    stops: np.ndarray | None = None,
    record: bool = False,
    max_steps: int = 100_000,
    semilinear: bool = False,
    max_step: float = np.inf,
) -> RowSolution:
    """Integrate ``dy/ds = f(s, y)`` row by row from ``s0`` to ``s_end`` with DOP853 step control.

    Each row has its own adaptive step; the stop times (shared by all rows) are hit exactly
    (steps are shortened to land on them), so no interpolation enters ``y_stops``.

    Parameters
    ----------
    f : callable ``f(s, y)`` on row batches (see :data:`RowField`).
    y0 : (M, d) initial states.
    s0, s_end : start and end of the integration variable (``s_end > s0``).
    rtol, atol : local error tolerances (mixed RMS norm per row, as in Hairer–Wanner).
    stops : increasing times in ``(s0, s_end]`` at which to return the states.
    record : keep every accepted point ``(s, y, f)`` of every row (for dense output).
    max_steps : safety cap on the number of vectorised steps.
    semilinear : the ODE is :math:`y'=G(s,y)-y` and ``f`` returns the forcing :math:`G`. Each
        step then integrates, with the same tableau, :math:`z=e^{s-s_n}(y-b)` where
        :math:`b=G(s_n,y_n)` is frozen at the step start (a Lawson-type exponential Runge–Kutta
        step): :math:`z'=e^{s-s_n}(G(s,y)-b)`, and :math:`y=b+e^{-(s-s_n)}z`. The linear decay is
        integrated exactly, so once :math:`G` is constant along the path (the exact flow after
        its posterior has become one-hot) the error estimate vanishes and the steps grow freely.
    max_step : upper bound on every step (for dense output between recorded points).

    Returns
    -------
    RowSolution

    Raises
    ------
    TypeError
        Complex or non-numeric input.
    ValueError
        Bad shapes, NaN/inf states or times, tolerances out of range (:func:`check_tolerances`),
        ``max_steps`` not a positive integer, a ``max_step`` so small that ``max_steps`` steps
        cannot cover ``[s0, s_end]``, stops outside the interval. All checked before any work.
    RuntimeError
        If ``max_steps`` is exceeded or a step size underflows (also when ``f`` returns NaN).
    """
    y, s0, s_end, rtol, atol, max_step, max_steps, stops_arr = _checked_problem(
        y0, s0, s_end, rtol, atol, stops, max_steps, max_step
    )
    m, d = y.shape
    dense_guard((stops_arr.size, m, d), "states at the stop times")
    targets = np.append(stops_arr, s_end) if (not stops_arr.size or stops_arr[-1] < s_end) else stops_arr
    n_stops = stops_arr.size
    y_stops = np.full((n_stops, m, d), np.nan)
    s = np.full(m, float(s0))
    nxt = np.zeros(m, dtype=int)  # index into targets of the next time each row must reach
    fcur = f(s, y)
    nfev = np.ones(m, dtype=int)
    if semilinear:
        h = _initial_step(lambda ss, yy: f(ss, yy) - yy, s, y, fcur - y, rtol, atol, np.full(m, targets[0] - s0))
    else:
        h = _initial_step(f, s, y, fcur, rtol, atol, np.full(m, targets[0] - s0))
    nfev += 1
    n_acc = np.zeros(m, dtype=int)
    n_rej = np.zeros(m, dtype=int)
    rec: list[list] = []
    if record:
        deriv = fcur - y if semilinear else fcur
        rec = [[(s[i], y[i].copy(), deriv[i].copy())] for i in range(m)]
    active = np.arange(m)
    k = np.empty((_N_STAGES + 1, m, d))
    for _ in range(max_steps):
        if active.size == 0:
            break
        sa, ya, ha = s[active], y[active], np.minimum(h[active], max_step)
        target = targets[nxt[active]]
        hit = ha >= target - sa
        ha = np.where(hit, target - sa, ha)
        ka = k[:, : active.size]
        s_new = np.where(hit, target, sa + ha)
        y_new, f_new, decay = _dop853_stages(f, sa, ya, ha, s_new, fcur[active], ka, semilinear)
        nfev[active] += _N_STAGES
        err = _error_norm(ka, ya, y_new, decay, ha, rtol, atol)
        ok = err <= 1.0
        factor = _step_factor(err, ok)
        n_acc[active] += ok
        n_rej[active] += ~ok
        acc_rows = active[ok]
        y[acc_rows] = y_new[ok]
        s[acc_rows] = s_new[ok]
        fcur[acc_rows] = f_new[ok]
        # A step shortened to hit a target keeps the controller's proposal for the next one.
        h[active] = np.where(ok & hit, np.maximum(h[active], ha * factor), ha * factor)
        if not np.all(h[active] >= 1e-14 * np.maximum(1.0, np.abs(sa))):  # NaN steps included
            raise RuntimeError("step size underflow (or a NaN field) in solve_rows")
        _store_reached(acc_rows[hit[ok]], nxt, y, y_stops)
        if record:
            for r in acc_rows:
                rec[r].append((s[r], y[r].copy(), fcur[r] - y[r] if semilinear else fcur[r].copy()))
        active = active[nxt[active] < targets.size]
    else:
        raise RuntimeError(
            f"solve_rows did not finish within its budget of {max_steps} steps: the field is too stiff for "
            f"rtol={rtol:g}, atol={atol:g} (or varies faster than float64 resolves); loosen them or raise max_steps"
        )
    steps = None
    if record:
        steps = [(np.array([p[0] for p in r]), np.array([p[1] for p in r]), np.array([p[2] for p in r])) for r in rec]
    return RowSolution(y, y_stops, nfev, n_acc, n_rej, steps)


def _checked_problem(
    y0: np.ndarray,
    s0: float,
    s_end: float,
    rtol: float,
    atol: float,
    stops: np.ndarray | None,
    max_steps: int,
    max_step: float,
) -> tuple[np.ndarray, float, float, float, float, float, int, np.ndarray]:
    """The arguments of :func:`solve_rows`, validated before any work: ``(y, s0, s_end, rtol, atol,
    max_step, max_steps, stops)`` with ``y`` a float64 copy of ``y0`` and ``stops`` a 1-D array."""
    y = np.array(real_array(y0, "y0", ndim=2), dtype=np.float64)
    s0, s_end = real_scalar(s0, "s0"), real_scalar(s_end, "s_end")
    if not (s_end > s0):
        raise ValueError(f"need s_end > s0, got s0={s0}, s_end={s_end}")
    rtol, atol, max_step = check_tolerances(rtol, atol, max_step)
    max_steps = integer(max_steps, "max_steps", 1)
    if (s_end - s0) / max_step > max_steps:
        raise ValueError(
            f"max_step = {max_step:g} needs at least {(s_end - s0) / max_step:.3g} steps to cover "
            f"[{s0:g}, {s_end:g}], more than max_steps = {max_steps}"
        )
    stops_arr = np.zeros(0) if stops is None else real_array(stops, "stops", ndim=(0, 1)).reshape(-1)
    if stops_arr.size and (np.any(np.diff(stops_arr) <= 0) or stops_arr[0] <= s0 or stops_arr[-1] > s_end):
        raise ValueError("stops must be strictly increasing and lie in (s0, s_end]")
    return y, s0, s_end, rtol, atol, max_step, max_steps, stops_arr


def _dop853_stages(
    f: RowField,
    sa: np.ndarray,
    ya: np.ndarray,
    ha: np.ndarray,
    s_new: np.ndarray,
    f_start: np.ndarray,
    ka: np.ndarray,
    semilinear: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One DOP853 step of the rows ``(sa, ya)`` with steps ``ha``: the stages are written into ``ka``.

    ``f_start`` is ``f`` at the step start; in the semilinear mode (see :func:`solve_rows`) the
    stages are those of :math:`z=e^{s-s_n}(y-b)` with :math:`b` = ``f_start``. Returns the new
    states, ``f`` there and the factor mapping errors of ``z`` to ``y`` (:math:`e^{-h}`; 1 in the
    plain mode).
    """
    if semilinear:
        b = f_start
        z0 = ya - b
        ka[0] = 0.0  # e^0 (G(s_n, y_n) - b) with b = G(s_n, y_n)
        for i in range(1, _N_STAGES):
            dz = np.tensordot(_A[i, :i], ka[:i], axes=(0, 0))
            ch = (_C[i] * ha)[:, None]
            g = f(sa + _C[i] * ha, b + np.exp(-ch) * (z0 + ha[:, None] * dz))
            ka[i] = np.exp(ch) * (g - b)
        decay = np.exp(-ha)[:, None]
        y_new = b + decay * (z0 + ha[:, None] * np.tensordot(_B, ka[:_N_STAGES], axes=(0, 0)))
        f_new = f(s_new, y_new)
        ka[_N_STAGES] = (f_new - b) / decay
    else:
        decay = np.ones((ya.shape[0], 1))
        ka[0] = f_start
        for i in range(1, _N_STAGES):
            dy = np.tensordot(_A[i, :i], ka[:i], axes=(0, 0))
            ka[i] = f(sa + _C[i] * ha, ya + ha[:, None] * dy)
        y_new = ya + ha[:, None] * np.tensordot(_B, ka[:_N_STAGES], axes=(0, 0))
        f_new = f(s_new, y_new)
        ka[_N_STAGES] = f_new
    return y_new, f_new, decay


def _error_norm(
    ka: np.ndarray, ya: np.ndarray, y_new: np.ndarray, decay: np.ndarray, ha: np.ndarray, rtol: float, atol: float
) -> np.ndarray:
    """DOP853's error of each row's step (Hairer–Wanner's 5th/3rd-order combination): accepted at <= 1.

    A NaN estimate (the field returned NaN) is ``inf``: it rejects the step and shrinks it like an
    infinite one, so a field that stays NaN ends in the step-size underflow error.
    """
    d = ya.shape[1]
    scale = atol + rtol * np.maximum(np.abs(ya), np.abs(y_new))
    # Error estimates of z, mapped to y by the exact decay factor (1 in the plain mode).
    err5 = decay * np.tensordot(_E5, ka, axes=(0, 0)) / scale
    err3 = decay * np.tensordot(_E3, ka, axes=(0, 0)) / scale
    e5, e3 = np.sum(err5 * err5, axis=1), np.sum(err3 * err3, axis=1)
    denom = e5 + 0.01 * e3
    err = np.where(denom > 0, ha * e5 / np.sqrt(np.where(denom > 0, denom, 1.0) * d), 0.0)
    return np.where(np.isnan(err), np.inf, err)


def _step_factor(err: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """The controller's factor for the next step: grows at most ``_MAX_FACTOR`` after an accepted step
    and never after a rejected one."""
    with np.errstate(divide="ignore"):
        factor = np.where(err == 0, _MAX_FACTOR, _SAFETY * err**_ERR_EXP)
    return np.where(ok, np.clip(factor, _MIN_FACTOR, _MAX_FACTOR), np.clip(factor, _MIN_FACTOR, 1.0))


def _store_reached(reached: np.ndarray, nxt: np.ndarray, y: np.ndarray, y_stops: np.ndarray) -> None:
    """Rows that landed on their next target: their states at a stop time kept, their next target advanced."""
    n_stops = y_stops.shape[0]
    for r in reached:
        j = nxt[r]
        if j < n_stops:
            y_stops[j, r] = y[r]
        nxt[r] = j + 1


def hermite_dense(s_pts: np.ndarray, y_pts: np.ndarray, dy_pts: np.ndarray, s_query: np.ndarray) -> np.ndarray:
    """Cubic Hermite dense output between recorded points ``(s, y, dy/ds)`` of :func:`solve_rows` (plain mode)."""
    s_pts, y_pts, dy_pts = (real_array(a, n, finite=False) for a, n in ((s_pts, "s"), (y_pts, "y"), (dy_pts, "dy")))
    sq = real_array(s_query, "s_query", finite=False)
    if s_pts.ndim != 1 or s_pts.size < 2 or y_pts.shape[:1] != s_pts.shape or dy_pts.shape != y_pts.shape:
        raise ValueError(
            f"hermite_dense needs at least 2 recorded points with matching y and dy, got s {s_pts.shape}, "
            f"y {y_pts.shape}, dy {dy_pts.shape}"
        )
    j = np.clip(np.searchsorted(s_pts, sq, side="right") - 1, 0, s_pts.size - 2)
    h = (s_pts[j + 1] - s_pts[j])[:, None]
    return _hermite((sq - s_pts[j])[:, None] / h, h, y_pts[j], dy_pts[j], y_pts[j + 1], dy_pts[j + 1])


def _hermite(
    u: np.ndarray, h: np.ndarray, y0: np.ndarray, dy0: np.ndarray, y1: np.ndarray, dy1: np.ndarray
) -> np.ndarray:
    """The cubic with values ``y0, y1`` and slopes ``dy0, dy1`` at ``u = 0, 1`` of a step of length ``h``."""
    h00 = 2 * u**3 - 3 * u**2 + 1
    h10 = u**3 - 2 * u**2 + u
    h01 = -2 * u**3 + 3 * u**2
    h11 = u**3 - u**2
    return h00 * y0 + h10 * h * dy0 + h01 * y1 + h11 * h * dy1


def hermite_dense_semilinear(
    s_pts: np.ndarray, y_pts: np.ndarray, dy_pts: np.ndarray, s_query: np.ndarray
) -> np.ndarray:
    """Dense output matched to the exponential steps of ``solve_rows(..., semilinear=True)``.

    On a step :math:`[s_n,s_{n+1}]` with frozen forcing :math:`b=G_n` (recorded
    :math:`G=y'+y`), the step variable :math:`z=e^{s-s_n}(y-b)` is smooth even when the step is
    long (it is constant once :math:`G` is); it is interpolated by a cubic Hermite polynomial
    and mapped back, :math:`y=b+e^{-(s-s_n)}z`. Exact on the pure-decay tail.
    """
    s_pts, y_pts, dy_pts = (real_array(a, n, finite=False) for a, n in ((s_pts, "s"), (y_pts, "y"), (dy_pts, "dy")))
    sq = real_array(s_query, "s_query", finite=False)
    g_pts = dy_pts + y_pts
    j = np.clip(np.searchsorted(s_pts, sq, side="right") - 1, 0, s_pts.size - 2)
    h = s_pts[j + 1] - s_pts[j]
    b = g_pts[j]
    eh = np.exp(h)[:, None]
    z0 = y_pts[j] - b
    dz0 = np.zeros_like(z0)  # e^0 (G_n - b) with b = G_n
    z1 = eh * (y_pts[j + 1] - b)
    dz1 = eh * (g_pts[j + 1] - b)
    z = _hermite(((sq - s_pts[j]) / h)[:, None], h[:, None], z0, dz0, z1, dz1)
    return b + np.exp(-(sq - s_pts[j]))[:, None] * z
