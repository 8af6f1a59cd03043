r"""torchcfm's conditional flow matchers as memgen paths, with their formulas checked numerically.

torchcfm (MIT) draws :math:`x_0\sim\mathcal N(0,I)` (noise, ``t = 0``), :math:`x_1` from the data
(``t = 1``) and :math:`\varepsilon\sim\mathcal N(0,I)`, forms :math:`x_t=\mu_t(x_0,x_1)+c_t\varepsilon`
(``compute_mu_t``, ``compute_sigma_t``) and regresses on a target :math:`T(x_0,x_1,x_t)`
(``compute_conditional_flow``). With :math:`\mu_t=a_tx_1+b_tx_0` and independent :math:`x_0,x_1`,
given :math:`x_1` this is the affine Gaussian path

.. math:: \alpha_t=a_t,\qquad \sigma_t=\sqrt{b_t^2+c_t^2},

and the minimiser of the regression is memgen's exact field of that path exactly when
:math:`E[T\mid x_t,x_1]=u_t(x_t\mid x_1)=\frac{\dot\sigma_t}{\sigma_t}(x_t-\alpha_tx_1)+\dot\alpha_tx_1`.
For :math:`T=Ax_1+Bx_0+Cx_t`, :math:`E[x_0\mid x_t,x_1]=\frac{b_t}{\sigma_t^2}(x_t-a_tx_1)`, so
the condition is

.. math:: C+\frac{Bb_t}{\sigma_t^2}=\frac{\dot\sigma_t}{\sigma_t},\qquad A-\frac{Bb_ta_t}{\sigma_t^2}=\dot\alpha_t-\alpha_t\frac{\dot\sigma_t}{\sigma_t}.

:func:`path_from_matcher` maps each matcher class to its closed form and checks
:math:`a,b,c,A,B,C` read off the matcher's own methods against these identities on a grid:

- ``ConditionalFlowMatcher(σ)``: :math:`x_t=tx_1+(1-t)x_0+\sigma\varepsilon`, :math:`T=x_1-x_0`:
  :math:`\alpha_t=t`, :math:`\sigma_t=\sqrt{(1-t)^2+\sigma^2}`. Its law at ``t = 0`` is
  :math:`\mathcal N(0,(1+\sigma^2)I)` and at ``t = 1`` :math:`\frac1N\sum_i\mathcal N(x^{(i)},\sigma^2I)`:
  the learned flow transports the wider source :math:`\mathcal N(0,(1+\sigma^2)I)`, not the
  :math:`\mathcal N(0,I)` that torchcfm's examples sample from (the OT path for σ = 0).
- ``TargetConditionalFlowMatcher(σ)``: :math:`x_t=tx_1+(1-(1-\sigma)t)\varepsilon` (``x0`` unused),
  :math:`T=(x_1-(1-\sigma)x_t)/(1-(1-\sigma)t)`: the OT path of Lipman et al. with
  :math:`\sigma_{\min}=\sigma`, source :math:`\mathcal N(0,I)`.
- ``VariancePreservingConditionalFlowMatcher(σ)``: :math:`x_t=\sin(\frac{\pi t}2)x_1+\cos(\frac{\pi t}2)x_0+\sigma\varepsilon`,
  :math:`T=\frac\pi2(\cos(\frac{\pi t}2)x_1-\sin(\frac{\pi t}2)x_0)`: :math:`\alpha_t=\sin(\pi t/2)`,
  :math:`\sigma_t=\sqrt{\cos^2(\pi t/2)+\sigma^2}`, source :math:`\mathcal N(0,(1+\sigma^2)I)` (the cosine path for σ = 0).

Matchers that couple :math:`x_0` with :math:`x_1` (minibatch OT, Schrödinger bridge) are refused
(:data:`COUPLED`): their marginal path is not one of independent noise and data.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import sympy as sp

from numerics.paths import _has_base, _numeric
from theory import paths as sym
from theory.validation import real_scalar

COUPLED = {
    "ExactOptimalTransportConditionalFlowMatcher": (
        "it pairs x0 with x1 by a minibatch optimal-transport plan, so x0 and x1 are not independent: the "
        "marginal path is not the Gaussian path of independent noise and data, and its optimal field depends "
        "on the coupling and the batch size (memgen's minibatch couplings: numerics.couplings)"
    ),
    "SchrodingerBridgeConditionalFlowMatcher": (
        "it pairs x0 with x1 by an entropic optimal-transport plan (regularisation 2 sigma^2) and adds "
        "Brownian-bridge noise sigma sqrt(t(1-t)): x0 and x1 are not independent, so its marginal path is not "
        "an affine Gaussian path of independent noise and data"
    ),
}
"""torchcfm matchers refused, with the reason."""
AGREEMENT = 1e-12
"""Largest relative disagreement between a matcher's coefficients and the closed form: both are a
few float64 roundings of the same expressions (about 1e-16 each), so 1e-12 leaves four orders of
margin and still catches any wrong formula."""


def is_matcher(obj: Any) -> bool:
    """Whether ``obj`` is a torchcfm ``ConditionalFlowMatcher`` (checked without importing torchcfm)."""
    return _has_base(obj, "torchcfm", "ConditionalFlowMatcher")


def path_from_matcher(matcher: Any) -> sym.AffinePath:
    """The SymPy path of a torchcfm matcher (module docstring), checked against the matcher's own methods.

    Raises
    ------
    TypeError
        For an object that is not a torchcfm matcher.
    theory.paths.PathError
        For a coupling-dependent matcher (the reason is given), a class without a known closed
        form, a ``sigma`` out of range, or a matcher whose formulas disagree with the closed form.
    """
    if not is_matcher(matcher):
        raise TypeError(f"expected a torchcfm ConditionalFlowMatcher, got {type(matcher).__name__}")
    kind = type(matcher).__name__
    if kind in COUPLED or hasattr(matcher, "ot_sampler"):
        reason = COUPLED.get(kind, "it draws (x0, x1) pairs from a coupling plan (ot_sampler)")
        raise sym.PathError(f"torchcfm's {kind} has no memgen path: {reason}")
    if not type(matcher).__module__.startswith("torchcfm"):
        raise sym.PathError(
            f"no closed form is known for {type(matcher).__module__}.{kind}: give its alpha_t and sigma_t as "
            "SymPy expressions (theory.paths.AffinePath)"
        )
    if kind not in _CLOSED_FORMS:
        raise sym.PathError(f"no closed form is known for torchcfm's {kind}")
    sigma = real_scalar(float(matcher.sigma), "sigma", 0.0)
    path = _CLOSED_FORMS[kind](sigma)
    _check_matcher(matcher, path)
    return path


@functools.cache
def _cfm(sigma: float) -> sym.AffinePath:
    if sigma == 0.0:
        return sym.ot(0.0)
    s = sp.nsimplify(sigma)
    return sym.AffinePath(sym.t, sp.sqrt((1 - sym.t) ** 2 + s**2), "torchcfm-cfm", parameters=(("sigma", sigma),))


@functools.cache
def _vp(sigma: float) -> sym.AffinePath:
    if sigma == 0.0:
        return sym.cosine()
    s, half = sp.nsimplify(sigma), sp.pi * sym.t / 2
    return sym.AffinePath(
        sp.sin(half), sp.sqrt(sp.cos(half) ** 2 + s**2), "torchcfm-vp", parameters=(("sigma", sigma),)
    )


def _target(sigma: float) -> sym.AffinePath:
    if not sigma < 1.0:
        raise sym.PathError(f"TargetConditionalFlowMatcher needs sigma < 1 (sigma_1 = sigma), got {sigma}")
    return sym.ot(sigma)


_CLOSED_FORMS = {
    "ConditionalFlowMatcher": _cfm,
    "TargetConditionalFlowMatcher": _target,
    "VariancePreservingConditionalFlowMatcher": _vp,
}


def _check_matcher(matcher: Any, path: sym.AffinePath, points: int = 99) -> None:
    """Read :math:`a,b,c,A,B,C` off the matcher (float64, unit inputs) and check the identities of the module docstring."""
    import torch

    tt = torch.linspace(0.01, 0.99, points, dtype=torch.float64)
    zero, one = torch.zeros(points, 1, dtype=torch.float64), torch.ones(points, 1, dtype=torch.float64)

    def mu(x0: torch.Tensor, x1: torch.Tensor) -> np.ndarray:
        return matcher.compute_mu_t(x0, x1, tt)[:, 0].numpy()

    def flow(x0: torch.Tensor, x1: torch.Tensor, xt: torch.Tensor) -> np.ndarray:
        return matcher.compute_conditional_flow(x0, x1, tt, xt)[:, 0].numpy()

    a, b = mu(zero, one), mu(one, zero)
    c = torch.as_tensor(matcher.compute_sigma_t(tt), dtype=torch.float64).expand(points).numpy()
    big_a, big_b, big_c = flow(zero, one, zero), flow(one, zero, zero), flow(zero, zero, one)
    # The target must be affine in (x0, x1, xt) without a constant: one random combination checks it.
    w = torch.tensor([0.3, -1.7, 2.2], dtype=torch.float64)
    mixed = flow(w[0] * one, w[1] * one, w[2] * one)
    p = _numeric(path)
    t = tt.numpy()
    alpha, sig, d_alpha, d_sigma = p.alpha(t), p.sigma(t), p.d_alpha(t), p.d_sigma(t)
    s2 = b * b + c * c
    checks = {
        "alpha_t (the x1 coefficient of mu_t)": (a, alpha),
        "sigma_t^2 (b_t^2 + c_t^2)": (s2, sig * sig),
        "E[target | x_t, x1]: its x_t coefficient": (big_c + big_b * b / s2, d_sigma / sig),
        "E[target | x_t, x1]: its x1 coefficient": (big_a - big_b * b * a / s2, d_alpha - alpha * d_sigma / sig),
        "the target is affine in (x0, x1, x_t)": (mixed, 0.3 * big_b - 1.7 * big_a + 2.2 * big_c),
    }
    for what, (theirs, ours) in checks.items():
        err = float(np.max(np.abs(theirs - ours)) / max(float(np.max(np.abs(ours))), 1e-300))
        if not err <= AGREEMENT:
            raise sym.PathError(
                f"torchcfm's {type(matcher).__name__}: {what} differs from the closed form {path} by {err:.3g} (relative)"
            )
