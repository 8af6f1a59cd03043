r"""A path known only by values: :math:`\alpha_t,\sigma_t,\dot\alpha_t,\dot\sigma_t` tabulated on a grid.

For a schedule without a closed form (a ``flow_matching`` scheduler of a user's own, say) the
four functions are tabulated on :data:`NODES` uniform nodes of :math:`[0,1]` and joined by the
cubic Hermite interpolant of each pair :math:`(\alpha,\dot\alpha)`, :math:`(\sigma,\dot\sigma)`:

.. math::

    \hat\alpha(t)=h_{00}(s)\,\alpha_k+h_{10}(s)\,\Delta\dot\alpha_k+h_{01}(s)\,\alpha_{k+1}+h_{11}(s)\,\Delta\dot\alpha_{k+1},
    \qquad s=(t-t_k)/\Delta,

and :math:`\dot{\hat\alpha}` is its exact derivative, so the path is a C¹ path whose conditional
field :math:`u_t(x\mid y)` is the field of the path that is integrated (interpolation error
:math:`O(\Delta^4)` in the values; the largest one against the source at the midpoints is
measured and kept in :attr:`TabulatedPath.max_error`).

The table is checked before use (:class:`theory.paths.PathError` names the failure): finite
values, :math:`\sigma_0>0`, :math:`\alpha_1>0`, :math:`\sigma_1\ge0`, :math:`\alpha_0=0` (or
accepted), :math:`\alpha_t\ge0` and :math:`\sigma_t>0` inside, :math:`\sigma_t` decreasing and
the log-SNR increasing at the nodes (the conditions of :meth:`theory.paths.AffinePath.validate`),
and the derivatives consistent with the values (:func:`_check_derivative`).

A tabulated path evaluates the exact field (:func:`numerics.empirical_field.optimal_velocity`,
:class:`numerics.exact_velocity.ExactVelocity`); the log-time integrator, which needs
:math:`t(\tau)` and the switch time from SymPy, refuses it with a pointer to the SymPy form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from numerics.paths import Array, NumericPath, _is_torch
from theory import paths as sym

NODES = 4097
"""Nodes of the table (spacing :math:`2^{-12}`): Hermite interpolation error
:math:`\\Delta^4\\max|f^{(4)}|/384\\approx10^{-17}\\max|f^{(4)}|`."""
Tabulator = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
"""``t -> (alpha, sigma, d_alpha, d_sigma)`` on a float64 array of times."""


def _check_derivative(values: np.ndarray, slopes: np.ndarray, spacing: float, what: str, name: str) -> None:
    r"""Refuse a tabulated derivative that is not the derivative of the tabulated values.

    The central difference :math:`D_h` has error :math:`h^2f'''/6+O(h^4)`, so :math:`|D_h-D_{2h}|`
    is three times its leading error, and the Richardson value :math:`(4D_h-D_{2h})/3` is
    accurate to :math:`O(h^4)`: a true derivative lies within :math:`|D_h-D_{2h}|` of it, plus the
    rounding of the differences (:math:`2^{-52}\max|f|/h` per difference, 64 of them allowed).
    """
    f, g = values, slopes
    h = spacing
    d1 = (f[3:-1] - f[1:-3]) / (2 * h)
    d2 = (f[4:] - f[:-4]) / (4 * h)
    richardson = (4 * d1 - d2) / 3
    bound = np.abs(d1 - d2) + 64 * np.finfo(float).eps * np.max(np.abs(f)) / h
    bad = np.abs(g[2:-2] - richardson) > bound
    if np.any(bad):
        k = int(np.argmax(bad)) + 2
        raise sym.PathError(
            f"{name}: d_{what}_t = {g[k]:.6g} at t = {k * h:.4g} is not the derivative of {what}_t "
            f"(finite differences give {richardson[k - 2]:.6g})"
        )


class TabulatedPath(NumericPath):
    r"""An affine Gaussian path from tabulated :math:`\alpha,\sigma,\dot\alpha,\dot\sigma` (cubic Hermite).

    Parameters
    ----------
    tabulate : callable
        ``t -> (alpha, sigma, d_alpha, d_sigma)``, each an array shaped like the float64 array ``t``.
    name : str
        A short name for records and messages.
    accept_alpha0 : bool
        Accept :math:`\alpha_0>0` (the source is then a mixture; see :attr:`theory.paths.AffinePath.source_note`).
    nodes : int
        Number of uniform nodes of :math:`[0,1]` (:data:`NODES`).

    Raises
    ------
    theory.paths.PathError
        On non-finite values or a violated path condition (named).
    """

    def __init__(self, tabulate: Tabulator, name: str, accept_alpha0: bool = False, nodes: int = NODES) -> None:
        if nodes < 5:
            raise ValueError(f"nodes must be >= 5, got {nodes}")
        self.name = name
        self.accept_alpha0 = accept_alpha0
        grid = np.linspace(0.0, 1.0, nodes)
        self._spacing = float(grid[1] - grid[0])
        table = np.stack([np.broadcast_to(np.asarray(v, dtype=np.float64), grid.shape) for v in tabulate(grid)])
        if table.shape != (4, nodes) or not np.all(np.isfinite(table)):
            bad = np.flatnonzero(~np.all(np.isfinite(table), axis=0))
            where = f" (first at t = {grid[bad[0]]:.4g})" if bad.size else ""
            raise sym.PathError(
                f"{name}: alpha_t, sigma_t and their derivatives must be finite on [0, 1]{where}; "
                "give alpha and sigma as SymPy expressions instead (theory.paths.AffinePath)"
            )
        self._table = table
        self._torch_tables: dict[Any, Any] = {}
        self._validate()
        mid = grid[:-1] + self._spacing / 2
        source = np.stack([np.broadcast_to(np.asarray(v, dtype=np.float64), mid.shape) for v in tabulate(mid)])
        ours = np.stack([self.alpha(mid), self.sigma(mid), self.d_alpha(mid), self.d_sigma(mid)])
        scale = np.maximum(np.max(np.abs(table), axis=1, keepdims=True), np.finfo(float).tiny)
        self.max_error = float(np.max(np.abs(ours - source) / scale))
        """Largest error of the interpolant against the source at the midpoints, relative to each function's maximum."""

    def __repr__(self) -> str:
        return f"TabulatedPath({self.name}: {self._table.shape[1]} nodes)"

    def _validate(self) -> None:
        a, s, da, ds = self._table
        if not s[0] > 0:
            raise sym.PathError(f"{self.name}: sigma_0 must be > 0 (the source is noise), got {s[0]}")
        if not a[-1] > 0:
            raise sym.PathError(f"{self.name}: alpha_1 must be > 0 (the path ends on the data), got {a[-1]}")
        if not s[-1] >= 0:
            raise sym.PathError(f"{self.name}: sigma_1 must be >= 0, got {s[-1]}")
        if a[0] < 0 or (a[0] > 0 and not self.accept_alpha0):
            raise sym.PathError(
                f"{self.name}: alpha_0 = {a[0]:.3g}; it must be 0 (or > 0 with accept_alpha0=True, an approximate source)"
            )
        inner_a, inner_s = a[1:-1], s[1:-1]
        if not (np.all(inner_s > 0) and np.all(inner_a >= 0)):
            raise sym.PathError(f"{self.name}: alpha_t must be >= 0 and sigma_t > 0 on (0, 1)")
        if np.any(np.diff(inner_s) >= 0):
            raise sym.PathError(f"{self.name}: sigma_t must decrease on (0, 1) (the log-time must run forward)")
        with np.errstate(divide="ignore"):
            lam = np.log(inner_a) - np.log(inner_s)
        if np.any(np.diff(lam) <= 0):
            raise sym.PathError(f"{self.name}: log-SNR ln(alpha_t/sigma_t) must increase on (0, 1)")
        _check_derivative(a, da, self._spacing, "alpha", self.name)
        _check_derivative(s, ds, self._spacing, "sigma", self.name)

    # -- cubic Hermite evaluation (NumPy and torch)
    def _tables(self, t: Array) -> Any:
        if not _is_torch(t):
            return self._table
        import torch

        key = (t.device, t.dtype)
        if key not in self._torch_tables:
            self._torch_tables[key] = torch.as_tensor(self._table, dtype=t.dtype, device=t.device)
        return self._torch_tables[key]

    def _hermite(self, t: Array, which: int, derivative: bool) -> Array:
        table, h = self._tables(t), self._spacing
        n = self._table.shape[1]
        u = t / h
        if _is_torch(t):
            k = u.floor().clamp(0, n - 2).long()
        else:
            k = np.clip(np.floor(np.asarray(u, dtype=np.float64)), 0, n - 2).astype(np.int64)
        s = u - k
        f0, f1 = table[which][k], table[which][k + 1]
        g0, g1 = table[which + 2][k] * h, table[which + 2][k + 1] * h
        if derivative:
            return ((6 * s * s - 6 * s) * (f0 - f1) + (3 * s * s - 4 * s + 1) * g0 + (3 * s * s - 2 * s) * g1) / h
        s2, s3 = s * s, s * s * s
        return (2 * s3 - 3 * s2 + 1) * f0 + (s3 - 2 * s2 + s) * g0 + (3 * s2 - 2 * s3) * f1 + (s3 - s2) * g1

    def alpha(self, t: Array) -> Array:
        return self._hermite(t, 0, False)

    def sigma(self, t: Array) -> Array:
        return self._hermite(t, 1, False)

    def d_alpha(self, t: Array) -> Array:
        return self._hermite(t, 0, True)

    def d_sigma(self, t: Array) -> Array:
        return self._hermite(t, 1, True)

    def forcing(self, t: Array) -> Array:
        return self.alpha(t) - self.sigma(t) * self.d_alpha(t) / self.d_sigma(t)

    # -- constants from the table (no SymPy path behind it)
    @property
    def sigma0(self) -> float:
        return float(self._table[1, 0])

    @property
    def sigma1(self) -> float:
        return float(self._table[1, -1])

    @property
    def alpha0(self) -> float:
        return float(self._table[0, 0])

    @property
    def alpha1(self) -> float:
        return float(self._table[0, -1])

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "tabulated_nodes": int(self._table.shape[1]), "max_error": self.max_error}

    @property
    def label(self) -> str:
        return f"{self.name}(tabulated)"

    def _no_log_time(self) -> sym.PathError:
        return sym.PathError(
            f"{self.name} is a tabulated path: the log-time integrator (numerics.empirical_field.integrate_flow) "
            "needs the SymPy form; give alpha and sigma as expressions in t (theory.paths.AffinePath), or "
            "integrate the field (ExactVelocity) with an ODE solver in t"
        )

    @property
    def symbolic(self) -> sym.AffinePath:
        raise self._no_log_time()

    @property
    def t_switch(self) -> float:
        raise self._no_log_time()

    @property
    def tau_end(self) -> float:
        raise self._no_log_time()

    def time_from_tau(self, tau: Array) -> np.ndarray:
        raise self._no_log_time()
