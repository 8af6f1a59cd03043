"""Symbolic derivations for flow matching with an empirical target (Gao & Li, spec ``gao_li.md``).

Everything here is derived with SymPy from the conditional OT path

.. math:: x_t = t\\,x_1 + \\sigma_t x_0,\\qquad \\sigma_t = 1-(1-\\sigma_{\\min})t,

a standard Gaussian prior and ``N`` equally weighted data points; nothing is transcribed. Each
function returns SymPy expressions (usually residuals that must simplify to zero) or lambdified
callables, computed once (``functools.lru_cache``) and reused by the numerics and the checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import sympy as sp

t, smin = sp.symbols("t sigma_min", real=True)
x0, x1, x = sp.symbols("x_0 x_1 x", real=True)


def sigma_expr(tt: sp.Expr = t, s: sp.Expr = smin) -> sp.Expr:
    """:math:`\\sigma_t = 1-(1-\\sigma_{\\min})t`."""
    return 1 - (1 - s) * tt


# ----------------------------------------------------------------------------- conditional field
@cache
def conditional_field() -> dict[str, sp.Expr]:
    """Derive the conditional OT field and return the residuals that prove its three forms.

    .. math::

        \\frac{d}{dt}(t x_1+\\sigma_t x_0)=x_1-(1-\\sigma_{\\min})x_0,\\qquad
        u_t(x\\mid x_1)=\\frac{\\sigma_t'}{\\sigma_t}(x-\\mu_t)+\\mu_t'
        =\\frac{x_1-(1-\\sigma_{\\min})x}{\\sigma_t}

    Returns
    -------
    dict with ``field`` (the derived :math:`u_t(x\\mid x_1)`), ``res_velocity`` (time derivative
    of the path minus the constant field), ``res_closed_form`` (general Gaussian-path field minus
    the closed form) and ``res_on_path`` (field at :math:`x=x_t` minus the path velocity), each
    simplified.
    """
    sig = sigma_expr()
    mu = t * x1
    path = mu + sig * x0
    u_general = sp.diff(sig, t) / sig * (x - mu) + sp.diff(mu, t)
    closed = (x1 - (1 - smin) * x) / sig
    return {
        "field": sp.simplify(u_general),
        "res_velocity": sp.simplify(sp.diff(path, t) - (x1 - (1 - smin) * x0)),
        "res_closed_form": sp.simplify(u_general - closed),
        "res_on_path": sp.simplify(u_general.subs(x, path) - sp.diff(path, t)),
    }


# ----------------------------------------------------------------------------- posterior mean
def _gauss_density(xv: Sequence[sp.Expr], mean: Sequence[sp.Expr], sd: sp.Expr) -> sp.Expr:
    d = len(xv)
    sq = sum((a - b) ** 2 for a, b in zip(xv, mean))
    # (sqrt(2 pi) sd)^-d rather than (2 pi sd^2)^(-d/2): sd > 0 on [0, 1), no |sd| branches.
    return (sp.sqrt(2 * sp.pi) * sd) ** (-d) * sp.exp(-sq / (2 * sd**2))


@cache
def gaussian_path_posterior(points: tuple[tuple[sp.Rational, ...], ...]) -> dict[str, sp.Expr]:
    """Bayes posterior of the index for a general Gaussian path equals the softmax with the
    :math:`-d\\ln\\sigma_t(x^{(i)})` term; for the OT path that term cancels.

    Path: :math:`\\mu_t(x_1)=t x_1`, :math:`\\sigma_t(x_1)=1-(1-s\\|x_1\\|^2)t` (spec example).

    .. math::

        p(i\\mid x)=\\frac{\\mathcal N(x;\\mu_t(x^{(i)}),\\sigma_t(x^{(i)})^2 I)}
        {\\sum_j\\mathcal N(x;\\mu_t(x^{(j)}),\\sigma_t(x^{(j)})^2 I)}
        =\\operatorname{softmax}_i\\Big(-\\frac{\\|x-\\mu_t(x^{(i)})\\|^2}{2\\sigma_t(x^{(i)})^2}
        -d\\ln\\sigma_t(x^{(i)})\\Big)

    Returns simplified residuals ``res_general`` (posterior minus softmax with the log term,
    general path, must be 0) and ``res_ot`` (OT path without the term, must be 0), and the
    unsimplified differences ``general_minus_with_log`` (zero) and ``general_minus_no_log``
    (nonzero) for numerical evaluation.
    """
    d = len(points[0])
    xs = sp.symbols(f"y0:{d}", real=True)
    s = sp.symbols("s", positive=True)

    def sig_of(p: tuple) -> sp.Expr:
        return 1 - (1 - s * sum(sp.nsimplify(v) ** 2 for v in p)) * t

    def parts(sig_fn: Callable[[tuple], sp.Expr]) -> tuple[list, list, list]:
        dens = [_gauss_density(xs, [t * sp.nsimplify(v) for v in p], sig_fn(p)) for p in points]
        sq = [sum((xs[k] - t * sp.nsimplify(p[k])) ** 2 for k in range(d)) for p in points]
        with_log = [-q / (2 * sig_fn(p) ** 2) - d * sp.log(sig_fn(p)) for q, p in zip(sq, points)]
        no_log = [-q / (2 * sig_fn(p) ** 2) for q, p in zip(sq, points)]
        return dens, with_log, no_log

    def softmax(lg: list) -> list:
        den = sum(sp.exp(v) for v in lg)
        return [sp.exp(v) / den for v in lg]

    dens, with_log, no_log = parts(sig_of)
    post = [v / sum(dens) for v in dens]
    res_general = [sp.simplify(sp.powsimp(sp.expand_log(a - b, force=True))) for a, b in zip(post, softmax(with_log))]
    dens_ot, _, no_log_ot = parts(lambda p: sigma_expr())
    post_ot = [v / sum(dens_ot) for v in dens_ot]
    res_ot = [sp.simplify(a - b) for a, b in zip(post_ot, softmax(no_log_ot))]
    diff_no_log = [a - b for a, b in zip(post, softmax(no_log))]
    diff_with_log = [a - b for a, b in zip(post, softmax(with_log))]
    return {
        "res_general": res_general,
        "res_ot": res_ot,
        "general_minus_no_log": diff_no_log,
        "general_minus_with_log": diff_with_log,
        "symbols": xs,
        "s": s,
    }


# ----------------------------------------------------------------------------- Jacobian
@cache
def jacobian_identity(n_points: int = 2, dim: int = 2) -> dict[str, sp.Matrix]:
    """Fact (d): :math:`\\nabla_x v^*=\\sigma_t^{-1}[t\\sigma_t^{-2}\\mathrm{Cov}_w-(1-\\sigma_{\\min})I]`.

    Differentiates the softmax field with symbolic points and query in ``dim`` dimensions and
    returns ``residual`` (Jacobian minus the formula; must simplify to the zero matrix) and
    ``asymmetry`` (Jacobian minus its transpose; zero).
    """
    xs = sp.symbols(f"y0:{dim}", real=True)
    pts = [sp.symbols(f"p{i}_0:{dim}", real=True) for i in range(n_points)]
    sig = sigma_expr()
    logits = [-sum((xs[k] - t * p[k]) ** 2 for k in range(dim)) / (2 * sig**2) for p in pts]
    den = sum(sp.exp(v) for v in logits)
    w = [sp.exp(v) / den for v in logits]
    v = sp.Matrix([sum(w[i] * (pts[i][k] - (1 - smin) * xs[k]) / sig for i in range(n_points)) for k in range(dim)])
    jac = v.jacobian(sp.Matrix(xs))
    mean = [sum(w[i] * pts[i][k] for i in range(n_points)) for k in range(dim)]
    cov = sp.Matrix(
        dim, dim, lambda a, b: sum(w[i] * (pts[i][a] - mean[a]) * (pts[i][b] - mean[b]) for i in range(n_points))
    )
    formula = (t / sig**2 * cov - (1 - smin) * sp.eye(dim)) / sig
    # Name each exponential: the residual is then a rational function of E_i, t, sigma_min and
    # the coordinates, and cancel() decides exactly whether it vanishes.
    es = sp.symbols(f"E0:{n_points}", positive=True)
    names = {sp.exp(lg): e for lg, e in zip(logits, es)}
    res = (jac - formula).applyfunc(lambda e: sp.cancel(sp.together(e.xreplace(names))))
    asym = (jac - jac.T).applyfunc(lambda e: sp.cancel(sp.together(e.xreplace(names))))
    return {"residual": res, "asymmetry": asym}


# ----------------------------------------------------------------------------- softmax concentration
@cache
def weight_log_ratio() -> dict[str, sp.Expr]:
    """Exact law of :math:`\\log(w_i/w_j)` at :math:`x=t x^{(j)}+\\sigma_t z` (1-D reduction).

    With :math:`\\Delta=\\|x^{(i)}-x^{(j)}\\|`, :math:`Z=(x^{(j)}-x^{(i)})^\\top z/\\Delta`,
    :math:`a=t\\Delta/\\sigma_t`:

    .. math:: \\log\\frac{w_i}{w_j}=-\\frac{a^2}2-aZ

    The derivation places :math:`x^{(j)}=0`, :math:`x^{(i)}=-\\Delta e_1` (rotation and
    translation invariance of the squared distances), so :math:`Z=z_1`; ``residual`` must be 0.
    """
    delta = sp.symbols("Delta", positive=True)
    z1, zr = sp.symbols("z1 z_rest", real=True)
    sig = sigma_expr()
    xq1 = sig * z1
    li = -((xq1 + t * delta) ** 2 + zr**2 * sig**2) / (2 * sig**2)
    lj = -((xq1) ** 2 + zr**2 * sig**2) / (2 * sig**2)
    a = t * delta / sig
    return {"log_ratio": sp.simplify(li - lj), "residual": sp.simplify(li - lj - (-(a**2) / 2 - a * z1))}


@cache
def pair_resolution() -> dict[str, sp.Expr]:
    """Resolution time of a pair: the median of :math:`w_j` (at :math:`Z=0`) reaches 0.99 when
    :math:`a=t\\Delta/\\sigma_t=a_*=\\sqrt{2\\ln 99}`, i.e.

    .. math:: t_{0.99}(\\Delta)=\\frac{a_*}{\\Delta+a_*(1-\\sigma_{\\min})}

    Returns ``a_star`` (solved from :math:`1/(1+e^{-a^2/2})=0.99`), ``t_star`` (solved from
    :math:`t\\Delta/\\sigma_t=a_*`) and ``res_t_star`` (difference from the spec's form, zero).
    """
    a = sp.symbols("a", positive=True)
    delta = sp.symbols("Delta", positive=True)
    a_star = next(s for s in sp.solve(sp.Eq(1 / (1 + sp.exp(-(a**2) / 2)), sp.Rational(99, 100)), a) if s.is_positive)
    t_star = sp.solve(sp.Eq(t * delta / sigma_expr(), a_star), t)[0]
    return {
        "a_star": sp.simplify(a_star),
        "t_star": t_star,
        "delta": delta,
        "res_t_star": sp.simplify(t_star - a_star / (delta + a_star * (1 - smin))),
    }


@cache
def pair_resolution_time_fn() -> Callable:
    """Lambdified :math:`t_{0.99}(\\Delta,\\sigma_{\\min})` (NumPy)."""
    r = pair_resolution()
    return sp.lambdify((r["delta"], smin), r["t_star"], "numpy")
