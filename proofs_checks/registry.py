"""Claim registry: claims, their checks, and the verdicts checks return.

A *claim* is one statement of a paper (or a shared closed form) with a stable id such as
``gao-li/off-subspace-decay``. Its metadata (paper, title, tag, kind, tier) lives in
:mod:`proofs_checks.catalog`. A *check* is a function registered for a claim id with
:func:`check`; it receives a :class:`Context` and returns a :class:`Verdict` built with
:class:`Evidence`. Checks never print; they return.

Every comparison a check makes is recorded with the measured value, the expected value and
where it comes from (equation, theorem), the tolerance and its justification. A verdict passes
only if every asserted comparison passes and at least one comparison was asserted: a check
that asserts nothing is an error, never a silent pass.
"""

from __future__ import annotations

import difflib
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

PAPERS = ("common", "gao-li", "mfm", "merger-goldt")
TAGS = ("paper", "reported", "derived")
KINDS = ("symbolic", "high-precision-ode", "monte-carlo", "training")
TIERS = ("fast", "full")

DERIVED_SENTENCE = "derived for this project; the paper's exact form is not confirmed"
REPORTED_SENTENCE = "value/wording is second-hand (secondary readings of the paper)"


class RegistryError(Exception):
    """A problem with the registry itself: unknown or duplicate id, bad metadata."""


@dataclass(frozen=True)
class Claim:
    """One claim of the suite.

    ``kinds`` may hold several kinds (``"symbolic + Monte Carlo"`` in the spec); the first is
    the primary kind. ``tier`` is ``fast`` (default ``memgen verify`` and ``pytest``) or
    ``full`` (only with ``--full`` / ``-m slow``).
    """

    id: str
    paper: str
    title: str
    tag: str
    kinds: tuple[str, ...]
    tier: str = "fast"
    statement: str = ""

    @property
    def kind(self) -> str:
        return self.kinds[0]


@dataclass
class Comparison:
    """One comparison inside a check."""

    name: str
    measured: Any
    expected: Any
    tolerance: str
    justification: str
    passed: bool
    asserted: bool = True


@dataclass
class Verdict:
    """What a check returns (the runner fills ``claim_id``, ``seconds`` and ``error``)."""

    claim_id: str
    passed: bool
    source: str
    comparisons: list[Comparison] = field(default_factory=list)
    seed: Any = None
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        return "pass" if self.passed else "FAIL"

    def to_json(self) -> dict[str, Any]:
        asserted = [c for c in self.comparisons if c.asserted]
        return {
            "id": self.claim_id,
            "passed": self.passed,
            "status": self.status,
            "source": self.source,
            "measured": {c.name: _jsonable(c.measured) for c in asserted},
            "expected": {c.name: _jsonable(c.expected) for c in asserted},
            "tolerance": {c.name: c.tolerance for c in asserted},
            "comparisons": [_jsonable(asdict(c)) for c in self.comparisons],
            "seed": _jsonable(self.seed),
            "seconds": round(self.seconds, 3),
            "details": _jsonable(self.details),
            "error": self.error,
        }


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, bool | int | float | str) or x is None:
        return x
    return repr(x)


def format_value(x: Any, digits: int = 4) -> str:
    """Short human form of a measured/expected value for tables."""
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        x = float(x)
        if x == 0:
            return "0"
        if not math.isfinite(x):
            return str(x)
        if 1e-3 <= abs(x) < 1e4:
            return f"{x:.{digits}g}"
        return f"{x:.{max(digits - 1, 1)}e}"
    if isinstance(x, np.ndarray) and x.size <= 6:
        return "[" + ", ".join(format_value(v, digits) for v in x.ravel()) + "]"
    if isinstance(x, list | tuple) and len(x) <= 6:
        return "[" + ", ".join(format_value(v, digits) for v in x) + "]"
    if isinstance(x, np.ndarray | list | tuple):
        return f"<{len(x)} values>"
    return str(x)


class Evidence:
    """Collects the comparisons of one check and turns them into a :class:`Verdict`.

    Parameters
    ----------
    source : str
        Where the expected values come from (paper equation/theorem, spec section).
    seed : int or sequence, optional
        The seed(s) the check used, reported verbatim.
    """

    def __init__(self, source: str, seed: Any = None) -> None:
        self.source = source
        self.seed = seed
        self.comparisons: list[Comparison] = []
        self.details: dict[str, Any] = {}

    def _add(self, c: Comparison) -> bool:
        self.comparisons.append(c)
        return c.passed

    def within(
        self, name: str, measured: Any, expected: Any, *, why: str, atol: float = 0.0, rtol: float = 0.0
    ) -> bool:
        """Elementwise ``|measured - expected| <= atol + rtol * |expected|`` (NaN fails)."""
        m = np.asarray(measured, dtype=float)
        e = np.asarray(expected, dtype=float)
        ok = bool(np.all(np.abs(m - e) <= atol + rtol * np.abs(e)) and np.all(np.isfinite(m)))
        tol = " + ".join(s for s in (f"atol {atol:.3g}" if atol else "", f"rtol {rtol:.3g}" if rtol else "") if s)
        return self._add(Comparison(name, measured, expected, tol or "exact", why, ok))

    def at_most(self, name: str, measured: Any, bound: Any, *, why: str, expected: Any = None) -> bool:
        """Every entry of ``measured`` is ``<= bound`` (NaN fails)."""
        m = np.asarray(measured, dtype=float)
        ok = bool(np.all(m <= np.asarray(bound, dtype=float)) and not np.any(np.isnan(m)))
        exp = f"<= {format_value(bound)}" if expected is None else expected
        return self._add(Comparison(name, measured, exp, f"<= {format_value(bound)}", why, ok))

    def at_least(self, name: str, measured: Any, bound: Any, *, why: str, expected: Any = None) -> bool:
        """Every entry of ``measured`` is ``>= bound`` (NaN fails)."""
        m = np.asarray(measured, dtype=float)
        ok = bool(np.all(m >= np.asarray(bound, dtype=float)) and not np.any(np.isnan(m)))
        exp = f">= {format_value(bound)}" if expected is None else expected
        return self._add(Comparison(name, measured, exp, f">= {format_value(bound)}", why, ok))

    def p_value(self, name: str, p: Any, *, alpha: float, why: str) -> bool:
        """A hypothesis test at a fixed seed passes when every p-value is ``>= alpha``."""
        return self.at_least(name, p, alpha, why=why, expected="H0 not rejected")

    def holds(self, name: str, condition: bool, *, why: str, measured: Any = None, expected: Any = True) -> bool:
        """A boolean property (exact identity, ordering, symbolic simplification to zero)."""
        meas = bool(condition) if measured is None else measured
        return self._add(Comparison(name, meas, expected, "exact", why, bool(condition)))

    def report(self, name: str, value: Any, note: str = "") -> None:
        """A reported, not asserted, value (variants that the spec only asks to report)."""
        self.comparisons.append(Comparison(name, value, note or "(reported)", "-", note, True, asserted=False))

    def detail(self, key: str, value: Any) -> None:
        self.details[key] = value

    def verdict(self) -> Verdict:
        asserted = [c for c in self.comparisons if c.asserted]
        if not asserted:
            raise RegistryError("a check returned no asserted comparison; it could never fail")
        return Verdict(
            claim_id="",
            passed=all(c.passed for c in asserted),
            source=self.source,
            comparisons=list(self.comparisons),
            seed=self.seed,
            details=dict(self.details),
        )


@dataclass
class Context:
    """What a check gets from the runner.

    Attributes
    ----------
    seed : int or None
        ``memgen verify --seed S``; ``None`` keeps each check's own spec seeds.
    full : bool
        Full tier: larger sizes and longer training.
    executor : concurrent.futures-shaped executor for independent sweep tasks.
    progress : callable(str) for long checks (never prints by itself).
    """

    seed: int | None = None
    full: bool = False
    executor: Any = None
    progress: Callable[[str], None] = field(default=lambda msg: None)

    def __post_init__(self) -> None:
        if self.executor is None:
            from numerics.executor import InProcessExecutor

            self.executor = InProcessExecutor()

    def seed_for(self, default: int) -> int | list[int]:
        """The spec's seed for this draw, or a distinct stream derived from ``--seed``."""
        return default if self.seed is None else [int(self.seed), int(default)]

    def rng(self, default: int) -> np.random.Generator:
        return np.random.default_rng(self.seed_for(default))


CheckFn = Callable[..., Verdict]
_CHECKS: dict[str, CheckFn] = {}


def check(claim_id: str) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn(ctx, **overrides) -> Verdict`` as the check of ``claim_id``.

    Keyword overrides let tests feed a deliberately wrong input (a perturbed field, a wrong
    formula) to the same check: its negative control.
    """
    from proofs_checks.catalog import CLAIMS

    if claim_id not in CLAIMS:
        raise RegistryError(f"cannot register a check for unknown claim id {claim_id!r}{_suggest(claim_id)}")

    def deco(fn: CheckFn) -> CheckFn:
        if claim_id in _CHECKS and _CHECKS[claim_id] is not fn:
            raise RegistryError(
                f"duplicate check for {claim_id!r}: {_CHECKS[claim_id].__module__}.{_CHECKS[claim_id].__name__}"
                f" and {fn.__module__}.{fn.__name__}"
            )
        _CHECKS[claim_id] = fn
        fn.claim_id = claim_id  # type: ignore[attr-defined]
        return fn

    return deco


# The modules that register the checks of each paper (imported on first use, so a problem in
# one paper's module never hides the others' checks).
CHECK_MODULES = {
    "common": ("proofs_checks.common",),
    "gao-li": ("proofs_checks.gao_li", "proofs_checks.gao_li_learned"),
    "mfm": ("proofs_checks.mfm", "proofs_checks.mfm_learned"),
    "merger-goldt": ("proofs_checks.merger_goldt",),
}


def _load_paper(paper: str) -> None:
    import importlib

    for name in CHECK_MODULES[paper]:
        importlib.import_module(name)


def _load_all() -> None:
    for paper in PAPERS:
        _load_paper(paper)


def _suggest(claim_id: str) -> str:
    from proofs_checks.catalog import CLAIMS

    close = difflib.get_close_matches(claim_id, list(CLAIMS), n=3, cutoff=0.5)
    if not close:
        prefix = claim_id.split("/")[0]
        close = [c for c in CLAIMS if c.startswith(prefix + "/")][:3]
    return f"; closest ids: {', '.join(close)}" if close else ""


def get_claim(claim_id: str) -> Claim:
    from proofs_checks.catalog import CLAIMS

    if claim_id not in CLAIMS:
        raise RegistryError(f"unknown claim id {claim_id!r}{_suggest(claim_id)}")
    return CLAIMS[claim_id]


def get_check(claim_id: str) -> CheckFn | None:
    _load_paper(get_claim(claim_id).paper)
    return _CHECKS.get(claim_id)


def all_claims(paper: str | None = None) -> list[Claim]:
    from proofs_checks.catalog import CLAIMS

    if paper is not None and paper not in PAPERS:
        raise RegistryError(f"unknown paper {paper!r}; choose from {', '.join(PAPERS)}")
    return [c for c in CLAIMS.values() if paper is None or c.paper == paper]


def checked_ids() -> set[str]:
    _load_all()
    return set(_CHECKS)


def run_check(claim_id: str, ctx: Context | None = None, **overrides: Any) -> Verdict:
    """Run the check of ``claim_id`` and return its verdict; exceptions become an error verdict.

    A claim with no registered check gives a failing verdict saying so, never a pass.
    """
    ctx = ctx or Context()
    fn = get_check(claim_id)
    t0 = time.perf_counter()
    if fn is None:
        return Verdict(claim_id, False, "-", error="no check is registered for this claim yet")
    try:
        v = fn(ctx, **overrides)
        if not isinstance(v, Verdict):
            raise RegistryError(f"check of {claim_id} returned {type(v).__name__}, not a Verdict")
    except Exception as exc:  # a check that raises is reported, never passed
        tb = traceback.format_exc(limit=6)
        return Verdict(
            claim_id, False, "-", seconds=time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}\n{tb}"
        )
    v.claim_id = claim_id
    v.seconds = time.perf_counter() - t0
    return v
