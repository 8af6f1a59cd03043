r"""A learned velocity field against the exact one: generation, off-subspace integrals, bounds, excess loss.

Spec ``gao_li.md`` §2 "Bounds for learned fields": with :math:`e(t,x)=v_\theta(x,t)-v_t^*(x)`
and :math:`e_\perp=P_\perp e`,

- generation by fixed-step RK4 in :math:`t` or in the log-time :math:`\tau=-\ln\sigma_t`
  (:func:`generate`, :func:`generate_in_tau`), and the off-subspace norm along the paths
  (:func:`off_subspace_norm_path`);
- the variation-of-constants identity of the off-subspace part (:func:`off_subspace_identity`);
- the pathwise Grönwall bound on the learned-vs-exact distance (:func:`generation_error_bound`);
- the excess CFM loss :math:`\mathbb E_{t,x\sim p_t}\|e\|^2` (:func:`excess_loss`) and sample
  metrics (off-subspace decay, closeness, diversity; :func:`sample_metrics`).

Every measurement runs in torch float64 on one device (CUDA when present,
:func:`numerics.training.default_device`, else every CPU thread), with the exact field's torch
twin :func:`numerics.empirical_field.optimal_velocity_torch` on the same device (as a module:
:class:`ExactField`) and no NumPy round trip inside the integration. A *field* is a module
``v(x, t)`` on states ``(..., d)``; a stack of ``K`` checkpoints
(:func:`numerics.nets.stack_checkpoints`, attribute ``stack_size``) integrates the same starts for
every checkpoint as one state ``(K, M, d)``, and every result then carries a leading checkpoint
axis.

The ``*_numpy`` functions are the references: the same integrals with a NumPy float64 state, the
model evaluated one call at a time (:func:`numerics.integrators.torch_field`) and the NumPy exact
field :func:`numerics.empirical_field.optimal_velocity`; tests and the benchmark compare the two.
Points are rows: data ``(N, d)``, starts ``(M, d)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import logsumexp
from torch import nn

from numerics.empirical_field import optimal_velocity, optimal_velocity_torch
from numerics.integrators import rk4, torch_field
from numerics.nets import as_float64, times_like
from numerics.paths import CondOTPath
from numerics.subspace import proper_subspace
from numerics.training import default_device

State = tuple[torch.Tensor, ...]
RHS = Callable[[State, float], State]


# ----------------------------------------------------------------------------------------------
# Fields on a device
# ----------------------------------------------------------------------------------------------
class ExactField(nn.Module):
    r"""The closed-form field :math:`v_t^*` of Theorem D.1 as a module (float64, any device).

    Evaluates :func:`numerics.empirical_field.optimal_velocity_torch` on states of any leading
    shape. ``stack_size`` makes it stand for ``K`` checkpoints (every one the exact field), like a
    stack of :func:`numerics.nets.stack_checkpoints`.
    """

    def __init__(self, data: np.ndarray, sigma_min: float, stack_size: int | None = None) -> None:
        super().__init__()
        y = np.asarray(data, dtype=np.float64)
        self.dim = int(y.shape[1])
        self.sigma_min = float(sigma_min)
        self.register_buffer("data", torch.as_tensor(y))
        if stack_size is not None:
            self.stack_size = int(stack_size)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        tt = times_like(t, x).reshape(-1)
        flat = optimal_velocity_torch(x.reshape(-1, x.shape[-1]), tt, self.data.to(x.dtype), self.sigma_min)
        return flat.reshape(x.shape)


def _module_device(module: nn.Module) -> torch.device:
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        return tensor.device
    return torch.device("cpu")


def evaluation_field(model: nn.Module, device: torch.device | str | None = None) -> nn.Module:
    """``model`` ready for the measurements: float64 on ``device`` (default: the training device).

    A checkpoint stack (float64 by construction) is returned as it is, on its own device.
    """
    if getattr(model, "stack_size", None) is not None:
        return model
    return as_float64(model, default_device() if device is None else device)


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


def _starts(field: nn.Module, x0: np.ndarray) -> torch.Tensor:
    """The starts as the field's state: ``(M, d)``, or ``(K, M, d)`` (one copy per checkpoint) for a stack."""
    x = torch.as_tensor(_check_starts(x0, _model_dim(field)), device=_module_device(field))
    k = getattr(field, "stack_size", None)
    return x if k is None else x.expand(k, *x.shape)


def _numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().numpy()


def _rk4(
    rhs: RHS, y: State, t0: float, t1: float, steps: int, on_step: Callable[[int, State], None] | None = None
) -> State:
    """Classical RK4 on a tuple of tensors with ``steps`` equal steps on the grid of :func:`numerics.integrators.rk4`.

    ``on_step(n, y)`` sees the state at the start of step ``n``.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    ts = np.linspace(t0, t1, steps + 1)
    for n, (a, b) in enumerate(itertools.pairwise(ts)):
        a, b = float(a), float(b)
        h = b - a
        if on_step is not None:
            on_step(n, y)
        k1 = rhs(y, a)
        k2 = rhs(tuple(yi + 0.5 * h * ki for yi, ki in zip(y, k1)), a + 0.5 * h)
        k3 = rhs(tuple(yi + 0.5 * h * ki for yi, ki in zip(y, k2)), a + 0.5 * h)
        k4 = rhs(tuple(yi + h * ki for yi, ki in zip(y, k3)), b)
        y = tuple(yi + (h / 6.0) * (p + 2 * q + 2 * r + s) for yi, p, q, r, s in zip(y, k1, k2, k3, k4))
    return y


# ----------------------------------------------------------------------------------------------
# Generation
# ----------------------------------------------------------------------------------------------
@torch.no_grad()
def generate(
    model: nn.Module, x0: np.ndarray, steps: int = 500, device: torch.device | str | None = None
) -> np.ndarray:
    """Samples :math:`x(1)` of a learned field by fixed-step RK4 in :math:`t` (float64).

    Returns ``(M, d)``, or ``(K, M, d)`` for a checkpoint stack.
    """
    field = evaluation_field(model, device)
    (x1,) = _rk4(lambda y, t: (field(y[0], t),), (_starts(field, x0),), 0.0, 1.0, steps)
    return _numpy(x1)


def _tau_rhs(field: nn.Module, sigma_min: float) -> RHS:
    a = 1.0 - sigma_min

    def rhs(y: State, tau: float) -> State:
        t = min(-math.expm1(-tau) / a, 1.0)
        return ((math.exp(-tau) / a) * field(y[0], t),)

    return rhs


def _check_sigma_min_open(sigma_min: float) -> None:
    if not 0.0 < sigma_min < 1.0:
        raise ValueError(f"sigma_min must lie in (0, 1) to reach t = 1, got {sigma_min}")


@torch.no_grad()
def generate_in_tau(
    model: nn.Module, x0: np.ndarray, sigma_min: float, steps: int = 2000, device: torch.device | str | None = None
) -> np.ndarray:
    r"""Samples :math:`x(1)` by fixed-step RK4 in :math:`\tau=-\ln\sigma_t\in[0,-\ln\sigma_{\min}]`.

    .. math:: \frac{dx}{d\tau}=\frac{\sigma_t}{1-\sigma_{\min}}\,v_\theta(x,t),\qquad
       t=\frac{1-e^{-\tau}}{1-\sigma_{\min}}

    (spec §1.3): the off-subspace rate :math:`(1-\sigma_{\min})/\sigma_t` becomes 1.
    """
    _check_sigma_min_open(sigma_min)
    field = evaluation_field(model, device)
    (x1,) = _rk4(_tau_rhs(field, sigma_min), (_starts(field, x0),), 0.0, -math.log(sigma_min), steps)
    return _numpy(x1)


def _off(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    return x - (x @ u) @ u.T


@torch.no_grad()
def off_subspace_norm_path(
    model: nn.Module,
    x0: np.ndarray,
    basis: np.ndarray,
    steps: int = 500,
    records: int = 50,
    device: torch.device | str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\|P_\perp x(t)\|` along generated paths at ``records + 1`` equally spaced times.

    RK4 in :math:`t` with ``steps`` steps in total, run segment by segment so that only the norms
    are kept (memory :math:`O(Md)` even for large :math:`d`).

    Returns
    -------
    times : (records + 1,) array
    norms : (records + 1, M) array, or (records + 1, K, M) for a checkpoint stack
    """
    if steps % records:
        raise ValueError(f"steps ({steps}) must be a multiple of records ({records})")
    field = evaluation_field(model, device)
    x = _starts(field, x0)
    u = torch.as_tensor(np.asarray(basis, dtype=np.float64), device=x.device)
    times = np.linspace(0.0, 1.0, records + 1)
    norms = [_off(x, u).norm(dim=-1)]
    for a, b in itertools.pairwise(times):
        (x,) = _rk4(lambda y, t: (field(y[0], t),), (x,), float(a), float(b), steps // records)
        norms.append(_off(x, u).norm(dim=-1))
    return times, _numpy(torch.stack(norms))


# ----------------------------------------------------------------------------------------------
# Off-subspace identity
# ----------------------------------------------------------------------------------------------
@dataclass
class OffSubspaceIdentity:
    r"""Terms of the variation-of-constants identity along each generated path (rows = samples).

    ``integral`` is :math:`\int_0^1\frac{\sigma_{\min}}{\sigma_s}e_\perp(s,x(s))ds` and
    ``norm_integral`` is :math:`\int_0^1\frac{\sigma_{\min}}{\sigma_s}\|e_\perp(s,x(s))\|ds`
    (leading checkpoint axis for a stack).
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


@torch.no_grad()
def off_subspace_identity(
    model: nn.Module,
    x0: np.ndarray,
    data: np.ndarray,
    sigma_min: float,
    steps: int = 2000,
    method: str = "qr",
    kernel_sigma_min: float | None = None,
    device: torch.device | str | None = None,
) -> OffSubspaceIdentity:
    r"""Integrate the learned flow with the identity's integrals as extra state (RK4 in :math:`t`).

    Augmented state :math:`(x, I, J)` with

    .. math::

        \dot x=v_\theta(x,t),\quad
        \dot I=\frac{\sigma_{\min}}{\sigma_t}\,e_\perp(t,x),\quad
        \dot J=\frac{\sigma_{\min}}{\sigma_t}\,\|e_\perp(t,x)\|,\qquad
        e_\perp=P_\perp\big(v_\theta(x,t)-v_t^*(x)\big),

    so :math:`I(1)` and :math:`J(1)` use the same RK4 stages as the path. ``kernel_sigma_min``
    replaces :math:`\sigma_{\min}` in the kernel :math:`\sigma_{\min}/\sigma_s` only (a
    deliberately wrong kernel for negative controls).
    """
    sub = proper_subspace(data, method=method)
    field = evaluation_field(model, device)
    x = _starts(field, x0)
    exact = ExactField(data, sigma_min).to(x.device)
    u = torch.as_tensor(sub.basis, device=x.device)
    k_s = sigma_min if kernel_sigma_min is None else float(kernel_sigma_min)
    path = CondOTPath(sigma_min)

    def rhs(y: State, t: float) -> State:
        v = field(y[0], t)
        e_off = _off(v - exact(y[0], min(t, 1.0)), u)
        kern = k_s / float(path.sigma(t))
        return v, kern * e_off, kern * e_off.norm(dim=-1)

    x1, integral, norm_integral = _rk4(
        rhs, (x, torch.zeros_like(x), torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)), 0.0, 1.0, steps
    )
    return OffSubspaceIdentity(
        _numpy(x1), _numpy(_off(x, u)), _numpy(_off(x1, u)), _numpy(integral), _numpy(norm_integral), sigma_min
    )


# ----------------------------------------------------------------------------------------------
# Generation-error bound
# ----------------------------------------------------------------------------------------------
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


def _bound_nodes(steps: int) -> np.ndarray:
    """Nodes of the RK4 grid (at most ~100) on which the global bound's integral is taken."""
    return np.unique(np.append(np.arange(0, steps + 1, max(steps // 100, 1)), steps))


def _log10_global_bound(
    nodes: np.ndarray, steps: int, e_norm: np.ndarray, data: np.ndarray, sigma_min: float
) -> np.ndarray:
    r""":math:`\log_{10}\int_0^1e^{\Lambda(1)-\Lambda(s)}\|e(s,x(s))\|ds` by the trapezoid rule on ``nodes``.

    ``e_norm`` has the nodes on its first axis. Its :math:`\log_{10}` is ~1e4: a coarse grid suffices.
    """
    y = np.asarray(data, dtype=np.float64)
    ts = nodes / steps
    diam = float(np.max(np.linalg.norm(y[:, None, :] - y[None, :, :], axis=-1)))
    lam = _global_log_rate_integral(ts, sigma_min, diam)
    wts = np.zeros(ts.size)
    wts[1:] += 0.5 * np.diff(ts)
    wts[:-1] += 0.5 * np.diff(ts)
    shape = (-1,) + (1,) * (e_norm.ndim - 1)
    with np.errstate(divide="ignore"):
        logs = (lam[-1] - lam).reshape(shape) + np.log(e_norm) + np.log(wts).reshape(shape)
    return logsumexp(logs, axis=0) / math.log(10.0)


@torch.no_grad()
def generation_error_bound(
    model: nn.Module,
    x0: np.ndarray,
    data: np.ndarray,
    sigma_min: float,
    steps: int = 2000,
    rate_shift: float = 0.0,
    device: torch.device | str | None = None,
) -> GenerationErrorBound:
    r"""Integrate learned flow, exact flow and the pathwise Grönwall bound jointly (RK4 in :math:`t`).

    .. math::

        \dot x=v_\theta(x,t),\quad \dot x^*=v_t^*(x^*),\quad
        \dot b=\ell(t)\,b+\|e(t,x)\|,\ b(0)=0,\\
        \ell=\frac{\delta^\top(v_t^*(x)-v_t^*(x^*))}{\|\delta\|^2}\ (\ell:=0\text{ at }\delta=0),\quad
        \delta=x-x^*,\quad e=v_\theta-v^* .

    Then :math:`\|x(1)-x^*(1)\|\le b(1)` (spec §2, derived). The exact path does not depend on
    the checkpoint: for a stack it is integrated once, ``(M, d)``, beside the learned states
    ``(K, M, d)``. ``rate_shift`` is added to :math:`\ell` (a deliberately wrong rate for negative
    controls). The rigorous global version with :math:`L_t` is returned as :math:`\log_{10}` only
    (it is astronomically loose).
    """
    field = evaluation_field(model, device)
    x = _starts(field, x0)
    exact = ExactField(data, sigma_min).to(x.device)
    xs = x if x.ndim == 2 else x[0]
    nodes = _bound_nodes(steps)
    node_set = set(nodes.tolist())
    e_nodes: list[torch.Tensor] = []

    def e_norm(xl: torch.Tensor, t: float) -> torch.Tensor:
        return (field(xl, t) - exact(xl, t)).norm(dim=-1)

    def record(n: int, y: State) -> None:
        if n in node_set:
            e_nodes.append(e_norm(y[0], n / steps))

    def rhs(y: State, t: float) -> State:
        xl, xe, b = y
        t = min(t, 1.0)
        v = field(xl, t)
        vs_x = exact(xl, t)
        vs_e = exact(xe, t)
        delta = xl - xe
        dd = (delta * delta).sum(dim=-1)
        num = (delta * (vs_x - vs_e)).sum(dim=-1)
        rate = torch.where(dd > 0, num / torch.where(dd > 0, dd, 1.0), 0.0) + rate_shift
        return v, vs_e, rate * b + (v - vs_x).norm(dim=-1)

    b0 = torch.zeros(x.shape[:-1], dtype=x.dtype, device=x.device)
    x1, x1_exact, b1 = _rk4(rhs, (x, xs, b0), 0.0, 1.0, steps, on_step=record)
    e_nodes.append(e_norm(x1, 1.0))
    log10_global = _log10_global_bound(nodes, steps, _numpy(torch.stack(e_nodes)), data, sigma_min)
    err = (x1 - x1_exact).norm(dim=-1)
    return GenerationErrorBound(_numpy(x1), _numpy(x1_exact), _numpy(err), _numpy(b1), log10_global)


# ----------------------------------------------------------------------------------------------
# Excess loss and sample metrics
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExcessLoss:
    r"""Monte Carlo :math:`\mathbb E_{t,x\sim p_t}\|v_\theta-v^*\|^2` and its two orthogonal parts.

    Floats for one field, arrays ``(K,)`` for a checkpoint stack.
    """

    total: float | np.ndarray
    inside: float | np.ndarray
    off: float | np.ndarray
    se: float | np.ndarray
    n: int


def _excess_draws(
    data: np.ndarray, sigma_min: float, n: int, seed: int | list[int], t_max: float
) -> tuple[np.ndarray, np.ndarray]:
    """Points :math:`x=tx^{(i)}+\\sigma_tx_0` and times of the excess-loss estimate (seeded)."""
    y = np.asarray(data, dtype=np.float64)
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    if not 0.0 < t_max <= 1.0:
        raise ValueError(f"t_max must lie in (0, 1], got {t_max}")
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, t_max, n)
    idx = rng.integers(0, y.shape[0], n)
    x0 = rng.standard_normal((n, y.shape[1]))
    return CondOTPath(sigma_min).sample(x0, y[idx], t), t


@torch.no_grad()
def excess_loss(
    model: nn.Module,
    data: np.ndarray,
    sigma_min: float,
    n: int = 8192,
    seed: int | list[int] = 0,
    t_max: float = 0.99,
    method: str = "qr",
    device: torch.device | str | None = None,
) -> ExcessLoss:
    r"""Excess CFM loss of a learned field (spec §2 "Link to the training loss").

    .. math::

        \mathcal L_{\rm CFM}(\theta)-\mathcal L_{\rm CFM}(v^*)=\mathbb E_{t,x\sim p_t}\|v_\theta(x,t)-v_t^*(x)\|^2,

    estimated with ``n`` draws :math:`t\sim U[0,t_{\max}]`, :math:`i\sim U\{1..N\}`,
    :math:`x=tx^{(i)}+\sigma_tx_0`; a fixed ``seed`` gives common random numbers across
    checkpoints (a stack evaluates every checkpoint on the same draws). Split into
    :math:`\|P(\cdot)\|^2` and :math:`\|P_\perp(\cdot)\|^2`.
    """
    x_np, t_np = _excess_draws(data, sigma_min, n, seed, t_max)
    field = evaluation_field(model, device)
    dev = _module_device(field)
    x = torch.as_tensor(x_np, device=dev)
    t = torch.as_tensor(t_np, device=dev)
    k = getattr(field, "stack_size", None)
    xs = x if k is None else x.expand(k, *x.shape)
    diff = field(xs, t) - ExactField(data, sigma_min).to(dev)(x, t)
    u = torch.as_tensor(proper_subspace(data, method=method).basis, device=dev)
    sq = (diff * diff).sum(dim=-1)
    off = _off(diff, u)
    sq_off = (off * off).sum(dim=-1)
    parts = [_numpy(v)[()] for v in (sq.mean(-1), (sq - sq_off).mean(-1), sq_off.mean(-1), sq.std(-1) / math.sqrt(n))]
    return ExcessLoss(*parts, n)


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


# ----------------------------------------------------------------------------------------------
# NumPy references (one model, NumPy float64 state, NumPy exact field)
# ----------------------------------------------------------------------------------------------
def generate_numpy(model: nn.Module, x0: np.ndarray, steps: int = 500, return_path: bool = False) -> np.ndarray:
    """Reference of :func:`generate`: NumPy RK4, the model evaluated in float64 on CPU call by call.

    ``return_path`` gives ``(steps + 1, M, d)``.
    """
    x = _check_starts(x0, _model_dim(model))
    return rk4(torch_field(as_float64(model)), x, steps, 0.0, 1.0, return_path=return_path)


def generate_in_tau_numpy(model: nn.Module, x0: np.ndarray, sigma_min: float, steps: int = 2000) -> np.ndarray:
    """Reference of :func:`generate_in_tau` (NumPy RK4 in :math:`\\tau`)."""
    _check_sigma_min_open(sigma_min)
    x = _check_starts(x0, _model_dim(model))
    field = torch_field(as_float64(model))
    a = 1.0 - sigma_min

    def w(y: np.ndarray, tau: float) -> np.ndarray:
        t = min(-math.expm1(-tau) / a, 1.0)
        return (math.exp(-tau) / a) * field(y, t)

    return rk4(w, x, steps, 0.0, -math.log(sigma_min))


def off_subspace_identity_numpy(
    model: nn.Module, x0: np.ndarray, data: np.ndarray, sigma_min: float, steps: int = 2000, method: str = "qr"
) -> OffSubspaceIdentity:
    """Reference of :func:`off_subspace_identity` (NumPy augmented state ``[x, I, J]``)."""
    sub = proper_subspace(data, method=method)
    x = _check_starts(x0, sub.dim)
    d = sub.dim
    field = torch_field(as_float64(model))
    path = CondOTPath(sigma_min)

    def rhs(y: np.ndarray, t: float) -> np.ndarray:
        xs = y[:, :d]
        v = field(xs, t)
        e_off = sub.off(v - optimal_velocity(xs, min(t, 1.0), data, sigma_min))
        kern = sigma_min / float(path.sigma(t))
        return np.concatenate([v, kern * e_off, kern * np.linalg.norm(e_off, axis=1, keepdims=True)], axis=1)

    y0 = np.concatenate([x, np.zeros_like(x), np.zeros((x.shape[0], 1))], axis=1)
    y1 = rk4(rhs, y0, steps, 0.0, 1.0)
    return OffSubspaceIdentity(y1[:, :d], sub.off(x), sub.off(y1[:, :d]), y1[:, d : 2 * d], y1[:, 2 * d], sigma_min)


def generation_error_bound_numpy(
    model: nn.Module, x0: np.ndarray, data: np.ndarray, sigma_min: float, steps: int = 2000
) -> GenerationErrorBound:
    """Reference of :func:`generation_error_bound` (NumPy augmented state ``[x, x*, b]``)."""
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
        rate = np.divide(num, dd, out=np.zeros_like(dd), where=dd > 0)
        db = rate * b + np.linalg.norm(v - vs_x, axis=1)
        return np.concatenate([v, vs_e, db[:, None]], axis=1)

    z0 = np.concatenate([x, x, np.zeros((x.shape[0], 1))], axis=1)
    path = rk4(rhs, z0, steps, 0.0, 1.0, return_path=True)
    z1 = path[-1]
    nodes = _bound_nodes(steps)
    e_norm = np.stack(
        [
            np.linalg.norm(
                field(path[k][:, :d], k / steps) - optimal_velocity(path[k][:, :d], k / steps, y, sigma_min), axis=1
            )
            for k in nodes
        ]
    )
    err = np.linalg.norm(z1[:, :d] - z1[:, d : 2 * d], axis=1)
    log10_global = _log10_global_bound(nodes, steps, e_norm, y, sigma_min)
    return GenerationErrorBound(z1[:, :d], z1[:, d : 2 * d], err, z1[:, 2 * d], log10_global)


def excess_loss_numpy(
    model: nn.Module,
    data: np.ndarray,
    sigma_min: float,
    n: int = 8192,
    seed: int | list[int] = 0,
    t_max: float = 0.99,
    method: str = "qr",
) -> ExcessLoss:
    """Reference of :func:`excess_loss` (one model; NumPy exact field and projections)."""
    x, t = _excess_draws(data, sigma_min, n, seed, t_max)
    with torch.no_grad():
        v = as_float64(model)(torch.as_tensor(x), torch.as_tensor(t)).numpy()
    diff = v - optimal_velocity(x, t, data, sigma_min)
    off = proper_subspace(data, method=method).off(diff)
    sq_off = np.einsum("ij,ij->i", off, off)
    sq = np.einsum("ij,ij->i", diff, diff)
    return ExcessLoss(
        float(sq.mean()), float((sq - sq_off).mean()), float(sq_off.mean()), float(sq.std(ddof=1) / math.sqrt(n)), n
    )
