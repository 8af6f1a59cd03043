r"""Affine Gaussian probability paths defined in SymPy, derived, validated and lambdified.

A path is two SymPy expressions in :math:`t\in[0,1]` (noise at 0, data at 1):

.. math::

    x_t=\alpha_t\,y+\sigma_t\,x_0,\qquad x_0\sim\mathcal N(0,I),

for a data point :math:`y`. From them SymPy derives

- :math:`\dot\alpha_t`, :math:`\dot\sigma_t` and the conditional velocity
  :math:`u_t(x\mid y)=\frac{\dot\sigma_t}{\sigma_t}(x-\alpha_ty)+\dot\alpha_ty`;
- the log signal-to-noise ratio :math:`\lambda_t=\ln(\alpha_t/\sigma_t)`;
- the log-time :math:`\tau=-\ln(\sigma_t/\sigma_0)\in[0,\infty]` in which the exact flow of an
  empirical target has the bounded, semilinear right-hand side

  .. math:: \frac{dx}{d\tau}=-x+g_t\,\bar x_w,\qquad g_t=\alpha_t-\frac{\sigma_t\dot\alpha_t}{\dot\sigma_t},

  (spec ``gao_li.md`` §1.3 for the OT path, where :math:`g_t=1/(1-\sigma_{\min})`), with
  :math:`dt/d\tau=-\sigma_t/\dot\sigma_t`; :math:`g_t>0` on a valid path
  (:math:`g_t=-\alpha_t\sigma_t\dot\lambda_t/\dot\sigma_t`);
- where the integrator switches from ``t`` to :math:`\tau` (:attr:`AffinePath.t_switch`: the
  last time at which :math:`g_t>2g_1`, 0 for the OT path; :math:`g_t` is infinite where
  :math:`\dot\sigma_t=0`, as at :math:`t=0` on the cosine path) and the log-time at which it
  stops (:attr:`AffinePath.tau_end`);
- the off-subspace law of the exact flow, :math:`x_\perp(t)=(\sigma_t/\sigma_0)\,x_\perp(0)` (the
  part of :math:`u` orthogonal to the data span is :math:`(\dot\sigma_t/\sigma_t)x_\perp`).

Validation (:meth:`AffinePath.validate`): :math:`\sigma_0>0`, :math:`\alpha_1>0`, :math:`\sigma_1\ge0`,
:math:`\lambda_t` increasing and :math:`\sigma_t` decreasing on :math:`(0,1)` (the log-time must
run forward), and :math:`\alpha_0=0` — or :math:`\alpha_0>0` explicitly accepted as an approximation
(VP schedules), whose effect on the source is stated: the flow then starts from
:math:`\frac1N\sum_i\mathcal N(\alpha_0x^{(i)},\sigma_0^2I)` instead of :math:`\mathcal N(0,\sigma_0^2I)`.
A violated condition raises :class:`PathError` naming it. Path text is read by the whitelisting
parser of :mod:`theory.expressions` (never run as Python); an expression must have a derivative
(no ``floor``, ``sign``) and be real; :math:`\dot\sigma_t\le0` and :math:`\dot\lambda_t\ge0` are
proved by SymPy where it can, else searched densely (:mod:`theory.monotonicity`), and
:math:`\alpha_t` may not underflow to 0 inside :math:`(0,1)`.

Built-in paths (each derived once per process): :func:`ot` (conditional OT, :math:`\sigma_{\min}`),
:func:`cosine`, :func:`vp` (linear :math:`\beta` schedule), :func:`ve` (a variance-exploding
schedule, reparametrised so that it is a data-to-noise path of this form) and :func:`polynomial`.
The built-ins carry :math:`t(\tau)` in closed form (written for float64: ``expm1``, ``log1p``,
stable roots), checked by SymPy in :meth:`AffinePath.residuals`; a user path is inverted
numerically (:mod:`numerics.paths`).

References
----------
Y. Lipman et al., *Flow Matching for Generative Modeling*, ICLR 2023 (OT, VP and VE paths);
Y. Song et al., *Score-Based Generative Modeling through SDEs*, ICLR 2021 (VP and VE schedules).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from scipy.optimize import brentq
from sympy.codegen.cfunctions import expm1, log1p
from sympy.printing.pytorch import TorchPrinter

from theory.expressions import ExpressionError, parse_expression
from theory.monotonicity import symbolic_sign, worst_violation

t = sp.Symbol("t", real=True)
tau = sp.Symbol("tau", nonnegative=True)
GRID = 4001  # points of [0, 1] on which monotonicity is checked where SymPy cannot prove it
MONOTONE_RTOL = 1e-9
"""A derivative of the wrong sign by at most this fraction of its largest size is rounding of a zero
(a flat point, as :math:`\\dot\\sigma_t=0` at ``t = 0`` on the cosine path), not a violation."""
TAU_AT_T_ONE = 40.0
"""Smallest log-time at which a path with :math:`\\sigma_1=0` is integrated to its end:
:math:`\\sigma_t/\\sigma_0=e^{-40}\\approx4\\times10^{-18}`; later where ``t`` has not yet reached 1
in float64 there (:attr:`AffinePath.tau_end`)."""
SWITCH_FACTOR = 2.0
"""The flow is integrated in :math:`\\tau` where :math:`g_t\\le` ``SWITCH_FACTOR`` :math:`g_1` ..."""
MAX_DT_DTAU = 4.0
"""... and :math:`dt/d\\tau=-\\sigma_t/\\dot\\sigma_t\\le` ``MAX_DT_DTAU``: :math:`dt/d\\tau` is the condition
number of :math:`t(\\tau)` (one rounding of :math:`\\sigma_t` moves ``t`` by that many roundings)."""
MODULES = ("numpy", "torch", "mpmath")


class PathError(ValueError):
    """A path that is not a valid data-to-noise affine Gaussian path (the condition is named)."""


def _sympify(expr: Any, name: str, symbols: dict[str, sp.Symbol] | None = None) -> sp.Expr:
    """``expr`` as a SymPy expression: text through the whitelisting parser of :mod:`theory.expressions`
    (never ``sympify``, which runs its input as Python), SymPy objects and real numbers as they are."""
    symbols = {"t": t} if symbols is None else symbols
    if isinstance(expr, str):
        try:
            e = parse_expression(expr, symbols)
        except ExpressionError as exc:
            raise PathError(f"cannot parse {name} = {expr[:80]!r}: {exc}") from None
    elif isinstance(expr, sp.Basic):
        e = expr
    elif isinstance(expr, int | float) and not isinstance(expr, bool):
        e = sp.sympify(expr)  # a Python number: nothing to run
    else:
        raise PathError(f"{name} must be a SymPy expression or its text, got {type(expr).__name__}")
    if not isinstance(e, sp.Expr):
        raise PathError(f"{name} must be an expression in {', '.join(symbols)}, got {expr!r}")
    extra = e.free_symbols - set(symbols.values())
    if extra:
        raise PathError(f"{name} may depend on {', '.join(symbols)} only, got symbols {sorted(map(str, extra))}")
    return e


def _tidy(e: sp.Expr) -> sp.Expr:
    """A simpler equal form (``simplify`` on small expressions; ``cancel`` on large ones, where
    ``simplify`` takes seconds and the form only matters for display)."""
    return sp.simplify(e) if sp.count_ops(e) <= 60 else sp.cancel(e)


def is_zero(e: sp.Expr) -> bool:
    """Whether ``e`` simplifies to 0 (cheap rewrites first, ``simplify`` last)."""
    for rewrite in (sp.cancel, lambda x: sp.expand(sp.powsimp(sp.cancel(x), force=True)), sp.simplify):
        if rewrite(e) == 0:
            return True
    return False


def _float(e: sp.Expr, name: str, path: str) -> float:
    try:
        v = complex(sp.N(e))
    except (TypeError, ValueError):
        raise PathError(f"{path}: {name} = {e} is not a number") from None
    if abs(v.imag) > 1e-12 * max(1.0, abs(v.real)):
        raise PathError(f"{path}: {name} = {e} is not real")
    return v.real


@dataclass(frozen=True, eq=False)
class AffinePath:
    r"""A path :math:`x_t=\alpha_ty+\sigma_tx_0` given by SymPy expressions in ``t``.

    Parameters
    ----------
    alpha, sigma : SymPy expressions (or strings SymPy parses) in ``t``
    name : a short name (``"cosine"``, ``"vp"``, ...)
    accept_alpha0 : accept :math:`\alpha_0>0` (an approximate source, stated by :attr:`source_note`)
    parameters : the path's parameters, for records and cache keys
    inverse : optional closed form of :math:`t(\tau)` (built-ins), verified in :meth:`residuals`

    Raises
    ------
    PathError
        On the first violated condition (see the module docstring).
    """

    alpha: sp.Expr
    sigma: sp.Expr
    name: str = "custom"
    accept_alpha0: bool = False
    parameters: tuple[tuple[str, float], ...] = field(default=())
    inverse: sp.Expr | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", _sympify(self.alpha, "alpha"))
        object.__setattr__(self, "sigma", _sympify(self.sigma, "sigma"))
        if self.inverse is not None:
            object.__setattr__(self, "inverse", _sympify(self.inverse, "inverse", {"tau": tau}))
        self.validate()

    # Derived quantities are cached on the instance; a pickled path (sent to a worker) carries its
    # expressions only and derives again there.
    def __getstate__(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)

    def __repr__(self) -> str:
        return f"AffinePath({self.name}: alpha={self.alpha}, sigma={self.sigma})"

    # ------------------------------------------------------------------ derivations
    @cached_property
    def d_alpha(self) -> sp.Expr:
        # As differentiated: the identities of residuals() then cancel without simplify().
        return sp.diff(self.alpha, t)

    @cached_property
    def d_sigma(self) -> sp.Expr:
        return sp.diff(self.sigma, t)

    @cached_property
    def log_snr(self) -> sp.Expr:
        r""":math:`\lambda_t=\ln(\alpha_t/\sigma_t)`."""
        return sp.log(self.alpha / self.sigma)

    @cached_property
    def sigma0(self) -> sp.Expr:
        return sp.simplify(self.sigma.subs(t, 0))

    @cached_property
    def log_time(self) -> sp.Expr:
        r""":math:`\tau(t)=-\ln(\sigma_t/\sigma_0)`."""
        return -sp.log(self.sigma / self.sigma0)

    @cached_property
    def dt_dtau(self) -> sp.Expr:
        r""":math:`dt/d\tau=-\sigma_t/\dot\sigma_t` for :math:`\tau=-\ln(\sigma_t/\sigma_0)`."""
        return _tidy(-self.sigma / self.d_sigma)

    @cached_property
    def forcing_coefficient(self) -> sp.Expr:
        r""":math:`g_t=\alpha_t-\sigma_t\dot\alpha_t/\dot\sigma_t`, so :math:`dx/d\tau=-x+g_t\bar x_w`."""
        return _tidy(self.alpha - self.sigma * self.d_alpha / self.d_sigma)

    @cached_property
    def off_subspace_law(self) -> sp.Expr:
        r""":math:`x_\perp(t)/x_\perp(0)=\sigma_t/\sigma_0` along the exact flow."""
        return self.sigma / self.sigma0

    def affine_off_subspace_law(self, y0: sp.Expr, m: sp.Expr) -> sp.Expr:
        r"""Affine variant of the decay: :math:`y=P_{D\perp}x` obeys :math:`\dot y=u_t(y\mid m_\perp)`
        (every point has the same :math:`m_\perp`), so :math:`y(t)=\alpha_tm_\perp+(\sigma_t/\sigma_0)(y(0)-\alpha_0m_\perp)`."""
        return self.alpha * m + self.off_subspace_law * (y0 - self.alpha.subs(t, 0) * m)

    def continuity_mpmath(self, points: tuple[Any, ...] = (-1, sp.Rational(3, 2))) -> tuple[Callable[..., Any], ...]:
        r"""Lambdified (mpmath) ``(residual, dt_p, div_pv)`` in ``(x, t)`` of the continuity equation of
        the mixture :math:`p_t=\frac1N\sum_i\mathcal N(\alpha_tx^{(i)},\sigma_t^2)` and :math:`v^*` in 1-D.

        The residual is :math:`\partial_tp+\partial_x(pv^*)` unsimplified, so that its evaluation
        tests the identity numerically (its symbolic zero for every path is in :func:`generic_facts`).
        """
        cache = self.__dict__.setdefault("_continuity", {})
        if points not in cache:
            xx = sp.Symbol("x", real=True)
            comps = [sp.exp(-((xx - self.alpha * c) ** 2) / (2 * self.sigma**2)) / self.sigma for c in points]
            fields = [self.conditional_velocity(xx, c) for c in points]
            p = sum(comps) / (len(points) * sp.sqrt(2 * sp.pi))
            v = sum(c * u for c, u in zip(comps, fields)) / sum(comps)
            dt_p, div = sp.diff(p, t), sp.diff(p * v, xx)
            cache[points] = tuple(_lambdify((xx, t), e, "mpmath") for e in (dt_p + div, dt_p, div))
        return cache[points]

    @cached_property
    def time_of_tau(self) -> sp.Expr | None:
        r""":math:`t(\tau)` solving :math:`\sigma_t=\sigma_0e^{-\tau}` in closed form (built-ins), or ``None``."""
        return self.inverse

    @cached_property
    def alpha0(self) -> float:
        return _float(self.alpha.subs(t, 0), "alpha_0", self.name)

    @cached_property
    def alpha1(self) -> float:
        return _float(self.alpha.subs(t, 1), "alpha_1", self.name)

    @cached_property
    def sigma1(self) -> float:
        return _float(self.sigma.subs(t, 1), "sigma_1", self.name)

    @cached_property
    def t_switch(self) -> float:
        r"""Time from which the flow is integrated in :math:`\tau`: the last :math:`t` with
        :math:`g_t>` :data:`SWITCH_FACTOR` :math:`g_1` or :math:`dt/d\tau>` :data:`MAX_DT_DTAU`
        (0 when there is none, as on the OT path with :math:`\sigma_{\min}<3/4`)."""
        f = self.functions()
        g1 = self._end_value(f["forcing"])
        return max(
            _last_crossing(f["forcing"], SWITCH_FACTOR * g1),
            _last_crossing(f["dt_dtau"], MAX_DT_DTAU),
        )

    @staticmethod
    def _end_value(fn: Callable[..., Any]) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            v1, v0 = float(fn(1.0)), float(fn(1.0 - 1.0 / (GRID - 1)))
        return v1 if math.isfinite(v1) else v0

    @cached_property
    def tau_end(self) -> float:
        r"""Log-time at which the flow reaches ``t = 1``: :math:`-\ln(\sigma_1/\sigma_0)` for
        :math:`\sigma_1>0`; else the larger of :data:`TAU_AT_T_ONE` and the log-time of
        :math:`t=1-2^{-53}` (beyond it ``t`` is 1 in float64, and so are :math:`\alpha_t`, :math:`g_t`)."""
        s0 = float(self.sigma0)
        sig = self.functions()["sigma"]
        if self.sigma1 > 0:
            return float(-math.log(self.sigma1 / s0))
        last = float(sig(1.0 - 2.0**-53))
        return max(TAU_AT_T_ONE, -math.log(last / s0)) if last > 0 else TAU_AT_T_ONE

    def conditional_velocity(self, x: sp.Expr, y: sp.Expr) -> sp.Expr:
        r""":math:`u_t(x\mid y)=\frac{\dot\sigma_t}{\sigma_t}(x-\alpha_ty)+\dot\alpha_ty` (symbolic)."""
        return self.d_sigma / self.sigma * (x - self.alpha * y) + self.d_alpha * y

    def residuals(self) -> dict[str, sp.Expr]:
        r"""Identities that must be zero (tested with :func:`is_zero`).

        ``on_path``: the conditional velocity along the path equals :math:`\dot\alpha_ty+\dot\sigma_tx_0`;
        ``decay``: :math:`(\sigma_t/\sigma_0)x_\perp(0)` solves :math:`\dot x_\perp=(\dot\sigma_t/\sigma_t)x_\perp`;
        ``affine_decay``: :meth:`affine_off_subspace_law` solves :math:`\dot y=u_t(y\mid m_\perp)`;
        ``tau``: the semilinear :math:`\tau` form equals :math:`(dt/d\tau)\,u`.
        """
        x0, y, c, xbar, x, m = sp.symbols("x_0 y c xbar x m", real=True)
        affine = self.affine_off_subspace_law(c, m)
        return {
            "on_path": self.conditional_velocity(self.alpha * y + self.sigma * x0, y)
            - (self.d_alpha * y + self.d_sigma * x0),
            "decay": sp.diff(self.off_subspace_law * c, t) - self.d_sigma / self.sigma * self.off_subspace_law * c,
            "affine_decay": sp.diff(affine, t) - self.conditional_velocity(affine, m),
            "tau": self.dt_dtau * (self.d_sigma / self.sigma * (x - self.alpha * xbar) + self.d_alpha * xbar)
            - (-x + self.forcing_coefficient * xbar),
        }

    def inverse_error(self, taus: tuple[float, ...] = (1e-9, 0.01, 0.5, 2.0, 10.0, 30.0), dps: int = 50) -> float:
        r"""Largest :math:`|\ln(\sigma_{t(\tau)}/\sigma_0)+\tau|/\max(\tau,1)` of the closed-form inverse,
        evaluated in ``dps``-digit arithmetic at ``taus`` (those below :attr:`tau_end`); 0 without one."""
        if self.time_of_tau is None:
            return 0.0
        inv = _lambdify(tau, self.time_of_tau, "mpmath")
        sig = _lambdify(t, self.sigma, "mpmath")
        worst = 0.0
        with mpmath.workdps(dps):
            s0 = mpmath.mpf(sig(mpmath.mpf(0)))
            for v in taus:
                if v < self.tau_end:
                    tv = mpmath.mpf(v)
                    worst = max(worst, float(abs(mpmath.log(sig(inv(tv)) / s0) + tv) / max(tv, 1)))
        return worst

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Check the conditions of a data-to-noise path (module docstring); raise :class:`PathError`."""
        s0 = _float(self.sigma.subs(t, 0), "sigma_0", self.name)
        a1 = self.alpha1
        if not (math.isfinite(s0) and s0 > 0):
            raise PathError(f"{self.name}: sigma_0 must be > 0 (the source is noise), got {s0}")
        if not (math.isfinite(a1) and a1 > 0):
            raise PathError(f"{self.name}: alpha_1 must be > 0 (the path ends on the data), got {a1}")
        if not (math.isfinite(self.sigma1) and self.sigma1 >= 0):
            raise PathError(f"{self.name}: sigma_1 must be >= 0, got {self.sigma1}")
        if self.alpha0 < 0 or not math.isfinite(self.alpha0):
            raise PathError(f"{self.name}: alpha_0 must be >= 0, got {self.alpha0}")
        if self.alpha0 > 0 and not self.accept_alpha0:
            raise PathError(
                f"{self.name}: alpha_0 = {self.alpha0:.3g} > 0, so x_0 is not pure noise; pass accept_alpha0=True to "
                "accept the approximation (the flow then starts from the mixture of N(alpha_0 x_i, sigma_0^2 I))"
            )
        self._check_smooth_and_real()
        grid = np.linspace(0.0, 1.0, GRID)[1:-1]
        try:
            with np.errstate(all="ignore"):
                a = sp.lambdify(t, self.alpha, "numpy")(grid) * np.ones_like(grid)
                s = sp.lambdify(t, self.sigma, "numpy")(grid) * np.ones_like(grid)
        except (TypeError, ValueError, NameError, AttributeError) as exc:
            raise PathError(f"{self.name}: alpha_t, sigma_t cannot be evaluated in NumPy ({exc})") from None
        if np.iscomplexobj(a) or np.iscomplexobj(s):
            raise PathError(f"{self.name}: alpha_t and sigma_t must be real on (0, 1)")
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(s)) and np.all(s > 0) and np.all(a >= 0)):
            raise PathError(f"{self.name}: alpha_t must be >= 0 and sigma_t > 0 and finite on (0, 1)")
        if np.any(a == 0):
            k = int(np.argmax(a == 0))
            raise PathError(
                f"{self.name}: alpha_t is 0 in float64 at t={grid[k]:.4g} inside (0, 1), so the log-SNR "
                "ln(alpha_t/sigma_t) cannot increase there (a power of t that underflows?)"
            )
        with np.errstate(divide="ignore"):
            lam = np.log(a) - np.log(s)
        if np.any(np.diff(lam) <= 0):
            k = int(np.argmax(np.diff(lam) <= 0))
            raise PathError(
                f"{self.name}: log-SNR ln(alpha_t/sigma_t) must increase on (0, 1); it does not near t={grid[k]:.4g}"
            )
        if np.any(np.diff(s) >= 0):
            k = int(np.argmax(np.diff(s) >= 0))
            raise _not_decreasing(self.name, grid[k])
        self._check_monotone_derivatives()

    def _check_smooth_and_real(self) -> None:
        """Refuse expressions without a usable derivative (``floor``, ``sign``: SymPy leaves a ``Derivative``
        or a ``DiracDelta``) or with imaginary parts, before the numerical checks."""
        for label, e, de in (("alpha", self.alpha, self.d_alpha), ("sigma", self.sigma, self.d_sigma)):
            if de.has(sp.Derivative, sp.Subs, sp.DiracDelta):
                raise PathError(f"{self.name}: {label}_t = {e} is not differentiable on (0, 1)")
            if e.has(sp.I) and not is_zero(sp.im(e.subs(t, sp.Rational(1, 3)))):
                raise PathError(f"{self.name}: {label}_t = {e} is not real")

    def _check_monotone_derivatives(self) -> None:
        r""":math:`\dot\sigma_t\le0` and :math:`\dot\lambda_t\ge0` on (0, 1): proved by SymPy where it can, else
        searched densely (:mod:`theory.monotonicity`); values on the grid alone miss fast oscillations."""
        d_lam = self.d_alpha / self.alpha - self.d_sigma / self.sigma
        da, ds = (sp.lambdify(t, e, "numpy") for e in (self.d_alpha, self.d_sigma))
        a, s = (sp.lambdify(t, e, "numpy") for e in (self.alpha, self.sigma))
        checks = (
            (self.d_sigma, -1, ds, lambda where: _not_decreasing(self.name, where)),
            (
                d_lam,
                1,
                lambda x: da(x) / a(x) - ds(x) / s(x),
                lambda where: PathError(
                    f"{self.name}: log-SNR ln(alpha_t/sigma_t) must increase on (0, 1); it does not near t={where:.6g}"
                ),
            ),
        )
        for expr, sign, fn, error in checks:
            if symbolic_sign(expr, t) == sign:
                continue
            worst, where = worst_violation(fn, sign)
            if worst > MONOTONE_RTOL:
                raise error(where)

    @property
    def source_note(self) -> str:
        """What the source of the flow is (exact noise, or the stated approximation)."""
        var = f"{float(self.sigma0) ** 2:.6g}"
        if self.alpha0 == 0:
            return f"x_0 ~ N(0, {var} I) exactly"
        return (
            f"alpha_0 = {self.alpha0:.3g} > 0: the flow starts from (1/N) sum_i N({self.alpha0:.3g} x_i, {var} I) "
            f"instead of N(0, {var} I); KL to the pure-noise source per point is alpha_0^2 |x_i|^2 / (2 sigma_0^2) "
            f"= {self.alpha0**2 / (2 * float(self.sigma0) ** 2):.3g} |x_i|^2"
        )

    def record(self) -> dict[str, Any]:
        """A description of the path for verdicts, figure sidecars and cache keys."""
        return {"name": self.name, "alpha": str(self.alpha), "sigma": str(self.sigma), **dict(self.parameters)}

    # ------------------------------------------------------------------ lambdified
    def functions(self, module: str = "numpy") -> dict[str, Callable[..., Any]]:
        """Lambdified ``alpha, sigma, d_alpha, d_sigma, dt_dtau, forcing`` for ``module`` in
        :data:`MODULES`, elementwise in ``t`` (built once per path and module); NumPy also gets
        ``time_of_tau`` when it is closed."""
        if module not in MODULES:
            raise ValueError(f"module must be one of {MODULES}, got {module!r}")
        cache = self.__dict__.setdefault("_lambdified", {})
        if module not in cache:
            exprs = {
                "alpha": self.alpha,
                "sigma": self.sigma,
                "d_alpha": self.d_alpha,
                "d_sigma": self.d_sigma,
                "dt_dtau": self.dt_dtau,
                "forcing": self.forcing_coefficient,
            }
            out = {k: _broadcasting(_lambdify(t, e, module)) for k, e in exprs.items()}
            if module == "numpy" and self.time_of_tau is not None:
                out["time_of_tau"] = _broadcasting(_lambdify(tau, self.time_of_tau, module))
            cache[module] = out
        return cache[module]


def _not_decreasing(name: str, where: float) -> PathError:
    return PathError(
        f"{name}: sigma_t must decrease on (0, 1) (the log-time -ln(sigma_t/sigma_0) must run forward); "
        f"it does not near t={where:.4g}"
    )


def _last_crossing(fn: Callable[..., Any], level: float) -> float:
    """The last ``t`` in [0, 1) where ``fn`` (lambdified) exceeds ``level`` (0 if nowhere; NaN and inf count
    as above), located on the validation grid and refined by Brent's method."""
    grid = np.linspace(0.0, 1.0, GRID)
    with np.errstate(divide="ignore", invalid="ignore"):
        vals = np.asarray(fn(grid), dtype=float) * np.ones_like(grid)
    above = ~(vals <= level)
    if not above[:-1].any():
        return 0.0
    k = int(np.nonzero(above[:-1])[0].max())
    lo = grid[k] if np.isfinite(vals[k]) else grid[k] + 1e-12
    hi = grid[k + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if not (float(fn(lo)) > level >= float(fn(hi))):
            return float(hi)
        return float(brentq(lambda s: float(fn(s)) - level, lo, hi, xtol=1e-14))


class _TorchPrinter(TorchPrinter):
    """SymPy's torch printer, plus the float64-accurate ``expm1`` and ``log1p`` the built-ins use."""

    def _print_expm1(self, expr: sp.Expr) -> str:
        return f"{self._module_format('torch.special.expm1')}({self._print(expr.args[0])})"

    def _print_log1p(self, expr: sp.Expr) -> str:
        return f"{self._module_format('torch.log1p')}({self._print(expr.args[0])})"


def _lambdify(args: sp.Symbol, expr: sp.Expr, module: str) -> Callable[..., Any]:
    if module == "torch":
        # Constant subexpressions (exp(201/40)) as float literals: torch functions take tensors only.
        return sp.lambdify(args, expr.evalf(30), "torch", printer=_TorchPrinter)
    return sp.lambdify(args, expr, module)


def _broadcasting(f: Callable[..., Any]) -> Callable[..., Any]:
    # A constant expression lambdifies to a scalar: broadcast it to the shape of the input.
    def g(x: Any) -> Any:
        v = f(x)
        return v + 0 * x if np.ndim(v) == 0 and np.ndim(x) > 0 else v

    return g


# ---------------------------------------------------------------------------------- built-ins
def ot(sigma_min: float = 0.0) -> AffinePath:
    r"""Conditional OT path: :math:`\alpha_t=t`, :math:`\sigma_t=1-(1-\sigma_{\min})t`,
    :math:`t(\tau)=(1-e^{-\tau})/(1-\sigma_{\min})` (derived once per parameter value)."""
    return _ot(float(sigma_min))


@functools.cache
def _ot(sigma_min: float) -> AffinePath:
    """The body of :func:`ot`, cached per value."""
    s = sp.nsimplify(float(sigma_min))
    return AffinePath(
        t, 1 - (1 - s) * t, "ot", parameters=(("sigma_min", float(sigma_min)),), inverse=-expm1(-tau) / (1 - s)
    )


@functools.cache
def cosine() -> AffinePath:
    r"""Cosine path: :math:`\alpha_t=\sin(\pi t/2)`, :math:`\sigma_t=\cos(\pi t/2)` (:math:`\sigma_1=0`),
    :math:`t(\tau)=\frac2\pi\arctan\sqrt{e^{2\tau}-1}`."""
    return AffinePath(
        sp.sin(sp.pi * t / 2), sp.cos(sp.pi * t / 2), "cosine", inverse=2 * sp.atan(sp.sqrt(expm1(2 * tau))) / sp.pi
    )


def vp(beta_min: float = 0.1, beta_max: float = 20.0) -> AffinePath:
    """The VP path with a linear beta schedule (:func:`_vp`; derived once per parameter values)."""
    return _vp(float(beta_min), float(beta_max))


@functools.cache
def _vp(beta_min: float, beta_max: float) -> AffinePath:
    r"""Variance-preserving path with a linear :math:`\beta` schedule (Song et al. 2021, Lipman et al. 2023).

    .. math::
        \alpha_t=e^{-T_t/2},\quad T_t=\int_0^{1-t}\beta(r)\,dr=\beta_{\min}u+\tfrac12(\beta_{\max}-\beta_{\min})u^2,
        \ u=1-t,\qquad \sigma_t=\sqrt{1-\alpha_t^2}.

    :math:`\alpha_0=e^{-\frac12(\beta_{\min}+\frac12(\beta_{\max}-\beta_{\min}))}>0` (6.7e-3 for the
    defaults): accepted as an approximation of the source (see :attr:`AffinePath.source_note`).
    Inverse: :math:`T=-\ln(1-\sigma^2)`, :math:`u=2T/(\beta_{\min}+\sqrt{\beta_{\min}^2+2(\beta_{\max}-\beta_{\min})T})`.
    """
    if not (beta_max > beta_min > 0):
        raise PathError(f"vp: need beta_max > beta_min > 0, got {beta_min}, {beta_max}")
    bmin, bmax = sp.nsimplify(beta_min), sp.nsimplify(beta_max)
    u = 1 - t
    big_t_of_t = bmin * u + (bmax - bmin) * u**2 / 2
    alpha = sp.exp(-big_t_of_t / 2)
    sigma = sp.sqrt(-expm1(-big_t_of_t))  # 1 - alpha^2 without cancellation near t = 1
    s0 = sigma.subs(t, 0)
    big_t = -log1p(-(s0**2) * sp.exp(-2 * tau))
    inverse = 1 - 2 * big_t / (bmin + sp.sqrt(bmin**2 + 2 * (bmax - bmin) * big_t))
    return AffinePath(
        alpha,
        sigma,
        "vp",
        accept_alpha0=True,
        parameters=(("beta_min", float(beta_min)), ("beta_max", float(beta_max))),
        inverse=inverse,
    )


def ve(sigma_max: float = 100.0, sigma_min: float = 0.01) -> AffinePath:
    """The reparametrised VE path (:func:`_ve`; derived once per parameter values)."""
    return _ve(float(sigma_max), float(sigma_min))


@functools.cache
def _ve(sigma_max: float, sigma_min: float) -> AffinePath:
    r"""A variance-exploding schedule as a data-to-noise path of this form.

    The VE process :math:`z_t=y+s_tx_0` with :math:`s_t=\sigma_{\max}^{1-t}\sigma_{\min}^t` has
    :math:`\alpha\equiv1`, so :math:`\alpha_0=1`: its source is :math:`\mathcal N(y,s_0^2I)`, not noise,
    and it is not a path of this form. Its rescaling :math:`x_t=z_t/\sqrt{1+s_t^2}` (same
    trajectories up to the scale, same posterior weights) is:

    .. math:: \alpha_t=\frac1{\sqrt{1+s_t^2}},\qquad\sigma_t=\frac{s_t}{\sqrt{1+s_t^2}},

    with :math:`\alpha_0=1/\sqrt{1+\sigma_{\max}^2}` (about 0.01, accepted as an approximation) and
    :math:`\sigma_1=\sigma_{\min}/\sqrt{1+\sigma_{\min}^2}>0` (the terminal law keeps that width).
    Inverse: :math:`s=\sigma/\sqrt{1-\sigma^2}`, :math:`t=\ln(s/\sigma_{\max})/\ln(\sigma_{\min}/\sigma_{\max})`.
    """
    if not (sigma_max > sigma_min > 0):
        raise PathError(f"ve: need sigma_max > sigma_min > 0, got {sigma_max}, {sigma_min}")
    a, b = sp.nsimplify(sigma_max), sp.nsimplify(sigma_min)
    s = a ** (1 - t) * b**t
    sig = s / sp.sqrt(1 + s**2)
    sig_tau = sig.subs(t, 0) * sp.exp(-tau)
    inverse = (sp.log(sig_tau) - sp.log(1 - sig_tau**2) / 2 - sp.log(a)) / (sp.log(b) - sp.log(a))
    return AffinePath(
        1 / sp.sqrt(1 + s**2),
        sig,
        "ve",
        accept_alpha0=True,
        parameters=(("sigma_max", float(sigma_max)), ("sigma_min", float(sigma_min))),
        inverse=inverse,
    )


@functools.cache
def polynomial(alpha: tuple[float, ...], sigma: tuple[float, ...]) -> AffinePath:
    r"""A polynomial schedule :math:`\alpha_t=\sum_ka_kt^k`, :math:`\sigma_t=\sum_ks_kt^k` (coefficients from degree 0)."""
    a = sum(sp.nsimplify(c) * t**k for k, c in enumerate(alpha))
    s = sum(sp.nsimplify(c) * t**k for k, c in enumerate(sigma))
    return AffinePath(
        a,
        s,
        "polynomial",
        parameters=tuple((f"a{k}", float(c)) for k, c in enumerate(alpha))
        + tuple((f"s{k}", float(c)) for k, c in enumerate(sigma)),
    )


BUILT_IN: dict[str, Callable[..., AffinePath]] = {"ot": ot, "cosine": cosine, "vp": vp, "ve": ve}
_CALL = re.compile(r"^(\w+)\s*\(([^()]*)\)$")


def parse_path(spec: str) -> AffinePath:
    """A path from a command-line string.

    Accepted: a built-in name (``ot``, ``cosine``, ``vp``, ``ve``), a built-in with its numeric
    arguments (``ot(0.01)``, ``vp(0.1, 20)``), or ``"alpha=<expr>; sigma=<expr>"`` in ``t`` (SymPy
    syntax, e.g. ``alpha=sin(pi*t/2); sigma=cos(pi*t/2)``).

    Raises
    ------
    PathError
        Unknown name, unparsable expression, or an invalid path (the condition is named).
    """
    if not isinstance(spec, str):
        raise PathError(f"a path text must be a string, got {type(spec).__name__}")
    s = spec.strip()
    if not s:
        raise PathError(f"--path is empty: give one of {', '.join(BUILT_IN)} or 'alpha=<expr in t>; sigma=<expr in t>'")
    if s in BUILT_IN:
        return BUILT_IN[s]()
    call = _CALL.match(s)
    if call and call.group(1) in BUILT_IN:
        try:
            args = [float(a) for a in call.group(2).split(",") if a.strip()]
        except ValueError:
            raise PathError(f"arguments of {call.group(1)} must be numbers, got {call.group(2)!r}") from None
        try:
            return BUILT_IN[call.group(1)](*args)
        except TypeError as exc:
            raise PathError(f"{call.group(1)}: {exc}") from None
    pieces = [p.split("=", 1) for p in s.split(";") if p.strip()]
    names = [p[0].strip() for p in pieces]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PathError(f"--path names {', '.join(twice)} more than once: {spec!r}")
    parts = {p[0].strip(): p[1].strip() for p in pieces if len(p) == 2}
    if len(parts) != len(pieces) or set(parts) != {"alpha", "sigma"}:
        raise PathError(
            f"--path must be one of {', '.join(BUILT_IN)} (optionally with arguments, e.g. ot(0.01)) or "
            f"'alpha=<expr in t>; sigma=<expr in t>', got {spec!r}"
        )
    return AffinePath(parts["alpha"], parts["sigma"], "custom")


# ---------------------------------------------------------------------------------- facts for every path
@functools.cache
def generic_facts() -> dict[str, Any]:
    r"""Facts of the exact field that hold for every affine Gaussian path, derived with
    :math:`\alpha_t`, :math:`\sigma_t` as undetermined functions (so they prove the claim for any path).

    - ``cfm_minimizer``: the pointwise CFM loss :math:`\sum_ip_i\|c-u_i\|^2` at fixed :math:`(x,t)`
      (``tiny``-sized: :math:`d=2`, :math:`N=3`, symbolic points) is minimised by the softmax posterior
      mean of :math:`u_i=u_t(x\mid x^{(i)})` (residuals, each 0) with Hessian :math:`2\sum_ip_iI`
      (``hessian``, 0 after subtracting it);
    - ``continuity``: :math:`\partial_tp_t+\partial_x(p_tv^*)` for a two-point mixture in 1-D,
      divided by :math:`p_t` componentwise (0);
    - ``dw_dx3``, ``res_perp``, ``res_par``: facts (a), (b) on :math:`d=3`, :math:`N=2` points in the
      :math:`e_1,e_2` plane: the weights ignore :math:`x_3`, :math:`v_3=(\dot\sigma_t/\sigma_t)x_3`,
      the in-plane field depends on :math:`x_\parallel` only (each 0).
    """
    a, s = sp.Function("alpha")(t), sp.Function("sigma")(t)
    da, ds = sp.diff(a, t), sp.diff(s, t)

    def u(xv: sp.Expr, yv: sp.Expr) -> sp.Expr:
        return ds / s * (xv - a * yv) + da * yv

    # CFM minimiser: densities K exp(L_i), with the exponentials named E_i (a rational problem).
    ys = [sp.symbols(f"p{i}_0:2", real=True) for i in range(3)]
    xs = sp.symbols("y0:2", real=True)
    cs = sp.symbols("c0:2", real=True)
    k_sym = sp.symbols("K", positive=True)
    es = sp.symbols("E0:3", positive=True)
    ui = [[u(xs[k], p[k]) for k in range(2)] for p in ys]
    loss = sum(k_sym * es[i] * sum((cs[k] - ui[i][k]) ** 2 for k in range(2)) for i in range(3))
    sol = sp.solve([sp.diff(loss, c) for c in cs], cs, dict=True)[0]
    soft = [sum(es[i] * ui[i][k] for i in range(3)) / sum(es) for k in range(2)]
    density = [
        (2 * sp.pi * s**2) ** -1 * sp.exp(-sum((xs[k] - a * p[k]) ** 2 for k in range(2)) / (2 * s**2)) for p in ys
    ]
    dens_res = [
        sp.simplify(
            d / ((2 * sp.pi * s**2) ** -1) - sp.exp(-sum((xs[k] - a * p[k]) ** 2 for k in range(2)) / (2 * s**2))
        )
        for d, p in zip(density, ys)
    ]
    minimizer = [sp.cancel(sp.together(sol[cs[k]] - soft[k])) for k in range(2)] + dens_res
    hessian = sp.simplify(sp.hessian(loss, cs) - 2 * k_sym * sum(es) * sp.eye(2))

    # Continuity: p v* = (1/N) sum_i N_i u_i, so the residual is a sum of per-component ones.
    xx = sp.Symbol("x", real=True)
    comps = [sp.exp(-((xx - a * c) ** 2) / (2 * s**2)) / (sp.sqrt(2 * sp.pi) * s) for c in (-1, sp.Rational(3, 2))]
    continuity = sum(
        sp.simplify((sp.diff(cmp, t) + sp.diff(cmp * u(xx, c), xx)) / cmp)
        for cmp, c in zip(comps, (-1, sp.Rational(3, 2)))
    )

    # Facts (a), (b): symbolic points (a1, a2, 0), (b1, b2, 0) and query (y1, y2, y3).
    a1, a2, b1, b2, y1, y2, y3 = sp.symbols("a1 a2 b1 b2 y1 y2 y3", real=True)
    pts, xv = [(a1, a2, 0), (b1, b2, 0)], (y1, y2, y3)

    def weights(dims: int) -> list[sp.Expr]:
        lg = [-sum((xv[k] - a * p[k]) ** 2 for k in range(dims)) / (2 * s**2) for p in pts]
        den = sum(sp.exp(v) for v in lg)
        return [sp.exp(v) / den for v in lg]

    w, w_par = weights(3), weights(2)
    vfield = [sum(w[i] * u(xv[k], pts[i][k]) for i in range(2)) for k in range(3)]
    return {
        "cfm_minimizer": minimizer,
        "hessian": hessian,
        "continuity": sp.simplify(continuity),
        "dw_dx3": [sp.simplify(sp.diff(wi, y3)) for wi in w],
        "res_perp": sp.simplify(vfield[2] - ds / s * y3),
        "res_par": [sp.simplify(vfield[k] - sum(w_par[i] * u(xv[k], pts[i][k]) for i in range(2))) for k in range(2)],
    }
