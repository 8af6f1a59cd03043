r"""A learned velocity field against the exact one: generation, off-subspace integrals, bounds, excess loss.

Spec ``gao_li.md`` §2 "Bounds for learned fields": with :math:`e(t,x)=v_\theta(x,t)-v_t^*(x)`
and :math:`e_\perp=P_\perp e`,

- generation by fixed-step RK4 in :math:`t` (float64 state) or in the log-time
  :math:`\tau=-\ln\sigma_t` (:func:`generate`, :func:`generate_in_tau`);
- the off-subspace norm along paths (:func:`off_subspace_norm_path`);
- the variation-of-constants identity of the off-subspace part (:func:`off_subspace_identity`);
- the pathwise Grönwall bound on the learned-vs-exact distance (:func:`generation_error_bound`);
- the excess CFM loss :math:`\mathbb E_{t,x\sim p_t}\|e\|^2` (:func:`excess_loss`) and sample
  metrics (off-subspace decay, closeness, diversity; :func:`sample_metrics`).

The exact field :math:`v^*` is :func:`numerics.empirical_field.optimal_velocity`. Points are
rows: data ``(N, d)``, states ``(M, d)``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import logsumexp
from torch import nn

from numerics.empirical_field import optimal_velocity
from numerics.integrators import rk4, torch_field
from numerics.nets import as_float64
from numerics.paths import CondOTPath
from numerics.subspace import proper_subspace


def _check_starts(x0: np.ndarray, d: int) -> np.ndarray:
    x = np.asarray(x0, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"starts must have shape (M, {d}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("starts contain NaN or inf")
    return x


def _model_dim(model: nn.Module) -> int:
    dim = getattr(model, "dim", None)
    if dim is None:
        raise ValueError(f"cannot read the dimension of {type(model).__name__}")
    return int(dim)


def generate(model: nn.Module, x0: np.ndarray, steps: int = 500, return_path: bool = False) -> np.ndarray:
    """Samples :math:`x(1)` of a learned field by fixed-step RK4 in :math:`t` (float64 state).

    The model is evaluated in float64 (a copy); ``return_path`` gives ``(steps + 1, M, d)``.
    """
    x = _check_starts(x0, _model_dim(model))
    return rk4(torch_field(as_float64(model)), x, steps, 0.0, 1.0, return_path=return_path)


def generate_in_tau(model: nn.Module, x0: np.ndarray, sigma_min: float, steps: int = 2000) -> np.ndarray:
    r"""Samples :math:`x(1)` by fixed-step RK4 in :math:`\tau=-\ln\sigma_t\in[0,-\ln\sigma_{\min}]`.

    .. math:: \frac{dx}{d\tau}=\frac{\sigma_t}{1-\sigma_{\min}}\,v_\theta(x,t),\qquad
       t=\frac{1-e^{-\tau}}{1-\sigma_{\min}}

    (spec §1.3): the off-subspace rate :math:`(1-\sigma_{\min})/\sigma_t` becomes 1.
    """
    if not 0.0 < sigma_min < 1.0:
        raise ValueError(f"sigma_min must lie in (0, 1) to reach t = 1, got {sigma_min}")
    x = _check_starts(x0, _model_dim(model))
    field = torch_field(as_float64(model))
    a = 1.0 - sigma_min

    def w(y: np.ndarray, tau: float) -> np.ndarray:
        sig = math.exp(-tau)
        t = min(-math.expm1(-tau) / a, 1.0)
        return (sig / a) * field(y, t)

    return rk4(w, x, steps, 0.0, -math.log(sigma_min))


def off_subspace_norm_path(
    model: nn.Module, x0: np.ndarray, basis: np.ndarray, steps: int = 500, records: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\|P_\perp x(t)\|` along generated paths at ``records + 1`` equally spaced times.

    RK4 in :math:`t` with ``steps`` steps in total, run segment by segment so that only the norms
    are kept (memory :math:`O(Md)` even for large :math:`d`).

    Returns
    -------
    times : (records + 1,) array
    norms : (records + 1, M) array
    """
    if steps % records:
        raise ValueError(f"steps ({steps}) must be a multiple of records ({records})")
    u = np.asarray(basis, dtype=np.float64)
    x = _check_starts(x0, u.shape[0])
    field = torch_field(as_float64(model))
    times = np.linspace(0.0, 1.0, records + 1)
    norms = [np.linalg.norm(x - (x @ u) @ u.T, axis=1)]
    for a, b in itertools.pairwise(times):
        x = rk4(field, x, steps // records, float(a), float(b))
        norms.append(np.linalg.norm(x - (x @ u) @ u.T, axis=1))
    return times, np.stack(norms)


@dataclass
class OffSubspaceIdentity:
    r"""Terms of the variation-of-constants identity along each generated path (rows = samples).

    ``integral`` is :math:`\int_0^1\frac{\sigma_{\min}}{\sigma_s}e_\perp(s,x(s))ds` and
    ``norm_integral`` is :math:`\int_0^1\frac{\sigma_{\min}}{\sigma_s}\|e_\perp(s,x(s))\|ds`.
    """

    x1: np.ndarray
    off0: np.ndarray
    off1: np.ndarray
    integral: np.ndarray
    norm_integral: np.ndarray
    sigma_min: float

    @property
    def predicted_off1(self) -> np.ndarray:
        """Right-hand side :math:`\\sigma_{\\min}x_\\perp(0)+\\int\\frac{\\sigma_{\\min}}{\\sigma_s}e_\\perp ds`."""
        return self.sigma_min * self.off0 + self.integral


def off_subspace_identity(
    model: nn.Module,
    x0: np.ndarray,
    data: np.ndarray,
    sigma_min: float,
    steps: int = 2000,
    method: str = "qr",
    kernel_sigma_min: float | None = None,
) -> OffSubspaceIdentity:
    r"""Integrate the learned flow with the identity's integrals as extra state (RK4 in :math:`t`).

    Augmented state :math:`(x, I, J)` with

    .. math::

        \dot x=v_\theta(x,t),\quad
        \dot I=\frac{\sigma_{\min}}{\sigma_t}\,e_\perp(t,x),\quad
        \dot J=\frac{\sigma_{\min}}{\sigma_t}\,\|e_\perp(t,x)\|,\qquad
        e_\perp=P_\perp\big(v_\theta(x,t)-v_t^*(x)\big),

    so :math:`I(1)` and :math:`J(1)` use the same RK4 stages as the path. :math:`v^*` is the
    closed form (:func:`numerics.empirical_field.optimal_velocity`). ``kernel_sigma_min`` replaces
    :math:`\sigma_{\min}` in the kernel :math:`\sigma_{\min}/\sigma_s` only (a deliberately wrong
    kernel for negative controls).
    """
    sub = proper_subspace(data, method=method)
    x = _check_starts(x0, sub.dim)
    d = sub.dim
    field = torch_field(as_float64(model))
    k_s = sigma_min if kernel_sigma_min is None else float(kernel_sigma_min)
    path = CondOTPath(sigma_min)

    def rhs(y: np.ndarray, t: float) -> np.ndarray:
        xs = y[:, :d]
        v = field(xs, t)
        e_off = sub.off(v - optimal_velocity(xs, min(t, 1.0), data, sigma_min))
        kern = k_s / float(path.sigma(t))
        return np.concatenate([v, kern * e_off, kern * np.linalg.norm(e_off, axis=1, keepdims=True)], axis=1)

    y0 = np.concatenate([x, np.zeros_like(x), np.zeros((x.shape[0], 1))], axis=1)
    y1 = rk4(rhs, y0, steps, 0.0, 1.0)
    return OffSubspaceIdentity(y1[:, :d], sub.off(x), sub.off(y1[:, :d]), y1[:, d : 2 * d], y1[:, 2 * d], sigma_min)


@dataclass
class GenerationErrorBound:
    """Learned and exact endpoints from the same starts, the error and the pathwise bound ``b(1)``."""

    x1: np.ndarray
    x1_exact: np.ndarray
    error: np.ndarray
    bound: np.ndarray
    log10_global_bound: np.ndarray


def _global_log_rate_integral(t: np.ndarray, sigma_min: float, diameter: float) -> np.ndarray:
    r""":math:`\Lambda(t)=\int_0^tL_u\,du` for the global one-sided rate of spec fact (d).

    .. math::

        L_t=\frac1{\sigma_t}\Big[\frac{tD_X^2}{4\sigma_t^2}-(1-\sigma_{\min})\Big],\qquad
        \Lambda(t)=\frac{D_X^2}{4a^2}\Big(\frac1{2\sigma_t^2}-\frac1{\sigma_t}+\frac12\Big)+\ln\sigma_t,
        \quad a=1-\sigma_{\min}.
    """
    a = 1.0 - sigma_min
    sig = CondOTPath(sigma_min).sigma(t)
    return diameter**2 / (4.0 * a * a) * (0.5 / sig**2 - 1.0 / sig + 0.5) + np.log(sig)


def generation_error_bound(
    model: nn.Module, x0: np.ndarray, data: np.ndarray, sigma_min: float, steps: int = 2000, rate_shift: float = 0.0
) -> GenerationErrorBound:
    r"""Integrate learned flow, exact flow and the pathwise Grönwall bound jointly (RK4 in :math:`t`).

    .. math::

        \dot x=v_\theta(x,t),\quad \dot x^*=v_t^*(x^*),\quad
        \dot b=\ell(t)\,b+\|e(t,x)\|,\ b(0)=0,\\
        \ell=\frac{\delta^\top(v_t^*(x)-v_t^*(x^*))}{\|\delta\|^2}\ (\ell:=0\text{ at }\delta=0),\quad
        \delta=x-x^*,\quad e=v_\theta-v^* .

    Then :math:`\|x(1)-x^*(1)\|\le b(1)` (spec §2, derived). ``rate_shift`` is added to
    :math:`\ell` (a deliberately wrong rate for negative controls). The rigorous global version
    with :math:`L_t` is returned as :math:`\log_{10}` only (it is astronomically loose).
    """
    y = np.asarray(data, dtype=np.float64)
    d = y.shape[1]
    x = _check_starts(x0, d)
    field = torch_field(as_float64(model))

    def rhs(z: np.ndarray, t: float) -> np.ndarray:
        xs, xe, b = z[:, :d], z[:, d : 2 * d], z[:, 2 * d]
        t = min(t, 1.0)
        v = field(xs, t)
        vs_x = optimal_velocity(xs, t, y, sigma_min)
        vs_e = optimal_velocity(xe, t, y, sigma_min)
        delta = xs - xe
        dd = np.einsum("ij,ij->i", delta, delta)
        num = np.einsum("ij,ij->i", delta, vs_x - vs_e)
        rate = np.divide(num, dd, out=np.zeros_like(dd), where=dd > 0) + rate_shift
        db = rate * b + np.linalg.norm(v - vs_x, axis=1)
        return np.concatenate([v, vs_e, db[:, None]], axis=1)

    z0 = np.concatenate([x, x, np.zeros((x.shape[0], 1))], axis=1)
    path = rk4(rhs, z0, steps, 0.0, 1.0, return_path=True)
    z1 = path[-1]
    # Global bound (reported only): log of int_0^1 exp(Lambda(1) - Lambda(s)) ||e(s, x(s))|| ds by the
    # trapezoid rule on at most ~100 nodes of the RK4 grid (its log10 is ~1e4: a coarse grid suffices).
    stride = max(steps // 100, 1)
    nodes = np.unique(np.append(np.arange(0, steps + 1, stride), steps))
    ts = nodes / steps
    e_norm = np.stack(
        [
            np.linalg.norm(field(path[k][:, :d], t) - optimal_velocity(path[k][:, :d], t, y, sigma_min), axis=1)
            for k, t in zip(nodes, ts)
        ]
    )
    diam = float(np.max(np.linalg.norm(y[:, None, :] - y[None, :, :], axis=-1)))
    lam = _global_log_rate_integral(ts, sigma_min, diam)
    wts = np.zeros(ts.size)
    wts[1:] += 0.5 * np.diff(ts)
    wts[:-1] += 0.5 * np.diff(ts)
    with np.errstate(divide="ignore"):
        logs = (lam[-1] - lam)[:, None] + np.log(e_norm) + np.log(wts)[:, None]
    log10_global = logsumexp(logs, axis=0) / math.log(10.0)
    err = np.linalg.norm(z1[:, :d] - z1[:, d : 2 * d], axis=1)
    return GenerationErrorBound(z1[:, :d], z1[:, d : 2 * d], err, z1[:, 2 * d], log10_global)


# ----------------------------------------------------------------------------------------------
# Excess loss and sample metrics
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExcessLoss:
    r"""Monte Carlo :math:`\mathbb E_{t,x\sim p_t}\|v_\theta-v^*\|^2` and its two orthogonal parts."""

    total: float
    inside: float
    off: float
    se: float
    n: int


def excess_loss(
    model: nn.Module,
    data: np.ndarray,
    sigma_min: float,
    n: int = 8192,
    seed: int | list[int] = 0,
    t_max: float = 0.99,
    method: str = "qr",
) -> ExcessLoss:
    r"""Excess CFM loss of a learned field (spec §2 "Link to the training loss").

    .. math::

        \mathcal L_{\rm CFM}(\theta)-\mathcal L_{\rm CFM}(v^*)=\mathbb E_{t,x\sim p_t}\|v_\theta(x,t)-v_t^*(x)\|^2,

    estimated with ``n`` draws :math:`t\sim U[0,t_{\max}]`, :math:`i\sim U\{1..N\}`,
    :math:`x=tx^{(i)}+\sigma_tx_0`; a fixed ``seed`` gives common random numbers across
    checkpoints. Split into :math:`\|P(\cdot)\|^2` and :math:`\|P_\perp(\cdot)\|^2`.
    """
    y = np.asarray(data, dtype=np.float64)
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    if not 0.0 < t_max <= 1.0:
        raise ValueError(f"t_max must lie in (0, 1], got {t_max}")
    sub = proper_subspace(y, method=method)
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, t_max, n)
    idx = rng.integers(0, y.shape[0], n)
    x0 = rng.standard_normal((n, y.shape[1]))
    x = CondOTPath(sigma_min).sample(x0, y[idx], t)
    m64 = as_float64(model)
    with torch.no_grad():
        v = m64(torch.as_tensor(x), torch.as_tensor(t)).numpy()
    diff = v - optimal_velocity(x, t, y, sigma_min)
    off = sub.off(diff)
    sq_off = np.einsum("ij,ij->i", off, off)
    sq = np.einsum("ij,ij->i", diff, diff)
    return ExcessLoss(
        float(sq.mean()), float((sq - sq_off).mean()), float(sq_off.mean()), float(sq.std(ddof=1) / math.sqrt(n)), n
    )


def nearest_point_distance(x: np.ndarray, data: np.ndarray) -> np.ndarray:
    """:math:`\\min_i\\|x_m-x^{(i)}\\|` for each row ``x_m``."""
    d2 = ((np.asarray(x)[:, None, :] - np.asarray(data)[None, :, :]) ** 2).sum(-1)
    return np.sqrt(d2.min(axis=1))


def median_data_gap(data: np.ndarray) -> float:
    """Median over points of the distance to the nearest other training point."""
    y = np.asarray(data, dtype=np.float64)
    if y.shape[0] < 2:
        raise ValueError("need at least two points for a data gap")
    dist = np.linalg.norm(y[:, None, :] - y[None, :, :], axis=-1)
    np.fill_diagonal(dist, np.inf)
    return float(np.median(dist.min(axis=1)))


@dataclass(frozen=True)
class SampleMetrics:
    r"""Off-subspace decay, closeness and diversity of generated samples.

    ``rho`` = mean :math:`\|x_\perp(1)\|/\|x_\perp(0)\|`; ``off_fraction`` = mean
    :math:`\|x_\perp(1)\|/\|x(1)\|`; ``nn_distance`` = mean nearest-training-point distance;
    ``distinct_fraction`` = fraction of samples farther than 5% of the median data gap from every
    training point (not copies); ``coverage`` = fraction of training points that are the nearest
    point of some sample (diversity).
    """

    rho: float
    off_fraction: float
    nn_distance: float
    distinct_fraction: float
    coverage: float


def sample_metrics(x0: np.ndarray, x1: np.ndarray, data: np.ndarray, method: str = "qr") -> SampleMetrics:
    """Metrics of samples ``x1`` generated from starts ``x0`` (see :class:`SampleMetrics`)."""
    y = np.asarray(data, dtype=np.float64)
    sub = proper_subspace(y, method=method)
    off0 = np.linalg.norm(sub.off(x0), axis=1)
    off1 = np.linalg.norm(sub.off(x1), axis=1)
    nn_d = nearest_point_distance(x1, y)
    nearest = np.argmin(((x1[:, None, :] - y[None, :, :]) ** 2).sum(-1), axis=1)
    gap = median_data_gap(y)
    return SampleMetrics(
        float(np.mean(off1 / off0)),
        float(np.mean(off1 / np.linalg.norm(x1, axis=1))),
        float(nn_d.mean()),
        float(np.mean(nn_d > 0.05 * gap)),
        float(np.unique(nearest).size / y.shape[0]),
    )
