"""Input checks shared by every layer: real arrays, numeric controls, the dense-size cap.

Every public function that takes user input checks it here, before any work:

- :func:`real_array`: a real numeric array as float64. Complex input is refused (``TypeError``),
  never cast to its real part; so are object, string and other non-numeric arrays. NaN/inf are
  refused unless asked for.
- :func:`real_scalar` and :func:`integer`: a numeric control (a tolerance, a step size, a count)
  that must be finite and lie in a stated range.
- :func:`dense_guard`: refuses a dense allocation above the cap before it is attempted, with the
  size it would need (instead of a ``MemoryError`` half-way through, or a machine that swaps).
  The cap is ``MEMGEN_MAX_DENSE_GB`` gibibytes (environment variable, default
  :data:`DEFAULT_MAX_DENSE_GB`), read at every call.

Errors: ``TypeError`` for a value of the wrong kind (complex, object, string, bool where a number
is meant), ``ValueError`` for a value of the right kind outside its domain (NaN, out of range,
wrong shape), :class:`DenseSizeError` (a ``ValueError`` and a ``MemoryError``) for a request over
the cap. This module sits in the lowest layer so that the closed forms of :mod:`theory` use the
same checks as :mod:`numerics`.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

import numpy as np

DEFAULT_MAX_DENSE_GB = 4.0
MAX_DENSE_ENV = "MEMGEN_MAX_DENSE_GB"
_REAL_KINDS = "iuf"  # signed and unsigned integers, floats (bool is refused: a mask is not a number)


class DenseSizeError(ValueError, MemoryError):
    """A dense array larger than the cap ``MEMGEN_MAX_DENSE_GB`` was requested."""


def _from_torch(x: Any, name: str) -> Any:
    if hasattr(x, "detach") and hasattr(x, "is_complex"):  # a torch tensor, without importing torch
        if x.is_complex():
            raise TypeError(f"{name} is complex ({x.dtype}); a real array is required")
        x = x.detach().cpu()
        return x.double().numpy() if x.is_floating_point() else x.numpy()
    return x


def real_array(x: Any, name: str, *, ndim: int | tuple[int, ...] | None = None, finite: bool = True) -> np.ndarray:
    """``x`` as a float64 array, refusing complex, object and non-numeric input.

    Parameters
    ----------
    x : array_like or torch.Tensor
    name : str
        Used in the error messages.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    finite : bool
        Refuse NaN and inf entries.

    Raises
    ------
    TypeError
        Complex, object, string or other non-numeric dtype.
    ValueError
        Wrong number of dimensions, NaN/inf (with ``finite``), ragged nested sequences.
    """
    a = np.asarray(_from_torch(x, name))
    if a.dtype.kind == "c":
        raise TypeError(f"{name} is complex ({a.dtype}); a real array is required (imaginary parts are never dropped)")
    if a.dtype.kind not in _REAL_KINDS:
        raise TypeError(f"{name} must be a real numeric array, got dtype {a.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in allowed:
            want = " or ".join(str(n) for n in allowed)
            raise ValueError(f"{name} must have {want} dimension(s), got shape {a.shape}")
    a = a.astype(np.float64, copy=False)
    if finite and not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _number(x: Any, name: str) -> float:
    if hasattr(x, "detach") and hasattr(x, "is_complex"):  # a torch tensor
        if x.numel() != 1 or x.ndim != 0:
            raise TypeError(f"{name} must be a real number, got a tensor of shape {tuple(x.shape)}")
        x = x.item()
    if isinstance(x, np.ndarray):
        if x.ndim != 0:
            raise TypeError(f"{name} must be a real number, got an array of shape {x.shape}")
        x = x[()]
    if isinstance(x, bool | np.bool_):
        raise TypeError(f"{name} must be a real number, got the bool {x!r}")
    if isinstance(x, numbers.Complex) and not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got the complex {x!r}")
    if not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    return float(x)


def check_range(
    a: np.ndarray | float,
    name: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    """Raise ``ValueError`` unless every value lies in the interval ``[lo, hi]`` (ends open on request)."""
    if type(a) in (float, int):  # the common case, a checked scalar control: no array round trip
        # (NaN fails every comparison below, so it is also sent on to the array path's message)
        if (
            (lo is None or (a > lo if lo_open else a >= lo))
            and (hi is None or (a < hi if hi_open else a <= hi))
            and a == a
        ):
            return
    v = np.asarray(a, dtype=np.float64)
    below = lo is not None and bool(np.any(v <= lo if lo_open else v < lo))
    above = hi is not None and bool(np.any(v >= hi if hi_open else v > hi))
    if below or above or bool(np.any(np.isnan(v))):
        left = "(" if lo_open or lo is None else "["
        right = ")" if hi_open or hi is None else "]"
        interval = f"{left}{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}{right}"
        if v.ndim == 0:
            shown = f"{float(v):g}"
        elif np.isnan(v).all():
            shown = "only NaN values"
        else:
            shown = f"values in [{np.nanmin(v):g}, {np.nanmax(v):g}]"
        raise ValueError(f"{name} must lie in {interval}, got {shown}")


def real_scalar(
    x: Any,
    name: str,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """A finite real number in ``[lo, hi]`` (ends open on request) as a Python float.

    Raises
    ------
    TypeError
        Complex, bool, non-numeric or array input.
    ValueError
        NaN, inf (unless ``allow_inf``) or a value outside the interval.
    """
    v = _number(x, name)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {v}")
    check_range(v, name, lo, hi, lo_open=lo_open, hi_open=hi_open)
    return v


def integer(x: Any, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """An integer in ``[lo, hi]`` as a Python int (integral floats such as ``1000.0`` are accepted).

    Raises
    ------
    TypeError
        Complex, bool, non-numeric or array input.
    ValueError
        NaN, inf, a fractional value or a value outside the interval.
    """
    v = _number(x, name)
    if not math.isfinite(v) or v != math.floor(v):
        raise ValueError(f"{name} must be an integer, got {x!r}")
    n = int(x) if isinstance(x, numbers.Integral) else int(v)
    check_range(n, name, lo, hi)
    return n


def max_dense_bytes() -> float:
    """The cap on one dense request in bytes (``MEMGEN_MAX_DENSE_GB`` GiB, default 4)."""
    raw = os.environ.get(MAX_DENSE_ENV)
    try:
        gb = DEFAULT_MAX_DENSE_GB if raw in (None, "") else float(raw)
    except ValueError:
        gb = math.nan
    if not gb > 0:
        raise ValueError(f"{MAX_DENSE_ENV} must be a positive number of GiB, got {raw!r}")
    return gb * 2.0**30


def dense_guard(shape: tuple[int, ...], what: str, *, itemsize: int = 8, copies: float = 1.0) -> None:
    """Refuse a dense request of ``copies`` arrays of ``shape`` above the cap, before allocating.

    Parameters
    ----------
    shape : tuple of int
        Shape of the largest dense array the request holds.
    what : str
        What it is, for the message (e.g. ``"cost matrix"``).
    itemsize : int
        Bytes per entry.
    copies : float
        How many arrays of that size are alive at once (temporaries included).

    Raises
    ------
    DenseSizeError
        With the size the request would need and the cap.
    """
    need = float(itemsize) * float(copies) * math.prod(float(s) for s in shape)
    cap = max_dense_bytes()
    if need > cap:
        raise DenseSizeError(
            f"{what} of shape {tuple(int(s) for s in shape)} would need {need / 2**30:.3g} GiB "
            f"(> {MAX_DENSE_ENV} = {cap / 2**30:.3g} GiB); use a smaller size or raise {MAX_DENSE_ENV}"
        )
