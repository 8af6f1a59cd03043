r"""Meta ``flow_matching`` schedulers both ways: a scheduler as a memgen path, a memgen path as a scheduler.

``flow_matching`` (CC-BY-NC) is imported, never copied; it is an optional dependency (the
``interop`` extra) and is imported only when a scheduler is built.

- :func:`path_from_scheduler`: a ``Scheduler`` or ``AffineProbPath`` (its ``.scheduler``) as a
  memgen path. The library's classes with closed forms become SymPy paths, checked against the
  scheduler's own values (:func:`numerics.paths.from_scheduler`); any other scheduler is
  tabulated from its ``__call__`` (:class:`numerics.tabulated_path.TabulatedPath`).
- :func:`to_scheduler`: a memgen path as a ``flow_matching`` ``Scheduler`` (:class:`PathScheduler`)
  whose :math:`\alpha_t,\sigma_t,\dot\alpha_t,\dot\sigma_t` are the path's lambdified SymPy
  functions, so that ``AffineProbPath(to_scheduler(path))`` trains on memgen's path.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from numerics.paths import NumericPath, _has_base, _numeric, from_scheduler
from numerics.tabulated_path import TabulatedPath
from theory import paths as sym

CLOSED_FORMS = ("CondOTScheduler", "CosineScheduler", "VPScheduler", "LinearVPScheduler", "PolynomialConvexScheduler")
"""The ``flow_matching`` scheduler classes mapped to closed forms (:func:`numerics.paths.from_scheduler`)."""
SNR_BISECTION_STEPS = 64
"""Halvings of :math:`[0,1]` in :meth:`PathScheduler.snr_inverse` (below the float64 spacing of ``t``)."""


def is_scheduler(obj: Any) -> bool:
    """Whether ``obj`` is a ``flow_matching`` ``Scheduler`` or ``AffineProbPath`` (checked without importing it)."""
    return _has_base(obj, "flow_matching.", "Scheduler") or _has_base(obj, "flow_matching.", "AffineProbPath")


def path_from_scheduler(scheduler: Any, accept_alpha0: bool = False) -> NumericPath:
    r"""The memgen path of a ``flow_matching`` scheduler (or of an ``AffineProbPath``'s scheduler).

    Parameters
    ----------
    scheduler : flow_matching ``Scheduler`` or ``AffineProbPath``
    accept_alpha0 : bool
        For a tabulated scheduler: accept :math:`\alpha_0>0` (an approximate source).

    Returns
    -------
    numerics.paths.NumericPath
        The closed form (:class:`numerics.paths.CondOTPath` or :class:`numerics.paths.DerivedPath`)
        for the library's classes in :data:`CLOSED_FORMS`; a :class:`numerics.tabulated_path.TabulatedPath`
        for any other scheduler (a memgen :class:`PathScheduler` gives back its own path).

    Raises
    ------
    TypeError
        For an object that is neither.
    theory.paths.PathError
        A closed form that disagrees with the scheduler, or a tabulated schedule that is not a
        valid path (the condition is named).
    """
    if not is_scheduler(scheduler):
        raise TypeError(f"expected a flow_matching Scheduler or AffineProbPath, got {type(scheduler).__name__}")
    inner = scheduler.scheduler if _has_base(scheduler, "flow_matching.", "AffineProbPath") else scheduler
    if isinstance(getattr(inner, "memgen_path", None), NumericPath):
        return inner.memgen_path
    if type(inner).__name__ in CLOSED_FORMS and type(inner).__module__.startswith("flow_matching."):
        return _numeric(from_scheduler(inner))
    return TabulatedPath(functools.partial(_tabulate, inner), type(inner).__name__, accept_alpha0=accept_alpha0)


def _tabulate(scheduler: Any, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The scheduler's ``SchedulerOutput`` at float64 times ``t``, as NumPy arrays."""
    import torch

    out = scheduler(torch.as_tensor(t, dtype=torch.float64))
    return tuple(
        np.asarray(torch.as_tensor(getattr(out, f"{k}_t")).detach().double().cpu().numpy(), dtype=np.float64)
        for k in ("alpha", "sigma", "d_alpha", "d_sigma")
    )


@functools.cache
def _scheduler_class() -> type:
    """:class:`PathScheduler`, built on first use (``flow_matching`` is optional)."""
    import torch
    from flow_matching.path.scheduler import Scheduler, SchedulerOutput

    class PathScheduler(Scheduler):
        r"""A ``flow_matching`` scheduler whose :math:`\alpha_t,\sigma_t` and derivatives are a memgen path's.

        Values keep the dtype and device of ``t`` (the lambdified SymPy functions in torch).
        """

        def __init__(self, path: NumericPath) -> None:
            self.memgen_path = path

        def __repr__(self) -> str:
            return f"PathScheduler({self.memgen_path!r})"

        def __call__(self, t: torch.Tensor) -> SchedulerOutput:
            p = self.memgen_path
            return SchedulerOutput(
                alpha_t=p.alpha(t), sigma_t=p.sigma(t), d_alpha_t=p.d_alpha(t), d_sigma_t=p.d_sigma(t)
            )

        def snr_inverse(self, snr: torch.Tensor) -> torch.Tensor:
            r"""``t`` with :math:`\alpha_t/\sigma_t=` ``snr`` (bisection on the increasing log-SNR, in float64)."""
            target = torch.as_tensor(snr).to(torch.float64)
            lo, hi = torch.zeros_like(target), torch.ones_like(target)
            for _ in range(SNR_BISECTION_STEPS):
                mid = 0.5 * (lo + hi)
                # alpha > snr sigma: past the crossing (no division: sigma_1 may be 0)
                above = self.memgen_path.alpha(mid) > target * self.memgen_path.sigma(mid)
                lo, hi = torch.where(above, lo, mid), torch.where(above, mid, hi)
            return (0.5 * (lo + hi)).to(torch.as_tensor(snr).dtype)

    PathScheduler.__module__ = __name__
    PathScheduler.__qualname__ = "PathScheduler"
    return PathScheduler


def __getattr__(name: str) -> Any:
    # PathScheduler is importable (and picklable) by name once flow_matching is installed.
    if name == "PathScheduler":
        return _scheduler_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_scheduler(path: NumericPath | sym.AffinePath) -> Any:
    r"""A ``flow_matching`` scheduler following a memgen path (a numeric or SymPy path).

    ``flow_matching.path.AffineProbPath(to_scheduler(path))`` then samples :math:`x_t=\alpha_tx_1+\sigma_tx_0`
    and the target :math:`\dot\alpha_tx_1+\dot\sigma_tx_0` of memgen's path, for training.

    Raises
    ------
    ImportError
        Without ``flow_matching`` (``pip install 'memgen-theory[interop]'``).
    TypeError
        For anything that is not a path.
    """
    if isinstance(path, sym.AffinePath):
        path = _numeric(path)
    if not isinstance(path, NumericPath):
        raise TypeError(f"to_scheduler takes a memgen path (memgen.path(...)), got {type(path).__name__}")
    try:
        cls = _scheduler_class()
    except ImportError as exc:
        raise ImportError(
            "to_scheduler needs flow_matching: pip install 'memgen-theory[interop]' (or pip install flow_matching)"
        ) from exc
    return cls(path)
