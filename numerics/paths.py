r"""Affine Gaussian probability paths: :math:`\sigma_t`, :math:`x_t` and the conditional field, written once.

A path joins noise :math:`x_0\sim\mathcal N(0,I)` at :math:`t=0` to data :math:`x_1` at :math:`t=1`:

.. math::

    x_t=\alpha_t\,x_1+\sigma_t\,x_0,\qquad
    u_t(x_t\mid x_1)=\dot\alpha_t\,x_1+\dot\sigma_t\,x_0,\qquad
    u_t(x\mid x_1)=\frac{\dot\sigma_t}{\sigma_t}\,(x-\alpha_t x_1)+\dot\alpha_t\,x_1 .

Every method works on NumPy arrays and on torch tensors alike (only arithmetic and ``reshape``
are used), so the training losses (torch) and the Monte Carlo checks (NumPy) share one
definition. Times ``t`` are scalars or one value per row of ``x``.

The conditional-OT path of Lipman et al. (2023) is :class:`CondOTPath`:
:math:`\alpha_t=t`, :math:`\sigma_t=1-(1-\sigma_{\min})t`, hence the constant target
:math:`x_1-(1-\sigma_{\min})x_0` (spec ``gao_li.md`` §1.1, ``mfm.md`` §1.2).

References
----------
Y. Lipman, R. T. Q. Chen, H. Ben-Hamu, M. Nickel, M. Le, *Flow Matching for Generative
Modeling*, ICLR 2023.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from theory.validation import real_array, real_scalar

Array = Any  # numpy.ndarray or torch.Tensor


def _rows(t: Array, like: Array) -> Array:
    """``t`` broadcast against the rows of ``like`` (scalars pass through)."""
    if np.ndim(t) == 0:
        return t
    return t.reshape(-1, *([1] * (like.ndim - 1)))


class AffinePath:
    r"""Base class: a path :math:`x_t=\alpha_tx_1+\sigma_tx_0` given by :math:`\alpha,\sigma` and their derivatives.

    Subclasses implement :meth:`alpha`, :meth:`sigma`, :meth:`d_alpha`, :meth:`d_sigma`
    (elementwise in ``t``, NumPy and torch).
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

    def sample(self, x0: Array, x1: Array, t: Array) -> Array:
        r""":math:`x_t=\alpha_tx_1+\sigma_tx_0` (``t`` scalar or one per row)."""
        tt = _rows(t, x0)
        return self.alpha(tt) * x1 + self.sigma(tt) * x0

    def target(self, x0: Array, x1: Array, t: Array) -> Array:
        r"""Velocity of the conditional path at :math:`x_t`: :math:`\dot\alpha_tx_1+\dot\sigma_tx_0`."""
        tt = _rows(t, x0)
        return self.d_alpha(tt) * x1 + self.d_sigma(tt) * x0

    def conditional_velocity(self, x: Array, x1: Array, t: Array) -> Array:
        r""":math:`u_t(x\mid x_1)=\frac{\dot\sigma_t}{\sigma_t}(x-\alpha_tx_1)+\dot\alpha_tx_1`."""
        tt = _rows(t, x)
        return self.d_sigma(tt) / self.sigma(tt) * (x - self.alpha(tt) * x1) + self.d_alpha(tt) * x1


@dataclass(frozen=True)
class CondOTPath(AffinePath):
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

    def alpha(self, t: Array) -> Array:
        return t

    def sigma(self, t: Array) -> Array:
        return (1.0 - t) + self.sigma_min * t

    def d_alpha(self, t: Array) -> Array:
        return 1.0 + 0.0 * t

    def d_sigma(self, t: Array) -> Array:
        return -(1.0 - self.sigma_min) + 0.0 * t

    def target(self, x0: Array, x1: Array, t: Array | None = None) -> Array:
        """The constant conditional velocity :math:`x_1-(1-\\sigma_{\\min})x_0` (``t`` is not needed)."""
        return x1 - (1.0 - self.sigma_min) * x0

    def conditional_velocity(self, x: Array, x1: Array, t: Array) -> Array:
        """:math:`(x_1-(1-\\sigma_{\\min})x)/\\sigma_t`."""
        tt = _rows(t, x)
        return (x1 - (1.0 - self.sigma_min) * x) / self.sigma(tt)

    # -- the log-time in which the exact flow is integrated to t = 1 (spec gao_li.md §1.3)
    def tau(self, t: Array) -> Array:
        r""":math:`\tau=-\ln\sigma_t` (infinite at :math:`t=1` when :math:`\sigma_{\min}=0`)."""
        with np.errstate(divide="ignore"):
            return -np.log(self.sigma(real_array(t, "t")))

    def time_from_tau(self, tau: Array) -> Array:
        r""":math:`t(\tau)=(1-e^{-\tau})/(1-\sigma_{\min})` (``tau = inf`` allowed: the end of the path)."""
        tau = real_array(tau, "tau", finite=False)
        if np.any(np.isnan(tau)):
            raise ValueError("tau contains NaN")
        return -np.expm1(-tau) / (1.0 - self.sigma_min)
