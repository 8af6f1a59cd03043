"""Symbolic facts about couplings and the CondOT path (spec ``mfm.md`` §1.2–§1.5).

* the CondOT conditional flow and field, and the identity that the field is constant along the
  conditional path (straight conditional paths);
* the covariance blocks of the Gaussian coupling family
  :math:`x_1=\\mu+L(\\rho R_\\phi x_0+\\sqrt{1-\\rho^2}\\,\\xi)`, :math:`L=\\Sigma^{1/2}`, for the pair
  :math:`(D, X_t)=(x_1-x_0,\\,(1-t)x_0+tx_1)`, in closed form for ``d = 1`` and ``d = 2``;
* for ``d = 1`` the affine marginal field, the conditional spread and the reference values
  :math:`\\min\\mathcal L_{\\rm JCFM}=\\int_0^1\\sigma_t^2dt`, KE, :math:`C(\\psi_1)`, :math:`S`,
  :math:`c(q)` with the :math:`t`-integrals done by SymPy where it finds a closed form.

Everything is derived once (``functools.lru_cache``) and exposed as lambdified NumPy functions.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import sympy as sp

t, s_min = sp.symbols("t sigma_min", nonnegative=True)


# --------------------------------------------------------------------------------------------
# CondOT conditional path
# --------------------------------------------------------------------------------------------


def condot_flow(x0: sp.Expr, x1: sp.Expr, tt: sp.Expr = t, sigma_min: sp.Expr = s_min) -> sp.Expr:
    r""":math:`\psi_t(x_0\mid x_1)=(1-(1-\sigma_{\min})t)x_0+tx_1`."""
    return (1 - (1 - sigma_min) * tt) * x0 + tt * x1


def condot_field(x: sp.Expr, x1: sp.Expr, tt: sp.Expr = t, sigma_min: sp.Expr = s_min) -> sp.Expr:
    r""":math:`u_t(x\mid x_1)=\dfrac{x_1-(1-\sigma_{\min})x}{1-(1-\sigma_{\min})t}`."""
    return (x1 - (1 - sigma_min) * x) / (1 - (1 - sigma_min) * tt)


def condot_field_residuals(field: Any = condot_field) -> dict[str, sp.Expr]:
    r"""Simplified residuals of the CondOT identities (all zero for the true field).

    Returns
    -------
    dict
        ``"velocity"``: :math:`\partial_t\psi_t-(x_1-(1-\sigma_{\min})x_0)`;
        ``"field_along_path"``: :math:`u_t(\psi_t(x_0\mid x_1)\mid x_1)-(x_1-(1-\sigma_{\min})x_0)`;
        ``"endpoints"``: :math:`\psi_0-x_0` and :math:`\psi_1-(x_1+\sigma_{\min}x_0)` summed
        in absolute value form as two residuals ``"start"`` and ``"end"``.
    """
    x0, x1 = sp.symbols("x0 x1", real=True)
    psi = condot_flow(x0, x1)
    target = x1 - (1 - s_min) * x0
    return {
        "velocity": sp.simplify(sp.diff(psi, t) - target),
        "field_along_path": sp.simplify(field(psi, x1, t, s_min) - target),
        "start": sp.simplify(psi.subs(t, 0) - x0),
        "end": sp.simplify(psi.subs(t, 1) - (x1 + s_min * x0)),
    }


# --------------------------------------------------------------------------------------------
# Gaussian coupling family: covariance blocks
# --------------------------------------------------------------------------------------------


def _blocks(L: sp.Matrix, R: sp.Matrix, rho: sp.Expr, d: int) -> dict[str, sp.Matrix]:
    eye = sp.eye(d)
    sigma = L * L.T
    k10 = rho * L * R  # Cov(x1, x0)
    cov_x = (1 - t) ** 2 * eye + t**2 * sigma + t * (1 - t) * (k10 + k10.T)
    cov_dx = (1 - t) * k10 + t * sigma - (1 - t) * eye - t * k10.T
    cov_d = sigma + eye - k10 - k10.T
    return {"cov_x": cov_x, "cov_dx": cov_dx, "cov_d": cov_d}


@cache
def gaussian_family_blocks_symbolic(d: int) -> tuple[tuple[sp.Symbol, ...], dict[str, sp.Matrix]]:
    r"""Covariance blocks of :math:`(D,X_t)` for the Gaussian coupling family, ``d in (1, 2)``.

    .. math::

        \mathrm{Cov}(X_t)&=(1-t)^2I+t^2\Sigma+t(1-t)(K+K^\top),\\
        \mathrm{Cov}(D,X_t)&=(1-t)K+t\Sigma-(1-t)I-tK^\top,\qquad K=\mathrm{Cov}(x_1,x_0)=\rho LR_\phi,\\
        \mathrm{Cov}(D)&=\Sigma+I-K-K^\top .

    The blocks are obtained by expanding the bilinear covariance of the definitions, not typed
    in: :math:`X_t` and :math:`D` are written as linear maps of :math:`(x_0,\xi)` and the
    covariances are products of those maps.

    Returns
    -------
    symbols : tuple
        ``(t, rho, phi, l11[, l12, l22])`` (``L`` symmetric).
    blocks : dict of sympy.Matrix
    """
    rho, phi = sp.symbols("rho phi", real=True)
    if d == 1:
        l11 = sp.Symbol("l11", positive=True)
        L = sp.Matrix([[l11]])
        R = sp.Matrix([[1]])
        syms: tuple[sp.Symbol, ...] = (t, rho, phi, l11)
    elif d == 2:
        l11, l12, l22 = sp.symbols("l11 l12 l22", real=True)
        L = sp.Matrix([[l11, l12], [l12, l22]])
        R = sp.Matrix([[sp.cos(phi), -sp.sin(phi)], [sp.sin(phi), sp.cos(phi)]])
        syms = (t, rho, phi, l11, l12, l22)
    else:
        raise ValueError(f"symbolic blocks are derived for d in (1, 2), got d={d}")
    eye = sp.eye(d)
    # linear maps from (x0, xi) (independent standard normals) to x1 - mu, D - mu, X_t - t mu
    a1 = (rho * L * R).row_join(sp.sqrt(1 - rho**2) * L)
    a0 = eye.row_join(sp.zeros(d, d))
    a_d = a1 - a0
    a_x = (1 - t) * a0 + t * a1
    blocks = {
        "cov_x": sp.expand(a_x * a_x.T),
        "cov_dx": sp.expand(a_d * a_x.T),
        "cov_d": sp.expand(a_d * a_d.T),
    }
    return syms, blocks


def gaussian_family_blocks_residual(d: int) -> sp.Expr:
    """Sum of squared entries of (expanded blocks - closed forms of the docstring); zero when they agree."""
    syms, blocks = gaussian_family_blocks_symbolic(d)
    _, rho, phi, *ls = syms
    if d == 1:
        L, R = sp.Matrix([[ls[0]]]), sp.Matrix([[1]])
    else:
        L = sp.Matrix([[ls[0], ls[1]], [ls[1], ls[2]]])
        R = sp.Matrix([[sp.cos(phi), -sp.sin(phi)], [sp.sin(phi), sp.cos(phi)]])
    closed = _blocks(L, R, rho, d)
    total = sp.Integer(0)
    for key, m in blocks.items():
        diff = (m - closed[key]).applyfunc(lambda e: sp.simplify(sp.trigsimp(e)))
        total += sum(e**2 for e in diff)
    return sp.simplify(total)


@cache
def gaussian_family_blocks_numeric(d: int):
    """Lambdified blocks: ``f(t, rho, phi, *L_entries) -> (cov_x, cov_dx, cov_d)`` as arrays."""
    syms, blocks = gaussian_family_blocks_symbolic(d)
    fn = sp.lambdify(syms, [blocks["cov_x"], blocks["cov_dx"], blocks["cov_d"]], "numpy")

    def f(tt: float, rho: float, phi: float, *l_entries: float) -> tuple[np.ndarray, ...]:
        out = fn(tt, rho, phi, *l_entries)
        return tuple(np.array(m, dtype=np.float64).reshape(d, d) for m in out)

    return f


# --------------------------------------------------------------------------------------------
# d = 1: affine field and reference values
# --------------------------------------------------------------------------------------------


@cache
def gaussian_1d_reference_symbolic() -> dict[str, Any]:
    r"""1-D Gaussian family, :math:`q_1=\mathcal N(m,s^2)`: field, spread and reference values.

    With :math:`v_X(t)=\mathrm{Var}X_t`, :math:`c_{DX}(t)=\mathrm{Cov}(D,X_t)`,
    :math:`v_D=\mathrm{Var}D`:

    .. math::

        u_t(x)=m+\frac{c_{DX}}{v_X}(x-tm),\qquad\sigma_t^2=v_D-\frac{c_{DX}^2}{v_X},\\
        \mathrm{KE}=m^2+\int_0^1\frac{c_{DX}^2}{v_X}dt,\quad
        \min\mathcal L_{\rm JCFM}=\int_0^1\sigma_t^2dt,\quad c(q)=m^2+v_D .

    For :math:`\phi=0` the flow map is :math:`x\mapsto m+sx`, so :math:`C(\psi_1)=m^2+(s-1)^2=W_2^2`
    and :math:`S=\mathrm{KE}-C`.

    Returns
    -------
    dict
        Symbols ``m, s, rho`` and expressions ``A`` (slope), ``b`` (offset), ``spread``,
        ``ke_integrand``; ``ke_rho0`` and ``loss_rho0``: the :math:`t`-integrals for the
        independent coupling (``rho = 0``) as SymPy closed forms (``None`` if SymPy finds none).
    """
    m = sp.Symbol("m", real=True)
    s = sp.Symbol("s", positive=True)
    rho = sp.Symbol("rho", nonnegative=True)
    syms, blocks = gaussian_family_blocks_symbolic(1)
    sub = {syms[1]: rho, syms[3]: s}
    v_x = blocks["cov_x"][0, 0].subs(sub)
    c_dx = blocks["cov_dx"][0, 0].subs(sub)
    v_d = blocks["cov_d"][0, 0].subs(sub)
    a = sp.simplify(c_dx / v_x)
    b = sp.simplify(m - a * t * m)
    spread = sp.simplify(v_d - c_dx**2 / v_x)
    ke_int = m**2 + c_dx**2 / v_x
    out: dict[str, Any] = {
        "m": m,
        "s": s,
        "rho": rho,
        "A": a,
        "b": b,
        "spread": spread,
        "ke_integrand": ke_int,
        "var_x": v_x,
        "cov_dx": c_dx,
        "var_d": v_d,
        "coupling_cost": m**2 + v_d,
        "transport_cost": m**2 + (s - 1) ** 2,
    }
    ratio0 = sp.simplify((c_dx**2 / v_x).subs(rho, 0))
    try:
        # the rho = 0 integrand is rational in t: SymPy returns logs and arctangents
        ke_extra = sp.integrate(ratio0, (t, 0, 1))
        out["ke_rho0"] = sp.simplify(m**2 + ke_extra)
        out["loss_rho0"] = sp.simplify(v_d.subs(rho, 0) - ke_extra)
    except (NotImplementedError, TypeError, ValueError):
        out["ke_rho0"] = out["loss_rho0"] = None
    return out


@cache
def gaussian_1d_reference_numeric():
    """Lambdified 1-D functions: ``A(t,m,s,rho)``, ``b``, ``spread``, ``ke_integrand`` and, for
    ``rho = 0``, ``ke_rho0(m, s)`` and ``loss_rho0(m, s)`` (``None`` if no closed form)."""
    ref = gaussian_1d_reference_symbolic()
    m, s, rho = ref["m"], ref["s"], ref["rho"]
    args = (t, m, s, rho)
    out = {key: sp.lambdify(args, ref[key], "numpy") for key in ("A", "b", "spread", "ke_integrand")}
    for key in ("ke_rho0", "loss_rho0"):
        out[key] = None if ref[key] is None else sp.lambdify((m, s), ref[key], "mpmath")
    out["transport_cost"] = sp.lambdify((m, s), ref["transport_cost"], "numpy")
    out["coupling_cost"] = sp.lambdify((m, s, rho), ref["coupling_cost"], "numpy")
    return out
