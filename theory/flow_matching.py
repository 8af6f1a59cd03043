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
def cfm_pointwise_minimizer(points: tuple[tuple[sp.Rational, ...], ...]) -> dict[str, sp.Expr]:
    """Minimise the pointwise CFM loss symbolically and compare with the softmax closed form.

    The loss at fixed :math:`(x,t)` is :math:`\\sum_i p_t(x\\mid x^{(i)})\\|c-u_t(x\\mid
    x^{(i)})\\|^2`; setting its gradient in :math:`c` to zero gives the posterior mean. Returns
    the per-coordinate residuals ``minimizer - softmax_form`` (must simplify to 0) and the
    Hessian (``2 * sum p_i`` times identity, positive: a minimum).
    """
    d = len(points[0])
    n = len(points)
    xs = sp.symbols(f"y0:{d}", real=True)
    cs = sp.symbols(f"c0:{d}", real=True)
    sig = sigma_expr()
    # Each Gaussian density factors as K * exp(L_i) with the common K = (sqrt(2 pi) sigma_t)^-d;
    # the exponentials are named E_i so the minimisation is a rational problem solved exactly.
    k_sym = sp.symbols("K", positive=True)
    es = sp.symbols(f"E0:{n}", positive=True)
    logits = [-sum((xs[k] - t * sp.nsimplify(p[k])) ** 2 for k in range(d)) / (2 * sig**2) for p in points]
    dens_res = [
        sp.simplify(
            _gauss_density(xs, [t * sp.nsimplify(v) for v in p], sig) / ((sp.sqrt(2 * sp.pi) * sig) ** (-d))
            - sp.exp(lg)
        )
        for p, lg in zip(points, logits)
    ]
    u = [[(sp.nsimplify(p[k]) - (1 - smin) * xs[k]) / sig for k in range(d)] for p in points]
    loss = sum(k_sym * es[i] * sum((cs[k] - u[i][k]) ** 2 for k in range(d)) for i in range(n))
    sol = sp.solve([sp.diff(loss, c) for c in cs], cs, dict=True)[0]
    soft = [sum(es[i] / sum(es) * u[i][k] for i in range(n)) for k in range(d)]
    res = [sp.cancel(sp.together(sol[cs[k]] - soft[k])) for k in range(d)]
    hess = sp.hessian(loss, cs)
    hess_res = sp.simplify(hess - 2 * k_sym * sum(es) * sp.eye(d))
    res = res + dens_res
    return {"residuals": res, "hessian_residual": hess_res, "symbols": xs}


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


# ----------------------------------------------------------------------------- continuity equation
@cache
def continuity_residual_1d(points: tuple = (-1, sp.Rational(3, 2))) -> dict[str, sp.Expr]:
    """Continuity equation :math:`\\partial_tp_t+\\partial_x(p_tv^*)=0` in 1-D for the mixture path.

    .. math:: p_t(x)=\\frac1N\\sum_i\\mathcal N(x;t x^{(i)},\\sigma_t^2),\\qquad
              v^*=\\frac{\\sum_i\\mathcal N_i\\,(x^{(i)}-(1-\\sigma_{\\min})x)/\\sigma_t}{\\sum_i\\mathcal N_i}

    Returns ``residual`` (simplifies to 0), ``dt_p`` and ``div_pv`` (for the relative scale).
    """
    sig = sigma_expr()
    comps = [_gauss_density([x], [t * sp.nsimplify(pt)], sig) for pt in points]
    fields = [(sp.nsimplify(pt) - (1 - smin) * x) / sig for pt in points]
    n = len(points)
    p = sum(comps) / n
    v = sum(c * u for c, u in zip(comps, fields)) / sum(comps)
    dt_p = sp.diff(p, t)
    div = sp.diff(p * v, x)
    # p v* = (1/N) sum_i N_i u_i exactly (the softmax denominator cancels), so the residual is
    # the sum of the per-component continuity residuals; each simplifies on its own.
    res = sum(sp.simplify((sp.diff(c, t) + sp.diff(c * u, x)) / c) * c for c, u in zip(comps, fields)) / n
    res = sp.simplify(res)
    return {"residual": res, "dt_p": dt_p, "div_pv": div, "density": p, "velocity": v}


@cache
def continuity_residual_mpmath(points: tuple = (-1, sp.Rational(3, 2))) -> tuple[Callable, Callable, Callable]:
    """Lambdified (mpmath) ``(residual, dt_p, div_pv)`` of :func:`continuity_residual_1d`, args ``(x, t, sigma_min)``.

    The residual is lambdified unsimplified (``dt_p + div_pv``) so that its evaluation tests the
    identity numerically instead of evaluating a symbolic zero.
    """
    r = continuity_residual_1d(points)
    raw = r["dt_p"] + r["div_pv"]
    return (
        sp.lambdify((x, t, smin), raw, "mpmath"),
        sp.lambdify((x, t, smin), r["dt_p"], "mpmath"),
        sp.lambdify((x, t, smin), r["div_pv"], "mpmath"),
    )


# ----------------------------------------------------------------------------- orthogonal split
@cache
def orthogonal_split() -> dict[str, sp.Expr]:
    """Facts (a)–(c) on a symbolic :math:`d=3`, :math:`N=2` example (points in the :math:`e_1,e_2` plane).

    Derives, with fully symbolic point coordinates :math:`(a_1,a_2,0)`, :math:`(b_1,b_2,0)`:

    * ``dw_dx3``: :math:`\\partial w_i/\\partial x_3` (must simplify to 0: weights blind to
      :math:`x_\\perp`);
    * ``res_perp``: :math:`v_3 + (1-\\sigma_{\\min})x_3/\\sigma_t` (must be 0);
    * ``res_par``: in-plane field minus its expression in :math:`x_\\parallel` only (must be 0);
    * ``perp_solution``: ``dsolve`` of :math:`\\dot x_3=-(1-\\sigma_{\\min})x_3/\\sigma_t`, and
      ``res_decay`` = solution minus :math:`\\sigma_t x_3(0)` (must be 0).
    """
    a1, a2, b1, b2 = sp.symbols("a1 a2 b1 b2", real=True)
    y1, y2, y3 = sp.symbols("y1 y2 y3", real=True)
    sig = sigma_expr()
    pts = [(a1, a2, 0), (b1, b2, 0)]
    xv = (y1, y2, y3)
    logits = [-sum((xv[k] - t * p[k]) ** 2 for k in range(3)) / (2 * sig**2) for p in pts]
    den = sum(sp.exp(v) for v in logits)
    w = [sp.exp(v) / den for v in logits]
    vfield = [sum(w[i] * (pts[i][k] - (1 - smin) * xv[k]) / sig for i in range(2)) for k in range(3)]
    dw = [sp.simplify(sp.diff(wi, y3)) for wi in w]
    res_perp = sp.simplify(vfield[2] + (1 - smin) * y3 / sig)
    logits_par = [-sum((xv[k] - t * p[k]) ** 2 for k in range(2)) / (2 * sig**2) for p in pts]
    den_par = sum(sp.exp(v) for v in logits_par)
    w_par = [sp.exp(v) / den_par for v in logits_par]
    res_par = [
        sp.simplify(vfield[k] - sum(w_par[i] * (pts[i][k] - (1 - smin) * xv[k]) / sig for i in range(2)))
        for k in range(2)
    ]
    f = sp.Function("f")
    c0 = sp.symbols("c0", real=True)
    ode = sp.Eq(f(t).diff(t), -(1 - smin) * f(t) / sig)
    sol = sp.dsolve(ode, f(t), ics={f(0): c0})
    res_decay = sp.simplify(sol.rhs - sig * c0)
    return {"dw_dx3": dw, "res_perp": res_perp, "res_par": res_par, "perp_solution": sol.rhs, "res_decay": res_decay}


@cache
def affine_decay() -> dict[str, sp.Expr]:
    """Affine variant of fact (c): :math:`\\dot y=(m_\\perp-(1-\\sigma_{\\min})y)/\\sigma_t`
    solves to :math:`y(t)=t\\,m_\\perp+\\sigma_t\\,y(0)` (``dsolve``; residual must be 0)."""
    f = sp.Function("f")
    m, c0 = sp.symbols("m c0", real=True)
    sig = sigma_expr()
    sol = sp.dsolve(sp.Eq(f(t).diff(t), (m - (1 - smin) * f(t)) / sig), f(t), ics={f(0): c0})
    return {"solution": sol.rhs, "residual": sp.simplify(sol.rhs - (t * m + sig * c0))}


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


# ----------------------------------------------------------------------------- time change
@cache
def tau_time_change() -> dict[str, sp.Expr]:
    """The log-time :math:`\\tau=-\\ln\\sigma_t` and the bounded field in it.

    .. math::

        t(\\tau)=\\frac{1-e^{-\\tau}}{1-\\sigma_{\\min}},\\qquad
        \\frac{dx}{d\\tau}=\\frac{dt}{d\\tau}\\,v_t^*(x)=\\frac{\\bar x_w-(1-\\sigma_{\\min})x}{1-\\sigma_{\\min}}

    Returns ``t_of_tau``, ``dt_dtau``, ``res_inverse`` (:math:`\\tau(t(\\tau))-\\tau`, zero),
    ``res_rhs`` (:math:`\\tfrac{dt}{d\\tau}\\cdot\\tfrac{\\bar x-(1-\\sigma_{\\min})x}{\\sigma_t}`
    minus the bounded form, zero) and ``sigma_of_tau`` (:math:`e^{-\\tau}`).
    """
    tau = sp.symbols("tau", nonnegative=True)
    xbar = sp.symbols("xbar", real=True)
    t_of = sp.solve(sp.Eq(-sp.log(sigma_expr()), tau), t)[0]
    dt = sp.diff(t_of, tau)
    sig_tau = sp.simplify(sigma_expr(t_of))
    rhs = dt * (xbar - (1 - smin) * x) / sig_tau
    return {
        "t_of_tau": t_of,
        "dt_dtau": sp.simplify(dt),
        "sigma_of_tau": sig_tau,
        "res_inverse": sp.simplify(-sp.log(sig_tau) - tau),
        "res_rhs": sp.simplify(rhs - (xbar - (1 - smin) * x) / (1 - smin)),
        "tau": tau,
    }


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
