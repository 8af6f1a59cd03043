r"""Affine Gaussian probability paths: :math:`\sigma_t`, :math:`x_t` and the conditional field, written once.

A path joins noise :math:`x_0\sim\mathcal N(0,I)` at :math:`t=0` to data :math:`x_1` at :math:`t=1`:

.. math::

    x_t=\alpha_t\,x_1+\sigma_t\,x_0,\qquad
    u_t(x_t\mid x_1)=\dot\alpha_t\,x_1+\dot\sigma_t\,x_0,\qquad
    u_t(x\mid x_1)=\frac{\dot\sigma_t}{\sigma_t}\,(x-\alpha_t x_1)+\dot\alpha_t\,x_1 .

Every method works on NumPy arrays and on torch tensors alike, so the training losses (torch)
and the Monte Carlo checks (NumPy) share one definition. Times ``t`` are scalars or one value
per row of ``x``. Since :math:`u` is affine in :math:`x_1`, the optimal field of an empirical
target is :math:`u_t(x\mid\bar x_w)` with the posterior mean :math:`\bar x_w`
(:meth:`NumericPath.conditional_velocity`).

The exact flow is integrated in the log-time :math:`\tau=-\ln(\sigma_t/\sigma_0)`, where
:math:`dx/d\tau=-x+g_t\bar x_w` (:mod:`theory.paths`); each path gives :math:`\alpha`,
:math:`\sigma` and :math:`g` as functions of :math:`\tau` in float64-accurate form
(:meth:`NumericPath.in_tau`): :math:`\sigma=\sigma_0e^{-\tau}` exactly, never through ``t``.

- :class:`CondOTPath`: the conditional-OT path of Lipman et al. (2023),
  :math:`\alpha_t=t`, :math:`\sigma_t=1-(1-\sigma_{\min})t`, hence the constant target
  :math:`x_1-(1-\sigma_{\min})x_0` (spec ``gao_li.md`` §1.1, ``mfm.md`` §1.2), in hand-written
  float64 forms (:math:`t=-\mathrm{expm1}(-\tau)/(1-\sigma_{\min})`).
- :class:`DerivedPath`: any path of :mod:`theory.paths` (SymPy), lambdified to NumPy and torch.
- :func:`as_path`: a path from what a caller has: ``None``/a number (the OT path with that
  :math:`\sigma_{\min}`), a name or ``"alpha=...; sigma=..."`` string, a SymPy path, or a Meta
  ``flow_matching`` scheduler object (:func:`from_scheduler`).

References
----------
Y. Lipman, R. T. Q. Chen, H. Ben-Hamu, M. Nickel, M. Le, *Flow Matching for Generative
Modeling*, ICLR 2023.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from theory import paths as sym
from theory.validation import check_range, real_array, real_scalar

Array = Any  # numpy.ndarray or torch.Tensor
BISECTION_STEPS = 64
"""Most steps of the numerical :math:`t(\\tau)` of a path without a closed-form inverse: Newton on
:math:`\\sigma_t=\\sigma_0e^{-\\tau}` inside a bisection bracket (64 halvings alone reach the float64
spacing of ``t`` in :math:`[1/2,1]`)."""


def _rows(t: Array, like: Array) -> Array:
    """``t`` broadcast against the rows of ``like`` (scalars pass through)."""
    if np.ndim(t) == 0:
        return t
    return t.reshape(-1, *([1] * (like.ndim - 1)))


def _is_torch(a: Any) -> bool:
    return type(a).__module__.startswith("torch")


class NumericPath:
    r"""Base class: a path :math:`x_t=\alpha_tx_1+\sigma_tx_0` given by :math:`\alpha,\sigma` and their derivatives.

    Subclasses implement :meth:`alpha`, :meth:`sigma`, :meth:`d_alpha`, :meth:`d_sigma`,
    :meth:`forcing` (elementwise in ``t``, NumPy and torch), :meth:`time_from_tau` and
    :attr:`symbolic` (the SymPy path, from which :attr:`t_switch`, :attr:`tau_end`, the end
    values and the record come).
    """

    name = "affine"

    def alpha(self, t: Array) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def sigma(self, t: Array) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def d_alpha(self, t: Array) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def d_sigma(self, t: Array) -> Array:  # pragma: no cover - abstract
        raise NotImplementedError

    def forcing(self, t: Array) -> Array:  # pragma: no cover - abstract
        r""":math:`g_t=\alpha_t-\sigma_t\dot\alpha_t/\dot\sigma_t`."""
        raise NotImplementedError

    def time_from_tau(self, tau: Array) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def symbolic(self) -> sym.AffinePath:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- constants of the path (from the SymPy path)
    @functools.cached_property
    def sigma0(self) -> float:
        return float(self.symbolic.sigma0)

    @functools.cached_property
    def sigma1(self) -> float:
        return self.symbolic.sigma1

    @functools.cached_property
    def alpha0(self) -> float:
        return self.symbolic.alpha0

    @functools.cached_property
    def alpha1(self) -> float:
        return self.symbolic.alpha1

    @functools.cached_property
    def t_switch(self) -> float:
        """Before this time the exact flow is integrated in ``t``, after it in tau (:mod:`theory.paths`)."""
        return self.symbolic.t_switch

    @functools.cached_property
    def tau_end(self) -> float:
        """Log-time of ``t = 1`` for the integrator (:attr:`theory.paths.AffinePath.tau_end`)."""
        return self.symbolic.tau_end

    def record(self) -> dict[str, Any]:
        """The path's description for verdicts, sidecars and cache keys."""
        return self.symbolic.record()

    @property
    def label(self) -> str:
        """A short label: the name with its parameters (``ot(sigma_min=0.01)``)."""
        params = ", ".join(f"{k}={v:g}" for k, v in self.symbolic.parameters)
        return f"{self.name}({params})" if params else self.name

    # -- the path and its conditional field
    def sample(self, x0: Array, x1: Array, t: Array) -> Array:
        r""":math:`x_t=\alpha_tx_1+\sigma_tx_0` (``t`` scalar or one per row)."""
        tt = _rows(t, x0)
        return self.alpha(tt) * x1 + self.sigma(tt) * x0

    def target(self, x0: Array, x1: Array, t: Array) -> Array:
        r"""Velocity of the conditional path at :math:`x_t`: :math:`\dot\alpha_tx_1+\dot\sigma_tx_0`."""
        tt = _rows(t, x0)
        return self.d_alpha(tt) * x1 + self.d_sigma(tt) * x0

    def conditional_velocity(self, x: Array, x1: Array, t: Array) -> Array:
        r""":math:`u_t(x\mid x_1)=\frac{\dot\sigma_t}{\sigma_t}(x-\alpha_tx_1)+\dot\alpha_tx_1`.

        Affine in :math:`x_1`: with the posterior mean for :math:`x_1` it is the optimal field.
        """
        tt = _rows(t, x)
        return self.d_sigma(tt) / self.sigma(tt) * (x - self.alpha(tt) * x1) + self.d_alpha(tt) * x1

    def off_subspace_factor(self, t: Array) -> Array:
        r""":math:`\sigma_t/\sigma_0`: the exact flow's :math:`x_\perp(t)/x_\perp(0)`."""
        return self.sigma(t) / self.sigma0

    # -- the log-time
    def tau(self, t: Array) -> np.ndarray:
        r""":math:`\tau=-\ln(\sigma_t/\sigma_0)` (infinite at :math:`t=1` when :math:`\sigma_1=0`)."""
        t = real_array(t, "t")
        check_range(t, "t", 0.0, 1.0)
        with np.errstate(divide="ignore"):
            return -np.log(self.sigma(t) / self.sigma0)

    def in_tau(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r""":math:`(\alpha,\sigma)` at log-time ``tau`` (:math:`\sigma=\sigma_0e^{-\tau}`)."""
        return self.alpha(self.time_from_tau(tau)), self.sigma0 * np.exp(-tau)

    def forcing_in_tau(self, tau: np.ndarray, mean: np.ndarray) -> np.ndarray:
        r""":math:`g_{t(\tau)}\bar x_w`, the forcing of :math:`dx/d\tau=-x+g\bar x_w` (rows of ``mean``)."""
        return self.forcing(self.time_from_tau(tau))[:, None] * mean

    def sample_source(self, rng: np.random.Generator, n: int, data: np.ndarray) -> np.ndarray:
        r"""``n`` draws of the exact flow's source :math:`p_0=\frac1N\sum_i\mathcal N(\alpha_0x^{(i)},\sigma_0^2I)`.

        For :math:`\alpha_0=0` this is :math:`\sigma_0` times standard normals (the same draws as
        ``rng.standard_normal``); for :math:`\alpha_0>0` the point indices are drawn after the noise.
        """
        z = rng.standard_normal((n, data.shape[1]))
        x0 = z if self.sigma0 == 1.0 else self.sigma0 * z
        if self.alpha0 > 0:
            x0 = x0 + self.alpha0 * data[rng.integers(0, data.shape[0], n)]
        return x0


@dataclass(frozen=True)
class CondOTPath(NumericPath):
    r"""Conditional optimal-transport path: :math:`\alpha_t=t`, :math:`\sigma_t=1-(1-\sigma_{\min})t`.

    :math:`\sigma_t` is formed as ``(1 - t) + sigma_min * t`` so that :math:`1-t` stays exact
    near :math:`t=1` (where the exact field's logits scale like :math:`t/\sigma_t^2`).

    Parameters
    ----------
    sigma_min : float in [0, 1)
        Terminal width; 0 gives the rectified-flow line :math:`(1-t)x_0+tx_1`.
    """

    sigma_min: float = 0.0
    name = "ot"

    def __post_init__(self) -> None:
        s = real_scalar(self.sigma_min, "sigma_min", 0.0, 1.0, hi_open=True)
        object.__setattr__(self, "sigma_min", s)

    @property
    def symbolic(self) -> sym.AffinePath:
        return sym.ot(self.sigma_min)

    def alpha(self, t: Array) -> Array:
        return t

    def sigma(self, t: Array) -> Array:
        return (1.0 - t) + self.sigma_min * t

    def d_alpha(self, t: Array) -> Array:
        return 1.0 + 0.0 * t

    def d_sigma(self, t: Array) -> Array:
        return -(1.0 - self.sigma_min) + 0.0 * t

    def forcing(self, t: Array) -> Array:
        return 1.0 / (1.0 - self.sigma_min) + 0.0 * t

    def target(self, x0: Array, x1: Array, t: Array | None = None) -> Array:
        """The constant conditional velocity :math:`x_1-(1-\\sigma_{\\min})x_0` (``t`` is not needed)."""
        return x1 - (1.0 - self.sigma_min) * x0

    def conditional_velocity(self, x: Array, x1: Array, t: Array) -> Array:
        """:math:`(x_1-(1-\\sigma_{\\min})x)/\\sigma_t`."""
        tt = _rows(t, x)
        return (x1 - (1.0 - self.sigma_min) * x) / self.sigma(tt)

    # -- the log-time in which the exact flow is integrated to t = 1 (spec gao_li.md §1.3)
    @property
    def sigma0(self) -> float:
        return 1.0

    @property
    def alpha0(self) -> float:
        return 0.0

    @property
    def t_switch(self) -> float:
        return 0.0

    @property
    def tau_end(self) -> float:
        if self.sigma_min == 0.0:
            return sym.TAU_AT_T_ONE
        return float(min(-np.log(float(self.sigma(1.0))), sym.TAU_AT_T_ONE))

    def tau(self, t: Array) -> Array:
        r""":math:`\tau=-\ln\sigma_t` (infinite at :math:`t=1` when :math:`\sigma_{\min}=0`)."""
        t = real_array(t, "t")
        check_range(t, "t", 0.0, 1.0)
        with np.errstate(divide="ignore"):
            return -np.log(self.sigma(t))

    def time_from_tau(self, tau: Array) -> Array:
        r""":math:`t(\tau)=(1-e^{-\tau})/(1-\sigma_{\min})` (``tau = inf`` allowed: the end of the path)."""
        tau = real_array(tau, "tau", finite=False)
        if np.any(np.isnan(tau)) or np.any(tau < 0):
            raise ValueError("tau must be >= 0 (NaN refused)")
        return -np.expm1(-tau) / (1.0 - self.sigma_min)

    def in_tau(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return -np.expm1(-tau) / (1.0 - self.sigma_min), np.exp(-tau)

    def forcing_in_tau(self, tau: np.ndarray, mean: np.ndarray) -> np.ndarray:
        return mean / (1.0 - self.sigma_min)


class DerivedPath(NumericPath):
    r"""A path of :mod:`theory.paths` (SymPy), lambdified to NumPy and torch.

    :math:`t(\tau)` is the path's closed form where it has one, else Newton's method safeguarded
    by bisection on the decreasing :math:`\sigma_t` (at most :data:`BISECTION_STEPS` steps, vectorised
    over rows).
    """

    def __init__(self, path: sym.AffinePath) -> None:
        if not isinstance(path, sym.AffinePath):
            raise TypeError(f"DerivedPath wraps a theory.paths.AffinePath, got {type(path).__name__}")
        self._symbolic = path
        self.name = path.name

    def __reduce__(self) -> tuple[Any, ...]:
        return (DerivedPath, (self._symbolic,))

    def __repr__(self) -> str:
        return f"DerivedPath({self._symbolic!r})"

    @property
    def symbolic(self) -> sym.AffinePath:
        return self._symbolic

    def _f(self, name: str, t: Array) -> Array:
        return self._symbolic.functions("torch" if _is_torch(t) else "numpy")[name](t)

    def alpha(self, t: Array) -> Array:
        return self._f("alpha", t)

    def sigma(self, t: Array) -> Array:
        return self._f("sigma", t)

    def d_alpha(self, t: Array) -> Array:
        return self._f("d_alpha", t)

    def d_sigma(self, t: Array) -> Array:
        return self._f("d_sigma", t)

    def forcing(self, t: Array) -> Array:
        return self._f("forcing", t)

    def time_from_tau(self, tau: Array) -> np.ndarray:
        r""":math:`t(\tau)`: the closed form, or bisection of :math:`\sigma_t=\sigma_0e^{-\tau}`; ``inf`` gives 1."""
        tau = real_array(tau, "tau", finite=False)
        if np.any(np.isnan(tau)) or np.any(tau < 0):
            raise ValueError("tau must be >= 0 (NaN refused)")
        closed = self._symbolic.functions().get("time_of_tau")
        if closed is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                out = np.where(np.isinf(tau), 1.0, closed(np.minimum(tau, 700.0)))
            return np.clip(out, 0.0, 1.0)
        last = self.__dict__.get("_last_inverse")
        if last is not None and last[0].shape == tau.shape and np.array_equal(last[0], tau):
            return last[1].copy()  # the integrator asks twice per step (alpha and the forcing)
        target = self.sigma0 * np.exp(-tau)
        lo, hi = np.zeros_like(tau), np.ones_like(tau)
        t = np.full_like(tau, 0.5)
        active = np.flatnonzero(np.isfinite(tau) & (tau > 0))
        eps = 4 * np.finfo(float).eps
        for _ in range(BISECTION_STEPS):
            if active.size == 0:
                break
            ta, la, ha = t[active], lo[active], hi[active]
            gap = self.sigma(ta) - target[active]
            la, ha = np.where(gap > 0, ta, la), np.where(gap > 0, ha, ta)
            with np.errstate(divide="ignore", invalid="ignore"):
                newton = ta - gap / self.d_sigma(ta)
            # Newton where it stays inside the bracket, bisection elsewhere (sigma decreases).
            nxt = np.where((newton >= la) & (newton <= ha), newton, 0.5 * (la + ha))
            nxt = np.where(gap == 0, ta, nxt)
            t[active], lo[active], hi[active] = nxt, la, ha
            done = (np.abs(nxt - ta) <= eps * np.maximum(ta, 1e-300)) | (ha - la <= eps) | (gap == 0)
            active = active[~done]
        out = np.where(tau == 0, 0.0, np.where(np.isinf(tau), 1.0, t))
        self.__dict__["_last_inverse"] = (tau.copy(), out.copy())
        return out


def _has_base(obj: Any, module_prefix: str, name: str) -> bool:
    """Whether a class of ``obj``'s type (its own or a base) is ``name`` from a module under ``module_prefix``
    (recognises another library's classes without importing it)."""
    return any(c.__name__ == name and c.__module__.startswith(module_prefix) for c in type(obj).__mro__)


def from_scheduler(scheduler: Any) -> sym.AffinePath:
    r"""The SymPy path of a Meta ``flow_matching`` scheduler (``flow_matching.path.scheduler``).

    An ``AffineProbPath`` stands for its ``.scheduler``. The library's scheduler classes with
    closed forms are mapped to their SymPy paths (``CondOTScheduler``, ``CosineScheduler``,
    ``VPScheduler``, ``LinearVPScheduler``, ``PolynomialConvexScheduler``), then the scheduler's own :math:`\alpha_t,\sigma_t,\dot\alpha_t,\dot\sigma_t` (float64 tensors)
    are compared with the lambdified SymPy ones on a grid of ``(0, 1)``.

    Raises
    ------
    PathError
        For a scheduler class without a known closed form (write its :math:`\alpha_t`,
        :math:`\sigma_t` as SymPy expressions instead, or tabulate it:
        :func:`numerics.schedulers.path_from_scheduler`), or if the scheduler disagrees with the
        SymPy path by more than 1e-12 relative.
    """
    if _has_base(scheduler, "flow_matching.", "AffineProbPath"):
        scheduler = scheduler.scheduler
    kind = type(scheduler).__name__
    if not type(scheduler).__module__.startswith("flow_matching."):
        kind = f"{type(scheduler).__module__}.{kind}"  # a user's class: no closed form is known
    if kind == "CondOTScheduler":
        path = sym.ot(0.0)
    elif kind == "CosineScheduler":
        path = sym.cosine()
    elif kind == "VPScheduler":
        path = sym.vp(float(scheduler.beta_min), float(scheduler.beta_max))
    elif kind == "LinearVPScheduler":
        path = sym.AffinePath(sym.t, "sqrt(1 - t**2)", "linear-vp")
    elif kind == "PolynomialConvexScheduler":
        n = float(scheduler.n)
        power = sym.sp.nsimplify(n)
        path = sym.AffinePath(sym.t**power, 1 - sym.t**power, "polynomial-convex", parameters=(("n", n),))
    else:
        raise sym.PathError(
            f"no closed form is known for the scheduler {kind}: give its alpha_t and sigma_t as SymPy "
            "expressions, theory.paths.AffinePath(alpha=..., sigma=...), or tabulate it with memgen.path(scheduler)"
        )
    import torch

    grid = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)
    out = scheduler(grid)
    ours = DerivedPath(path)
    for name in ("alpha", "sigma", "d_alpha", "d_sigma"):
        theirs = getattr(out, f"{name}_t").double().numpy()
        mine = getattr(ours, name)(grid.numpy())
        err = float(np.max(np.abs(theirs - mine) / np.maximum(np.abs(mine), 1e-300)))
        if not err <= 1e-12:
            raise sym.PathError(f"{kind}: its {name}_t differs from the SymPy path {path} by {err:.3g} (relative)")
    return path


PathLike = Any
"""What :func:`as_path` accepts: ``None``, a number (OT sigma_min), a string, a SymPy path, a numeric path, a scheduler."""


def as_path(path: PathLike = None, sigma_min: float | None = None) -> NumericPath:
    """The numeric path for ``path`` (``None`` or a number: the OT path with that ``sigma_min``).

    Parameters
    ----------
    path : None, float, str, theory.paths.AffinePath, NumericPath or a flow_matching scheduler
        A string is parsed by :func:`theory.paths.parse_path`; the OT path (``ot``, or a SymPy
        ``ot(...)``) becomes :class:`CondOTPath`.
    sigma_min : float, optional
        The OT path's ``sigma_min`` (the keyword of the functions that predate paths); only with
        ``path=None`` or a number equal to it.

    Raises
    ------
    TypeError
        For an object that is not a path.
    ValueError
        ``path`` and a different ``sigma_min`` given together; :class:`theory.paths.PathError`
        for an invalid path.
    """
    if sigma_min is not None:
        if path is not None and not (isinstance(path, int | float) and float(path) == float(sigma_min)):
            raise ValueError("give either a path or sigma_min (the OT path), not both")
        path = sigma_min
    if path is None:
        return CondOTPath(0.0)
    if isinstance(path, NumericPath):
        return path
    if isinstance(path, bool):
        raise TypeError("path must be a path, a path name or a sigma_min, got a bool")
    if isinstance(path, int | float | np.floating | np.integer):
        return CondOTPath(float(path))
    if isinstance(getattr(path, "memgen_path", None), NumericPath):
        return path.memgen_path  # a scheduler made from a memgen path (numerics.schedulers.to_scheduler)
    if isinstance(path, str):
        path = _parse(path)
    elif not isinstance(path, sym.AffinePath) and (
        type(path).__module__.startswith("flow_matching") or _has_base(path, "flow_matching.", "Scheduler")
    ):
        path = from_scheduler(path)
    if isinstance(path, sym.AffinePath):
        return _numeric(path)
    raise TypeError(f"path must be a path, a path name or a sigma_min, got {type(path).__name__}")


@functools.cache
def _parse(spec: str) -> sym.AffinePath:
    return sym.parse_path(spec)


@functools.lru_cache(maxsize=64)
def _numeric(path: sym.AffinePath) -> NumericPath:
    if path.name == "ot" and path.parameters:
        return CondOTPath(dict(path.parameters)["sigma_min"])
    return DerivedPath(path)
