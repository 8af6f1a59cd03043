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

  .. math:: \frac{dx}{d\tau}=-x+\Big(\alpha_t-\frac{\sigma_t\dot\alpha_t}{\dot\sigma_t}\Big)\bar x_w,

  (spec ``gao_li.md`` §1.3 for the OT path, where the bracket is :math:`1/(1-\sigma_{\min})`),
  with :math:`dt/d\tau=-\sigma_t/\dot\sigma_t` and, where SymPy finds it, :math:`t(\tau)` in
  closed form;
- the off-subspace law of the exact flow, :math:`x_\perp(t)=(\sigma_t/\sigma_0)\,x_\perp(0)` (the
  part of :math:`u` orthogonal to the data span is :math:`(\dot\sigma_t/\sigma_t)x_\perp`).

Validation (:meth:`AffinePath.validate`): :math:`\sigma_0>0`, :math:`\alpha_1>0`, :math:`\sigma_1\ge0`,
:math:`\lambda_t` increasing and :math:`\sigma_t` decreasing on :math:`(0,1)` (the log-time must
run forward), and :math:`\alpha_0=0` — or :math:`\alpha_0>0` explicitly accepted as an approximation
(VP schedules), whose effect on the source is stated: the flow then starts from
:math:`\frac1N\sum_i\mathcal N(\alpha_0x^{(i)},\sigma_0^2I)` instead of :math:`\mathcal N(0,I)`.
A violated condition raises :class:`PathError` naming it.

Built-in paths: :func:`ot` (conditional OT, :math:`\sigma_{\min}`), :func:`cosine`,
:func:`vp` (linear :math:`\beta` schedule), :func:`ve` (a variance-exploding schedule,
reparametrised so that it is a data-to-noise path of this form) and :func:`polynomial`.

References
----------
Y. Lipman et al., *Flow Matching for Generative Modeling*, ICLR 2023 (OT, VP and VE paths);
Y. Song et al., *Score-Based Generative Modeling through SDEs*, ICLR 2021 (VP and VE schedules).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import sympy as sp

t = sp.Symbol("t", real=True)
tau = sp.Symbol("tau", nonnegative=True)
GRID = 4001  # points of (0, 1) on which monotonicity is checked where SymPy cannot prove it


class PathError(ValueError):
    """A path that is not a valid data-to-noise affine Gaussian path (the condition is named)."""


def _sympify(expr: Any, name: str) -> sp.Expr:
    e = sp.sympify(expr, locals={"t": t, "pi": sp.pi})
    extra = e.free_symbols - {t}
    if extra:
        raise PathError(f"{name} may depend on t only, got symbols {sorted(map(str, extra))}")
    return e


@dataclass(frozen=True, eq=False)
class AffinePath:
    r"""A path :math:`x_t=\alpha_ty+\sigma_tx_0` given by SymPy expressions in ``t``.

    Parameters
    ----------
    alpha, sigma : SymPy expressions (or strings SymPy parses) in ``t``
    name : a short name (``"cosine"``, ``"vp"``, ...)
    accept_alpha0 : accept :math:`\alpha_0>0` (an approximate source, stated by :attr:`source_note`)
    parameters : the path's parameters, for records and cache keys

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", _sympify(self.alpha, "alpha"))
        object.__setattr__(self, "sigma", _sympify(self.sigma, "sigma"))
        self.validate()

    # ------------------------------------------------------------------ derivations
    @cached_property
    def d_alpha(self) -> sp.Expr:
        return sp.simplify(sp.diff(self.alpha, t))

    @cached_property
    def d_sigma(self) -> sp.Expr:
        return sp.simplify(sp.diff(self.sigma, t))

    @cached_property
    def log_snr(self) -> sp.Expr:
        r""":math:`\lambda_t=\ln(\alpha_t/\sigma_t)`."""
        return sp.log(self.alpha / self.sigma)

    @cached_property
    def dt_dtau(self) -> sp.Expr:
        r""":math:`dt/d\tau=-\sigma_t/\dot\sigma_t` for :math:`\tau=-\ln(\sigma_t/\sigma_0)`."""
        return sp.simplify(-self.sigma / self.d_sigma)

    @cached_property
    def forcing_coefficient(self) -> sp.Expr:
        r""":math:`g_t=\alpha_t-\sigma_t\dot\alpha_t/\dot\sigma_t`, so :math:`dx/d\tau=-x+g_t\bar x_w`."""
        return sp.simplify(self.alpha - self.sigma * self.d_alpha / self.d_sigma)

    @cached_property
    def time_of_tau(self) -> sp.Expr | None:
        r""":math:`t(\tau)` solving :math:`\sigma_t=\sigma_0e^{-\tau}` in closed form, or ``None``."""
        try:
            sols = sp.solve(sp.Eq(self.sigma, self.sigma0 * sp.exp(-tau)), t)
        except (NotImplementedError, ValueError):
            return None
        for s in sols:
            val = complex(sp.N(s.subs(tau, sp.Rational(1, 3))))
            if abs(val.imag) < 1e-12 and 0 < val.real < 1:
                return sp.simplify(s)
        return None

    @cached_property
    def sigma0(self) -> sp.Expr:
        return sp.simplify(self.sigma.subs(t, 0))

    @cached_property
    def alpha0(self) -> float:
        return float(self.alpha.subs(t, 0))

    @cached_property
    def sigma1(self) -> float:
        return float(self.sigma.subs(t, 1))

    def conditional_velocity(self, x: sp.Expr, y: sp.Expr) -> sp.Expr:
        r""":math:`u_t(x\mid y)=\frac{\dot\sigma_t}{\sigma_t}(x-\alpha_ty)+\dot\alpha_ty` (symbolic)."""
        return self.d_sigma / self.sigma * (x - self.alpha * y) + self.d_alpha * y

    def residuals(self) -> dict[str, sp.Expr]:
        r"""Identities that must simplify to zero: the conditional velocity along the path equals
        :math:`\dot\alpha_ty+\dot\sigma_tx_0`; the off-subspace ODE :math:`\dot x_\perp=(\dot\sigma_t/\sigma_t)x_\perp`
        is solved by :math:`(\sigma_t/\sigma_0)x_\perp(0)`; the semilinear :math:`\tau` form equals
        :math:`(dt/d\tau)\,u`."""
        x0, y, c, xbar, x = sp.symbols("x_0 y c xbar x", real=True)
        on_path = self.conditional_velocity(self.alpha * y + self.sigma * x0, y) - (
            self.d_alpha * y + self.d_sigma * x0
        )
        law = self.sigma / self.sigma0 * c
        decay = sp.diff(law, t) - self.d_sigma / self.sigma * law
        field_t = self.d_sigma / self.sigma * (x - self.alpha * xbar) + self.d_alpha * xbar
        semilinear = self.dt_dtau * field_t - (-x + self.forcing_coefficient * xbar)
        return {name: sp.simplify(e) for name, e in (("on_path", on_path), ("decay", decay), ("tau", semilinear))}

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Check the conditions of a data-to-noise path (module docstring); raise :class:`PathError`."""
        s0 = float(self.sigma.subs(t, 0))
        a1 = float(self.alpha.subs(t, 1))
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
        grid = np.linspace(0.0, 1.0, GRID)[1:-1]
        a = sp.lambdify(t, self.alpha, "numpy")(grid) * np.ones_like(grid)
        s = sp.lambdify(t, self.sigma, "numpy")(grid) * np.ones_like(grid)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(s)) and np.all(s > 0) and np.all(a >= 0)):
            raise PathError(f"{self.name}: alpha_t must be >= 0 and sigma_t > 0 and finite on (0, 1)")
        with np.errstate(divide="ignore"):
            lam = np.log(a) - np.log(s)
        if np.any(np.diff(lam) <= 0):
            k = int(np.argmax(np.diff(lam) <= 0))
            raise PathError(
                f"{self.name}: log-SNR ln(alpha_t/sigma_t) must increase on (0, 1); it does not near t={grid[k]:.4g}"
            )
        if np.any(np.diff(s) >= 0):
            k = int(np.argmax(np.diff(s) >= 0))
            raise PathError(
                f"{self.name}: sigma_t must decrease on (0, 1) (the log-time -ln(sigma_t/sigma_0) must run forward); "
                f"it does not near t={grid[k]:.4g}"
            )

    @property
    def source_note(self) -> str:
        """What the source of the flow is (exact noise, or the stated approximation)."""
        if self.alpha0 == 0:
            return f"x_0 ~ N(0, {float(self.sigma0) ** 2:.6g} I) exactly"
        return (
            f"alpha_0 = {self.alpha0:.3g} > 0: the flow starts from (1/N) sum_i N({self.alpha0:.3g} x_i, "
            f"{float(self.sigma0) ** 2:.6g} I) instead of N(0, I); KL to the pure-noise source per point "
            f"is alpha_0^2 |x_i|^2 / (2 sigma_0^2) = {self.alpha0**2 / (2 * float(self.sigma0) ** 2):.3g} |x_i|^2"
        )

    def record(self) -> dict[str, Any]:
        """A description of the path for verdicts, figure sidecars and cache keys."""
        return {"name": self.name, "alpha": str(self.alpha), "sigma": str(self.sigma), **dict(self.parameters)}

    # ------------------------------------------------------------------ lambdified
    def functions(self, module: str = "numpy") -> dict[str, Callable[..., Any]]:
        """Lambdified ``alpha, sigma, d_alpha, d_sigma, dt_dtau, forcing`` (and ``time_of_tau`` when closed)
        for ``module`` in ``{"numpy", "torch"}``, elementwise in ``t``."""
        return _lambdified(self, module)


_LAMBDIFIED: dict[tuple[int, str], dict[str, Callable[..., Any]]] = {}


def _lambdified(path: AffinePath, module: str) -> dict[str, Callable[..., Any]]:
    key = (id(path), module)
    if key not in _LAMBDIFIED:
        exprs = {
            "alpha": path.alpha,
            "sigma": path.sigma,
            "d_alpha": path.d_alpha,
            "d_sigma": path.d_sigma,
            "dt_dtau": path.dt_dtau,
            "forcing": path.forcing_coefficient,
        }
        out = {k: _broadcasting(sp.lambdify(t, e, module)) for k, e in exprs.items()}
        if path.time_of_tau is not None:
            out["time_of_tau"] = _broadcasting(sp.lambdify(tau, path.time_of_tau, module))
        _LAMBDIFIED[key] = out
    return _LAMBDIFIED[key]


def _broadcasting(f: Callable[..., Any]) -> Callable[..., Any]:
    # A constant expression lambdifies to a scalar: broadcast it to the shape of the input.
    def g(x: Any) -> Any:
        v = f(x)
        return v + 0 * x if np.ndim(v) == 0 else v

    return g


# ---------------------------------------------------------------------------------- built-ins
def ot(sigma_min: float = 0.0) -> AffinePath:
    r"""Conditional OT path: :math:`\alpha_t=t`, :math:`\sigma_t=1-(1-\sigma_{\min})t`."""
    s = sp.nsimplify(sigma_min)
    return AffinePath(t, 1 - (1 - s) * t, "ot", parameters=(("sigma_min", float(sigma_min)),))


def cosine() -> AffinePath:
    r"""Cosine path: :math:`\alpha_t=\sin(\pi t/2)`, :math:`\sigma_t=\cos(\pi t/2)` (:math:`\sigma_1=0`)."""
    return AffinePath(sp.sin(sp.pi * t / 2), sp.cos(sp.pi * t / 2), "cosine")


def vp(beta_min: float = 0.1, beta_max: float = 20.0) -> AffinePath:
    r"""Variance-preserving path with a linear :math:`\beta` schedule (Song et al. 2021, Lipman et al. 2023).

    .. math::
        \alpha_t=\exp\Big(-\tfrac12\int_0^{1-t}\beta(r)\,dr\Big),\quad \beta(r)=\beta_{\min}+r(\beta_{\max}-\beta_{\min}),
        \qquad \sigma_t=\sqrt{1-\alpha_t^2}.

    :math:`\alpha_0=e^{-\frac12(\beta_{\min}+\frac12(\beta_{\max}-\beta_{\min}))}>0` (6.6e-3 for the
    defaults): accepted as an approximation of the source (see :attr:`AffinePath.source_note`).
    """
    r = sp.Symbol("r", nonnegative=True)
    bmin, bmax = sp.nsimplify(beta_min), sp.nsimplify(beta_max)
    integral = sp.integrate(bmin + r * (bmax - bmin), (r, 0, 1 - t))
    alpha = sp.exp(-integral / 2)
    return AffinePath(
        alpha,
        sp.sqrt(1 - alpha**2),
        "vp",
        accept_alpha0=True,
        parameters=(("beta_min", float(beta_min)), ("beta_max", float(beta_max))),
    )


def ve(sigma_max: float = 100.0, sigma_min: float = 0.01) -> AffinePath:
    r"""A variance-exploding schedule as a data-to-noise path of this form.

    The VE process :math:`z_t=y+s_tx_0` with :math:`s_t=\sigma_{\max}^{1-t}\sigma_{\min}^t` has
    :math:`\alpha\equiv1`, so :math:`\alpha_0=1`: its source is :math:`\mathcal N(y,s_0^2I)`, not noise,
    and it is not a path of this form. Its rescaling :math:`x_t=z_t/\sqrt{1+s_t^2}` (same
    trajectories up to the scale, same posterior weights) is:

    .. math:: \alpha_t=\frac1{\sqrt{1+s_t^2}},\qquad\sigma_t=\frac{s_t}{\sqrt{1+s_t^2}},

    with :math:`\alpha_0=1/\sqrt{1+\sigma_{\max}^2}` (about 0.01, accepted as an approximation) and
    :math:`\sigma_1=\sigma_{\min}/\sqrt{1+\sigma_{\min}^2}>0` (the terminal law keeps that width).
    """
    if not (sigma_max > sigma_min > 0):
        raise PathError(f"ve: need sigma_max > sigma_min > 0, got {sigma_max}, {sigma_min}")
    s = sp.nsimplify(sigma_max) ** (1 - t) * sp.nsimplify(sigma_min) ** t
    return AffinePath(
        1 / sp.sqrt(1 + s**2),
        s / sp.sqrt(1 + s**2),
        "ve",
        accept_alpha0=True,
        parameters=(("sigma_max", float(sigma_max)), ("sigma_min", float(sigma_min))),
    )


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


BUILT_IN: dict[str, Callable[[], AffinePath]] = {"ot": ot, "cosine": cosine, "vp": vp, "ve": ve}


def parse_path(spec: str) -> AffinePath:
    """A path from a command-line string: a built-in name (``ot``, ``cosine``, ``vp``, ``ve``) or
    ``"alpha=<expr>; sigma=<expr>"`` in ``t`` (SymPy syntax, e.g. ``alpha=sin(pi*t/2); sigma=cos(pi*t/2)``).

    Raises
    ------
    PathError
        Unknown name, unparsable expression, or an invalid path (the condition is named).
    """
    s = spec.strip()
    if s in BUILT_IN:
        return BUILT_IN[s]()
    parts = dict(p.split("=", 1) for p in s.split(";") if "=" in p)
    parts = {k.strip(): v.strip() for k, v in parts.items()}
    if set(parts) - {"alpha", "sigma"} or "alpha" not in parts or "sigma" not in parts:
        raise PathError(
            f"--path must be one of {', '.join(BUILT_IN)} or 'alpha=<expr in t>; sigma=<expr in t>', got {spec!r}"
        )
    try:
        return AffinePath(parts["alpha"], parts["sigma"], "custom")
    except (sp.SympifyError, TypeError) as exc:
        raise PathError(f"cannot parse {spec!r}: {exc}") from None
