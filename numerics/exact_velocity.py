r"""The exact (empirical) optimal velocity field as a float64 ``torch.nn.Module`` for other libraries' solvers.

:class:`ExactVelocity` wraps :func:`numerics.empirical_field.optimal_velocity_torch` (the streaming
softmax field) with the call conventions of the flow matching libraries:

- ``forward(x, t)`` or ``forward(x=x, t=t)``: Meta ``flow_matching``'s ``ModelWrapper`` and
  ``ODESolver`` (``t`` a 0-dim tensor, or one time per row);
- ``forward(t, x)``: torchdyn's vector fields, torchdiffeq's ``odeint`` and torchcfm's
  ``torch_wrapper`` (torchdyn also passes ``args={}``);
- ``forward(xt)`` with one ``(batch, d + 1)`` tensor: torchcfm's models, which take
  ``torch.cat([x, t[:, None]], 1)`` (so ``torch_wrapper(ExactVelocity(...))`` works too).

All share memgen's time convention: noise at ``t = 0``, data at ``t = 1``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from numerics.empirical_field import DistinctPoints, distinct_points, optimal_velocity_torch
from numerics.path_spec import resolve_path

CONVENTIONS = ("auto", "x_t", "t_x")


class ExactVelocity(torch.nn.Module):
    r"""Exact optimal velocity field of the empirical data under an affine Gaussian path, in float64.

    For training points :math:`x^{(1)},\dots,x^{(N)}` and a path :math:`x_t=\alpha_ty+\sigma_tx_0`,
    :math:`x_0\sim\mathcal N(0,\sigma_0^2I)`, the minimiser of the conditional flow matching loss is

    .. math::

        v_t^*(x)=\frac{\dot\sigma_t}{\sigma_t}\big(x-\alpha_t\bar x_w\big)+\dot\alpha_t\bar x_w,\qquad
        \bar x_w=\sum_iw_ix^{(i)},\quad
        w_i=\operatorname{softmax}_i\Big(-\frac{\|x-\alpha_tx^{(i)}\|^2}{2\sigma_t^2}\Big),

    which is :math:`(\bar x_w-(1-\sigma_{\min})x)/\sigma_t` on the OT path. It is computed in
    float64 by a streaming max-shifted softmax over chunks of the data (memory
    :math:`O((M+N)d+M\cdot\mathrm{chunk})`), repeated points merged, differentiable in ``x``.

    Parameters
    ----------
    data : (N, d) or (N, ...) array or tensor
        Training points (rows; trailing dimensions are flattened, and ``x`` then has the same
        trailing shape). Kept in float64.
    path : path-like
        Anything :func:`numerics.path_spec.resolve_path` accepts: ``"ot"``, ``"ot(0.01)"``,
        ``"cosine"``, ``"vp"``, SymPy text ``"alpha=...; sigma=..."``, a memgen path, a
        ``flow_matching`` scheduler or ``AffineProbPath``, a torchcfm matcher.
    convention : {"auto", "x_t", "t_x"}
        Order of two positional arguments. ``"auto"`` decides from the shapes (``x`` is
        ``(batch, d)``; ``t`` is 0-dim, ``(batch,)``, ``(1,)`` or ``(batch, 1)``) and raises where
        both orders fit (``d = 1`` with ``t`` of shape ``(batch, 1)``); keywords ``x=``, ``t=``
        always decide.
    chunk : int, optional
        Data points per softmax block (default: about :math:`2^{25}/M`).

    Notes
    -----
    The output has the dtype and device of ``x``: a float32 state gets the float64 field rounded
    once. Casting the module (``.float()``, ``.half()``) leaves the data in float64; moving it
    (``.to(device)``) moves the data. At ``t = 1`` on a path with :math:`\sigma_1=0` the field is
    singular and is refused: stop a solver at ``1 - eps``, take a path with :math:`\sigma_1>0`, or
    integrate to ``t = 1`` with memgen's log-time integrator
    (:func:`numerics.empirical_field.integrate_flow`, :mod:`numerics.integrators`).

    Examples
    --------
    >>> import torch, memgen
    >>> field = memgen.ExactVelocity(torch.randn(100, 2, dtype=torch.float64), "cosine")
    >>> v = field(torch.randn(8, 2), torch.tensor(0.5))             # flow_matching: forward(x, t)
    >>> v = field(torch.tensor(0.5), torch.randn(8, 2))             # torchdyn: forward(t, x)
    """

    def __init__(self, data: Any, path: Any = "ot", *, convention: str = "auto", chunk: int | None = None) -> None:
        super().__init__()
        if convention not in CONVENTIONS:
            raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
        if isinstance(data, torch.Tensor):
            if not data.dtype.is_floating_point:
                raise TypeError(f"data must be a real floating tensor, got dtype {data.dtype}")
            pts = data.detach().to(torch.float64)
        else:
            arr = np.asarray(data)
            if arr.dtype.kind not in "iuf":
                raise TypeError(f"data must be a real numeric array, got dtype {arr.dtype}")
            pts = torch.as_tensor(arr, dtype=torch.float64)
        if pts.ndim < 2 or pts.shape[0] == 0 or pts[0].numel() == 0:
            raise ValueError(f"data must have shape (N, d) with N, d >= 1, got {tuple(pts.shape)}")
        if not bool(torch.isfinite(pts).all()):
            raise ValueError("data contains NaN or inf")
        self.path = resolve_path(path)
        self.convention = convention
        self.chunk = chunk
        self.sample_shape = tuple(pts.shape[1:])
        self.dim = int(pts[0].numel())
        self.num_points = int(pts.shape[0])
        self._points = distinct_points(pts.reshape(pts.shape[0], self.dim))

    def extra_repr(self) -> str:
        return f"N={self.num_points}, d={self.dim}, path={self.path.label}"

    def _apply(self, fn: Any, recurse: bool = True) -> ExactVelocity:
        # Follow device moves; never cast the data (the field is float64 by construction).
        pts, counts = self._points
        device = fn(torch.empty(0, dtype=torch.float64, device=pts.device)).device
        self._points = DistinctPoints(pts.to(device), None if counts is None else counts.to(device))
        return super()._apply(fn, recurse)

    # ------------------------------------------------------------------ call conventions
    def _is_state(self, v: Any) -> bool:
        return isinstance(v, torch.Tensor) and v.ndim >= 2 and v[0].numel() == self.dim

    @staticmethod
    def _is_time(v: Any, batch: int) -> bool:
        if isinstance(v, int | float) and not isinstance(v, bool):
            return True
        if not isinstance(v, torch.Tensor):
            return False
        return v.ndim == 0 or (v.ndim == 1 and v.shape[0] in (1, batch)) or (v.ndim == 2 and v.shape == (batch, 1))

    def _split(self, inputs: tuple[Any, ...], x: Any, t: Any) -> tuple[torch.Tensor, Any]:
        """``(x, t)`` from the arguments of :meth:`forward` (see the class docstring)."""
        given = [v for v in (x, t) if v is not None]
        if len(inputs) + len(given) == 2 and given:
            if len(given) == 2:
                return x, t
            return (x, inputs[0]) if x is not None else (inputs[0], t)
        if len(inputs) == 1 and not given:
            xt = inputs[0]
            if isinstance(xt, torch.Tensor) and xt.ndim == 2 and xt.shape[1] == self.dim + 1:
                return xt[:, : self.dim], xt[:, self.dim]  # torchcfm's models: cat([x, t[:, None]], 1)
            raise TypeError(
                f"forward takes (x, t), (t, x) or one (batch, d + 1 = {self.dim + 1}) tensor [x | t]; got one "
                f"argument of shape {tuple(getattr(xt, 'shape', ()))}"
            )
        if len(inputs) != 2 or given:
            raise TypeError("forward takes x and t: forward(x, t), forward(t, x) or forward(x=..., t=...)")
        a, b = inputs
        if self.convention == "x_t":
            return a, b
        if self.convention == "t_x":
            return b, a
        x_first = self._is_state(a) and self._is_time(b, a.shape[0])
        t_first = self._is_state(b) and self._is_time(a, b.shape[0])
        if x_first and t_first:
            raise ValueError(
                f"ambiguous call: both arguments fit x (batch, {self.dim}) and t (batch, 1); call forward(x=..., t=...) "
                "or build ExactVelocity(..., convention='x_t') (flow_matching) or convention='t_x' (torchdyn, torchcfm)"
            )
        if not (x_first or t_first):
            raise ValueError(
                f"cannot tell x from t: x must have shape (batch, {self.dim}) (or (batch, *{self.sample_shape})) and t "
                f"be 0-dim, (batch,), (1,) or (batch, 1); got shapes {tuple(np.shape(a))} and {tuple(np.shape(b))}"
            )
        return (a, b) if x_first else (b, a)

    def _times(self, t: Any, batch: int, device: torch.device) -> torch.Tensor:
        if isinstance(t, torch.Tensor) and not t.dtype.is_floating_point:
            raise TypeError(f"t must be a real floating tensor, got dtype {t.dtype}")
        tt = torch.as_tensor(t, dtype=torch.float64, device=device).detach()
        if not self._is_time(tt, batch):
            raise ValueError(f"t must be 0-dim, ({batch},), (1,) or ({batch}, 1), got shape {tuple(tt.shape)}")
        tt = tt.reshape(-1).expand(batch) if tt.numel() == 1 else tt.reshape(batch)
        sig = self.path.sigma(tt)
        if not bool(((tt >= 0) & (tt <= 1)).all()):
            raise ValueError(
                f"t must lie in [0, 1] (noise at 0, data at 1), got values in [{float(tt.min())}, {float(tt.max())}]; "
                "adaptive solvers (torchdiffeq's dopri5) step past the end of the interval and interpolate back: "
                "use a fixed-step method (with a time grid or step size ending at 1) to integrate to t = 1"
            )
        if not bool((sig > 0).all()):
            raise ValueError(
                f"t = 1 on the path {self.path.label}, where sigma_1 = 0: the exact field is singular there (on the OT "
                "path it is (x_bar - x)/(1 - t)). Stop the solver at t = 1 - eps, use a path with sigma_1 > 0 "
                "(e.g. 'ot(0.001)'), or integrate to t = 1 with memgen's log-time integrator, "
                "memgen.integrate_flow (numerics.empirical_field.integrate_flow, solved in tau = -ln(sigma_t/sigma_0) by "
                "numerics.integrators)"
            )
        return tt

    def forward(
        self, *inputs: Any, x: torch.Tensor | None = None, t: Any = None, args: Any = None, **extras: Any
    ) -> torch.Tensor:
        r"""The exact field :math:`v_t^*(x)` at the states ``x`` and times ``t`` (class docstring).

        Parameters
        ----------
        *inputs : ``(x, t)``, ``(t, x)`` or one ``(batch, d + 1)`` tensor ``[x | t]``
        x : (batch, d) tensor, optional (keyword form)
        t : float or tensor, optional (keyword form): 0-dim, (batch,), (1,) or (batch, 1), in [0, 1]
        args : torchdyn's extra arguments; must be empty (the exact field takes no conditioning)

        Returns
        -------
        Tensor shaped like ``x``, in its dtype and on its device.

        Raises
        ------
        TypeError
            Wrong number or kind of arguments, or conditioning inputs (``extras``, a non-empty
            ``args``): the field is unconditional.
        ValueError
            Ambiguous or mismatched shapes, ``t`` outside [0, 1], or ``t = 1`` where :math:`\sigma_1=0`.
        """
        if extras or args:
            names = sorted(extras) + (["args"] if args else [])
            raise TypeError(f"the exact field is unconditional: it takes no extra inputs, got {names}")
        x, t = self._split(inputs, x, t)
        if not (isinstance(x, torch.Tensor) and x.dtype.is_floating_point):
            raise TypeError(f"x must be a real floating tensor, got {type(x).__name__}")
        if not self._is_state(x):
            raise ValueError(
                f"x must have shape (batch, {self.dim}) or (batch, *{self.sample_shape}), got {tuple(x.shape)}"
            )
        rows = x.reshape(x.shape[0], self.dim).to(torch.float64)
        tt = self._times(t, rows.shape[0], rows.device)
        v = optimal_velocity_torch(rows, tt, self._points, self.path, chunk=self.chunk)
        return v.to(x.dtype).reshape(x.shape)
