"""Seeded, sized measurements: what the checks judge and the figures plot.

A measurement is a function of a :class:`RunSpec` (which tier, which seeds, where to run, where
to cache) that returns a typed result (a dataclass). Its sizes come from a :class:`Tier`: one
definition per claim of the fast sizes and of the spec's sizes, with the spec section cited, so
the verdict can say at which size it was verified and the ledger can say "verified at spec size"
only when it was.

- :class:`Sizes`: base of the frozen size records; :meth:`Sizes.below` lists the fields of a run
  that fall short of the spec's.
- :class:`Tier`: ``fast`` and ``spec`` sizes of one claim and the spec section they come from.
- :class:`RunSpec`: tier, ``--seed``, executor, disk cache, progress callback and size overrides.
- :class:`Measurement`: base of the results, carrying the seeds, sizes and solver settings they were made with.
- :func:`measured`: an in-process memo plus the disk cache around a measurement, keyed by its
  parameter record, so a check and a figure that need the same numbers compute them once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from numerics.cache import DiskCache, LayeredCache, Uncacheable, param_record

TIER_NAMES = ("fast", "spec")


@dataclass(frozen=True)
class Sizes:
    """Base class of a claim's size record (frozen dataclass of counts, grids and nested sizes).

    Comparison with the spec (:meth:`below`): a number is short when smaller than the spec's, a
    grid (tuple) when it lacks any of the spec's values, a nested record field by field, anything
    else when it differs.
    """

    def below(self, spec: Sizes, prefix: str = "") -> list[str]:
        """Names of the fields (dotted for nested records) where ``self`` falls short of ``spec``."""
        short: list[str] = []
        for f in dataclasses.fields(self):
            mine, theirs = getattr(self, f.name), getattr(spec, f.name)
            name = prefix + f.name
            if isinstance(mine, Sizes):
                short += mine.below(theirs, name + ".")
            elif isinstance(mine, bool) or isinstance(theirs, bool):
                short += [name] if mine != theirs else []
            elif isinstance(mine, int | float) and isinstance(theirs, int | float):
                short += [name] if mine < theirs else []
            elif isinstance(mine, tuple | list) and isinstance(theirs, tuple | list):
                short += [name] if not set(theirs) <= set(mine) else []
            else:
                short += [name] if mine != theirs else []
        return short

    def replace(self, **changes: Any) -> Sizes:
        """A copy with ``changes``; dotted names reach into nested records (``train.width=16``)."""
        flat: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            head, _, rest = key.partition(".")
            if head not in {f.name for f in dataclasses.fields(self)}:
                raise ValueError(f"{type(self).__name__} has no size {head!r}")
            if rest:
                nested.setdefault(head, {})[rest] = value
            else:
                flat[head] = value
        for head, sub in nested.items():
            flat[head] = getattr(self, head).replace(**sub)
        return dataclasses.replace(self, **flat)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


S = TypeVar("S", bound=Sizes)


@dataclass(frozen=True)
class Tier(Generic[S]):
    """The sizes of one claim's measurement: the fast tier's and the spec's, with the section cited.

    ``fast`` is what ``memgen verify`` and the default ``pytest`` run; ``spec`` is what the spec
    asks for (``memgen verify --full``). Where they are equal the fast run is at spec size.
    """

    name: str
    fast: S
    spec: S
    section: str

    def __post_init__(self) -> None:
        if type(self.fast) is not type(self.spec):
            raise TypeError(f"tier {self.name}: fast and spec sizes must be one record type")

    @classmethod
    def same(cls, name: str, sizes: S, section: str) -> Tier[S]:
        """A tier whose fast run already has the spec's sizes."""
        return cls(name, sizes, sizes, section)

    @property
    def reduced_fields(self) -> list[str]:
        """Fields in which the fast tier falls short of the spec."""
        return self.fast.below(self.spec)


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """Base of every measurement's result: what it measured with, carried with what it measured.

    ``seeds``: the random streams it drew from, by name (``{"starts": 52, "train": [0, 1, 2]}``);
    ``sizes``: the :class:`Sizes` it ran at; ``settings``: solver and estimator settings (tolerances,
    step counts, quadrature orders) that are not sizes. A check builds its evidence from it
    (``Evidence.of(source, measurement)``) and a figure plots it, so both say the same thing about
    how the numbers were made. The fields are keyword-only, so a subclass lists its own values first.
    """

    seeds: Mapping[str, Any] = field(default_factory=dict)
    sizes: Sizes | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)

    def provenance(self) -> dict[str, Any]:
        """Seeds, sizes and settings as plain data (JSON-ready)."""
        return {
            "seeds": dict(self.seeds),
            "sizes": None if self.sizes is None else self.sizes.as_dict(),
            "settings": dict(self.settings),
        }


@dataclass(frozen=True)
class Prerequisite:
    """Work a measurement needs that may run ahead of it, on any worker: ``fn(**kwargs)`` (module level, so
    picklable) leaves its result in the run's disk cache, where the measurement then finds it.

    An optimisation only: without it (in-process runs, no disk cache) the measurement does the work
    itself, with the same numbers. ``memgen verify --workers N`` runs the prerequisites of the claims
    that declare them (``@check(plan=...)``) first, spread over the workers longest first, each once
    however many claims share it (``key``), and those claims after them, each as a task of its own.

    Attributes
    ----------
    key : what identifies the work (the hash of its parameter record)
    label : the work in words (progress lines and the time table)
    fn, kwargs : the work
    cost : estimated seconds on one CPU core (its place in the longest-first order)
    parts : keys of the results it leaves in the cache (default: ``{key}``); work whose parts another
        prerequisite of the run also leaves is not run twice (5 seeds of an arm that another claim
        trains with 26)
    """

    key: str
    label: str
    fn: Callable[..., Any]
    kwargs: Mapping[str, Any]
    cost: float
    parts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.parts:
            object.__setattr__(self, "parts", frozenset({self.key}))

    def __call__(self) -> None:
        self.fn(**self.kwargs)


def _quiet(msg: str) -> None:
    return None


@dataclass(frozen=True)
class RunSpec:
    """How a measurement runs: tier, seeds, executor, cache, progress and size overrides.

    Attributes
    ----------
    tier : ``"fast"`` (default) or ``"spec"`` (the spec's sizes; ``memgen verify --full``)
    seed : ``memgen verify --seed S``; ``None`` keeps each measurement's spec seeds
    executor : ``concurrent.futures``-shaped executor for independent sweep tasks (in-process by default)
    cache : disk cache of trained models and measurements (``None``: compute in this process only)
    progress : callable(str) for long work (never prints by itself)
    overrides : size changes per tier name (negative controls and tests at reduced sizes)
    path : ``memgen verify --path P``: the affine Gaussian path of the claims that follow one (a
        name, ``"alpha=...; sigma=..."``, a :mod:`theory.paths` path or anything
        :func:`numerics.paths.as_path` takes); ``None`` keeps each claim's own (the spec's) paths
    """

    tier: str = "fast"
    seed: int | None = None
    executor: Any = field(default=None, compare=False, repr=False)
    cache: DiskCache | None = field(default=None, compare=False, repr=False)
    progress: Callable[[str], None] = field(default=_quiet, compare=False, repr=False)
    overrides: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    path: Any = None

    def __post_init__(self) -> None:
        if self.path is not None:
            from numerics.paths import as_path

            as_path(self.path)  # an invalid path is refused here, before any work (the condition is named)
        if self.tier not in TIER_NAMES:
            raise ValueError(f"tier must be one of {TIER_NAMES}, got {self.tier!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or int(self.seed) != self.seed or self.seed < 0):
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.executor is None:
            from numerics.executor import InProcessExecutor

            object.__setattr__(self, "executor", InProcessExecutor())

    @property
    def full(self) -> bool:
        """Whether this run uses the spec's sizes."""
        return self.tier == "spec"

    def sizes(self, tier: Tier[S]) -> S:
        """The sizes of ``tier`` in this run (its fast or spec record, with any overrides)."""
        base = tier.spec if self.full else tier.fast
        for name, changes in self.overrides:
            if name == tier.name:
                base = base.replace(**dict(changes))
        return base

    def with_sizes(self, tier: Tier[Any] | str, **changes: Any) -> RunSpec:
        """A copy of this run with some sizes of ``tier`` replaced."""
        name = tier if isinstance(tier, str) else tier.name
        return dataclasses.replace(self, overrides=(*self.overrides, (name, tuple(sorted(changes.items())))))

    def seed_for(self, default: int) -> int | list[int]:
        """The spec's seed for this draw, or a distinct stream derived from ``--seed``."""
        return default if self.seed is None else [int(self.seed), int(default)]

    def seed_list(self, default: int) -> list[int]:
        """:meth:`seed_for` as a list (for ``[*seed, stream]`` sub-streams)."""
        return [int(s) for s in np.atleast_1d(self.seed_for(default))]

    def rng(self, default: int) -> np.random.Generator:
        return np.random.default_rng(self.seed_for(default))

    def key(self) -> dict[str, Any]:
        """What identifies this run in a cache key (tier, seed, overrides)."""
        key = {"tier": self.tier, "seed": self.seed, "overrides": [list(o) for o in self.overrides]}
        if self.path is not None:
            from numerics.paths import as_path

            key["path"] = as_path(self.path).record()
        return key


_MEMO = LayeredCache()
"""The measurements made in this process, keyed by the hash of their parameter record."""


def measured(run: RunSpec, name: str, params: Mapping[str, Any], compute: Callable[[], Any]) -> Any:
    """``compute()`` once per process and per disk cache for the parameter record of ``name(params)``.

    ``params`` must determine the result: sizes, seeds and every setting. Parameters without a
    stable record (an injected wrong field, a live model) disable the memo and the cache.
    """
    try:
        record = param_record({"measurement": name, **params})
    except Uncacheable:
        return compute()
    return _MEMO.get_or_compute(name, record, compute, run.cache)


def forget_measurements() -> None:
    """Drop the in-process memo of :func:`measured` (tests that need a fresh computation)."""
    _MEMO.forget()
