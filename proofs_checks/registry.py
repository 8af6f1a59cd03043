"""Checks, their negative controls, and running them.

A *check* is a function registered for a claim id with :func:`check`. It receives a
:class:`~numerics.experiments.RunSpec`, takes its measurement from :mod:`numerics.experiments`,
and judges it with :class:`~proofs_checks.evidence.Evidence`. The decorator declares, as data:

- the claim itself (title, tag, kinds): declared here, once;
- ``tier``: the claim's :class:`~numerics.experiments.Tier` (fast and spec sizes, spec section),
  from which the verdict records the sizes it ran at and its status;
- ``controls``: its negative controls, each a :class:`Control` — one fault (keyword arguments
  of the check that inject it), the comparison it must break, and optionally reduced sizes.

``tests/test_claims.py`` runs every claim and every control and asserts that each control fails
on the comparison it names; a claim without a control fails that test. ``memgen verify --controls``
runs them too (:func:`run_controls`), and the verdict records each outcome
(:class:`~proofs_checks.evidence.ControlResult`), so the ledger shows that each check can fail.
"""

from __future__ import annotations

import fnmatch
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from numerics.experiments import Prerequisite, RunSpec, Tier
from numerics.provenance import host, jsonable
from proofs_checks.claims import LOAD_ERRORS, Claim, declare, get_claim, load_catalog
from proofs_checks.evidence import ControlResult, RegistryError, Verdict

CheckFn = Callable[..., Verdict]
PlanFn = Callable[..., list[Prerequisite]]


@dataclass(frozen=True)
class Control:
    """A negative control: one fault, and the comparison it must break.

    Attributes
    ----------
    fault : keyword arguments passed to the check that inject the single fault (a wrong field,
        formula, law, input or coupling)
    breaks : the name of the comparison that must fail (``fnmatch`` pattern: ``*`` and ``?``)
    sizes : optional size changes of the claim's tier for the control (the positive case is then
        also run at these sizes and must pass the named comparison, so the fault is shown to be the cause)
    why : what the fault is, in words
    """

    fault: Mapping[str, Any]
    breaks: str
    sizes: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    why: str = ""

    def __post_init__(self) -> None:
        if not self.fault:
            raise RegistryError("a control needs a fault (keyword arguments of the check)")
        if not self.breaks:
            raise RegistryError("a control must name the comparison it breaks")


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: the function, its tier and its controls."""

    claim_id: str
    fn: CheckFn
    tier: Tier[Any] | None
    controls: Mapping[str, Control]
    follows_path: bool = False
    plan: PlanFn | None = None

    def prerequisites(self, run: RunSpec, controls: bool = False) -> list[Prerequisite]:
        """The work ``plan`` says the check (and with ``controls`` each control, at its sizes) needs ahead."""
        if self.plan is None:
            return []
        out = list(self.plan(run))
        for c in self.controls.values() if controls else ():
            at = run.with_sizes(self.tier, **dict(c.sizes)) if c.sizes and self.tier is not None else run
            out += self.plan(at, **dict(c.fault))
        return out


_CHECKS: dict[str, CheckSpec] = {}


def check(
    claim_id: str,
    *,
    title: str,
    tag: str,
    kinds: tuple[str, ...],
    tier: Tier[Any] | None = None,
    controls: Mapping[str, Control] | None = None,
    follows_path: bool = False,
    statement: str = "",
    models: str = "",
    spec_only: bool = False,
    plan: PlanFn | None = None,
) -> Callable[[CheckFn], CheckFn]:
    """Declare the claim ``claim_id`` and register ``fn(run, **fault) -> Verdict`` as its check.

    The claim is declared here, once: ``title``, ``tag`` (``paper`` / ``reported`` / ``derived``),
    ``kinds``, ``statement`` (default: the title), ``models`` (the trained models it shares with
    other claims, :class:`~proofs_checks.claims.Claim`) and ``spec_only`` (run only at the spec's
    sizes, with ``--full``). ``tier``: its sizes (:class:`~numerics.experiments.Tier`); ``controls``:
    its negative controls; ``follows_path``: the check runs on ``run.path`` (``memgen verify --path``);
    ``plan``: ``plan(run, **fault)`` lists the work the check needs that may run ahead on any worker
    (:class:`~numerics.experiments.Prerequisite`: trained models), taking the check's fault arguments.

    Raises
    ------
    RegistryError
        A malformed claim, a claim id declared twice, or a control whose fault is not a keyword
        argument of the check.
    """
    claim = Claim(claim_id, title, tag, tuple(kinds), "spec" if spec_only else "fast", statement, models)

    def deco(fn: CheckFn) -> CheckFn:
        if claim_id in _CHECKS and _CHECKS[claim_id].fn is not fn:
            other = _CHECKS[claim_id].fn
            raise RegistryError(
                f"duplicate check for {claim_id!r}: {other.__module__}.{other.__name__} and {fn.__module__}.{fn.__name__}"
            )
        params = fn.__code__.co_varnames[: fn.__code__.co_argcount + fn.__code__.co_kwonlyargcount]
        for name, c in (controls or {}).items():
            unknown = set(c.fault) - set(params)
            if unknown:
                raise RegistryError(f"control {name!r} of {claim_id}: {sorted(unknown)} are not arguments of the check")
        declare(claim)
        _CHECKS[claim_id] = CheckSpec(claim_id, fn, tier, MappingProxyType(dict(controls or {})), follows_path, plan)
        fn.claim_id = claim_id  # type: ignore[attr-defined]
        return fn

    return deco


def load_errors() -> dict[str, str]:
    """Judge modules that failed to import, with the error."""
    load_catalog()
    return dict(LOAD_ERRORS)


def get_check_spec(claim_id: str) -> CheckSpec | None:
    """The registered check of ``claim_id``, or ``None``.

    Raises
    ------
    RegistryError
        For an unknown claim id (a judge module that failed to import is named).
    """
    load_catalog()
    if claim_id not in _CHECKS and LOAD_ERRORS:
        raise RegistryError(f"{claim_id}: judge module(s) failed to import: {LOAD_ERRORS}")
    get_claim(claim_id)
    return _CHECKS.get(claim_id)


def checked_ids() -> set[str]:
    load_catalog()
    return set(_CHECKS)


def controls_of(claim_id: str) -> Mapping[str, Control]:
    try:
        spec = get_check_spec(claim_id)
    except RegistryError:
        return MappingProxyType({})
    return spec.controls if spec is not None else MappingProxyType({})


def run_check(claim_id: str, run: RunSpec | None = None, **fault: Any) -> Verdict:
    """Run the check of ``claim_id`` and return its verdict with sizes and status.

    Exceptions become an error verdict; a claim with no registered check gives an error verdict
    saying so, never a pass.
    """
    run = run or RunSpec()
    get_claim(claim_id)
    t0 = time.perf_counter()
    where = {"host": host(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    try:
        spec = get_check_spec(claim_id)
    except RegistryError as exc:
        return Verdict(claim_id, False, "-", error=str(exc), where=where)
    if spec is None:
        return Verdict(claim_id, False, "-", error="no check is registered for this claim yet", where=where)
    try:
        v = spec.fn(run, **fault)
        if not isinstance(v, Verdict):
            raise RegistryError(f"check of {claim_id} returned {type(v).__name__}, not a Verdict")
    except Exception as exc:  # a check that raises is reported, never passed
        tb = traceback.format_exc(limit=8)
        v = Verdict(claim_id, False, "-", error=f"{type(exc).__name__}: {exc}\n{tb}")
    v.claim_id = claim_id
    v.seconds = time.perf_counter() - t0
    v.tier = run.tier
    v.where = where
    if spec.tier is not None:
        ran = run.sizes(spec.tier)
        v.sizes = jsonable(ran.as_dict())
        v.spec_sizes = jsonable(spec.tier.spec.as_dict())
        v.short_of_spec = ran.below(spec.tier.spec)
        v.spec_section = spec.tier.section
    v.details["path"] = path_record(run, spec.follows_path)
    return v


def path_record(run: RunSpec, follows_path: bool) -> Any:
    """What a verdict records as its path: ``"default"`` (the claim's own, the spec's), the path of
    ``--path`` for a check that follows it, or a note that this claim did not apply it."""
    if run.path is None:
        return "default"
    if not follows_path:
        return "default (--path not applied: this claim is stated for its own path)"
    from numerics.paths import as_path

    return as_path(run.path).record()


@dataclass(frozen=True)
class ControlOutcome:
    """What running one control showed: the faulty run's verdict, the positive case at the control's
    sizes (``None`` when it keeps the claim's sizes), and their judgement (:attr:`result`)."""

    control: Control
    verdict: Verdict
    positive: Verdict | None
    broken: list[str]

    @property
    def result(self) -> ControlResult:
        """The outcome as the verdict records it, by comparison names (:class:`~proofs_checks.evidence.ControlResult`)."""
        c, v, pos = self.control, self.verdict, self.positive
        errors = [x.error.strip().splitlines()[0] for x in (v, pos) if x is not None and x.error]
        positive_passed = None
        if pos is not None:
            positive_passed = pos.error is None and not any(
                fnmatch.fnmatchcase(x.name, c.breaks) for x in pos.failing()
            )
        return ControlResult(
            breaks=c.breaks,
            why=c.why,
            broke=list(self.broken),
            failing=[x.name for x in v.failing()],
            status=v.status,
            positive_passed=positive_passed,
            seconds=v.seconds + (pos.seconds if pos is not None else 0.0),
            error=errors[0] if errors else None,
        )

    @property
    def broke_named(self) -> bool:
        """The fault, not the control's sizes, failed the comparison the control names, without an error."""
        return self.result.fails_as_it_should


def run_control(claim_id: str, name: str, run: RunSpec | None = None) -> ControlOutcome:
    """Run control ``name`` of ``claim_id`` (and, if it changes sizes, the positive case at those sizes)."""
    run = run or RunSpec()
    spec = get_check_spec(claim_id)
    if spec is None or name not in spec.controls:
        raise RegistryError(f"{claim_id} has no control {name!r}")
    c = spec.controls[name]
    positive = None
    if c.sizes:
        if spec.tier is None:
            raise RegistryError(f"control {name!r} of {claim_id} changes sizes, but the check declares no tier")
        run = run.with_sizes(spec.tier, **dict(c.sizes))
        positive = run_check(claim_id, run)
    v = run_check(claim_id, run, **dict(c.fault))
    broken = [x.name for x in v.failing() if fnmatch.fnmatchcase(x.name, c.breaks)]
    return ControlOutcome(c, v, positive, broken)


def run_controls(claim_id: str, run: RunSpec | None = None) -> dict[str, ControlResult]:
    """Every control of ``claim_id``, in declaration order, by name (``memgen verify --controls``).

    A control that cannot be run (e.g. it changes sizes of a check without a tier) is recorded as
    an error, which is a defect of the check, never skipped.
    """
    out = {}
    for name, c in controls_of(claim_id).items():
        t0 = time.perf_counter()
        try:
            out[name] = run_control(claim_id, name, run).result
        except Exception as exc:  # e.g. sizes the tier does not have: recorded as an error, a defect
            error = f"{type(exc).__name__}: {exc}"
            out[name] = ControlResult(c.breaks, c.why, [], [], "error", None, time.perf_counter() - t0, error)
    return out


def check_spec_tiers() -> dict[str, Tier[Any] | None]:
    """Claim id -> declared tier, for every registered check."""
    checked_ids()
    return {cid: s.tier for cid, s in _CHECKS.items()}
