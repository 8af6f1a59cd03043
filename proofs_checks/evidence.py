"""Evidence, comparisons and verdicts: what a check returns.

Every comparison a check makes is recorded with the measured value, the expected value and
where it comes from (equation, theorem), the tolerance, its justification and its **basis**
(:data:`BASES`): where the tolerance comes from. A verdict passes only if every asserted
comparison passes and at least one comparison was asserted: a check that asserts nothing is an
error, never a silent pass.

An ordering claimed over training seeds is an :meth:`Evidence.ordering`: a one-sided paired
t-test whose level is set, at :meth:`Evidence.verdict`, by Holm's procedure over every ordering of
the claim (:mod:`proofs_checks.statistics`).

A verdict also carries the sizes it ran at, the spec's sizes and its **status**, which separates
"not shown" from "shown false":

========================  ==================================================================
``verified``              every comparison passed, at the spec's sizes
``verified-reduced``      every comparison passed, at reduced sizes (the sizes short of the spec
                          are named)
``inconclusive``          not shown: an ordering is not significant at its Holm level (nor
                          significant against the claim), or a precondition of the comparison
                          failed (e.g. learned maps that do not transport); p-values and the
                          seeds the measured effect would need are reported
``refuted``               shown false at the sizes run: a deterministic comparison (identity,
                          bound, solver-precision agreement) fails, a Monte Carlo or goodness-of-
                          fit test rejects the claim at its level, or an ordering is significant
                          in the opposite direction
``not-run``               no verdict for this claim in the run (ledger only)
``error``                 the check raised
========================  ==================================================================
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from numerics.provenance import jsonable
from proofs_checks.statistics import FAMILY_ALPHA, POWER, holm_levels, paired_t, seeds_for_power

STATUSES = ("verified", "verified-reduced", "inconclusive", "refuted", "not-run", "error")
PASSING = ("verified", "verified-reduced")
NOT_SHOWN = ("inconclusive",)
FAILING = ("refuted", "error")

BASES = {
    "theory": "a derived bound or exact identity (symbolic, or exact in real arithmetic)",
    "numerical": "float64 rounding, solver or quadrature precision",
    "statistical": "a test at a stated level, or k standard errors of a Monte Carlo estimate",
    "spec": "an operationalisation written for this suite (the spec's claims table), not the paper's number",
    "convention": "a metric of the community, with its citation",
}
"""Where a tolerance comes from; every comparison names one."""
ROLES = ("claim", "precondition")
"""``precondition``: a comparison without which the claim's comparisons say nothing (a learned map
that does not transport has no meaningful transport cost); its failure makes a verdict
``inconclusive``, never ``refuted``."""


def status_summary(counts: Counter[str], total: int) -> str:
    """One line counting statuses: what is shown true (at spec size, reduced), not shown, shown false, broken."""
    return (
        f"verified at spec size: {counts['verified']} of {total}; at reduced size only: {counts['verified-reduced']}; "
        f"inconclusive (not shown): {counts['inconclusive']}; refuted: {counts['refuted']}; error: {counts['error']}"
        + (f"; not run: {counts['not-run']}" if counts["not-run"] else "")
    )


def describe_failure(c: Comparison) -> str:
    """Why a comparison did not pass, in words: its values, and for an ordering the test and the seeds needed."""
    if c.test is not None and c.test.get("kind") == "interval":
        verdict = "refuted (the whole interval lies beyond the bound)" if c.test["against"] else "not shown"
        lo, hi = c.test["ci95"]
        return (
            f"{verdict}: {c.name}: {format_value(c.measured)} [95% CI {format_value(lo)}, {format_value(hi)}], "
            f"expected {format_value(c.expected)} ({c.basis}: {c.justification})"
        )
    if c.test is None:
        kind = "not shown (precondition)" if c.role == "precondition" else "refuted"
        return (
            f"{kind}: {c.name}: measured {format_value(c.measured)}, expected {format_value(c.expected)} "
            f"({c.tolerance}; {c.basis}: {c.justification})"
        )
    t = c.test
    seeds = t.get("seeds_for_power")
    need = (
        f"the measured effect would need {seeds} seeds for power {t.get('power_target', POWER):g}"
        if seeds
        else "the measured effect is not in the claimed direction"
    )
    verdict = "refuted (significant in the opposite direction)" if t.get("against") else "not shown"
    return (
        f"{verdict}: {c.name}: mean {format_value(t['mean'])} [95% CI {format_value(t['ci95'][0])}, "
        f"{format_value(t['ci95'][1])}] over {t['n']} seeds, t = {format_value(t['t'])}, p = {format_value(t['p'])} "
        f"> Holm level {format_value(t.get('level'))}; {need}"
    )


class RegistryError(Exception):
    """A problem with the registry itself: unknown or duplicate id, bad metadata, a check without control."""


@dataclass
class Comparison:
    """One named comparison inside a check."""

    name: str
    measured: Any
    expected: Any
    tolerance: str
    justification: str
    passed: bool
    asserted: bool = True
    headline: bool = False
    basis: str = ""
    role: str = "claim"
    test: dict[str, Any] | None = None

    @property
    def against(self) -> bool:
        """An ordering whose opposite direction is significant (a statistical refutation)."""
        return bool(self.test and self.test.get("against"))


@dataclass
class ControlResult:
    """What one negative control of a claim showed, by stable keys (comparison names, never text).

    Attributes
    ----------
    breaks : the ``fnmatch`` pattern of the comparison the control must break
    why : the fault, in words
    broke : the failing comparisons of the faulty run that match ``breaks``
    failing : every failing comparison of the faulty run
    status : the faulty run's status (:data:`STATUSES`; ``error`` when it raised)
    positive_passed : for a control that changes sizes, whether the positive case at those sizes
        passed every comparison matching ``breaks`` (``None``: the control runs at the claim's sizes)
    seconds : the faulty run's time, plus the positive case's
    error : the first line of the error of the faulty run or of the positive case, if one raised
    """

    breaks: str
    why: str
    broke: list[str]
    failing: list[str]
    status: str
    positive_passed: bool | None
    seconds: float
    error: str | None = None

    @property
    def fails_as_it_should(self) -> bool:
        """The fault, and not the control's sizes, broke the named comparison, without an error."""
        return self.error is None and self.status != "error" and bool(self.broke) and self.positive_passed is not False

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3), "fails_as_it_should": self.fails_as_it_should}

    def describe(self, name: str) -> str:
        """The control's outcome in words: the comparisons it broke, or why it is a defect of the check."""
        if self.fails_as_it_should:
            return f"fails as it should on: {', '.join(f'`{b}`' for b in self.broke)} ({name}: {self.why})"
        if self.error is not None or self.status == "error":
            reason = f"it raised: {self.error}"
        elif self.positive_passed is False:
            reason = (
                f"the positive case at the control's sizes already fails {self.breaks!r}, so the fault is not shown"
            )
        else:
            failing = ", ".join(f"`{f}`" for f in self.failing) or "none"
            reason = f"`{self.breaks}` passes with the fault (failing: {failing})"
        return f"control {name} ({self.why}) does NOT fail as it should: {reason}; a defect of the check"


CONTROL_FIELDS = {
    "breaks": str,
    "why": str,
    "broke": list,
    "failing": list,
    "status": str,
    "positive_passed": (bool, type(None)),
    "seconds": (int, float),
    "error": (str, type(None)),
}
"""The keys of a control's JSON record (:meth:`ControlResult.to_json`) and their types."""


def control_from_json(rec: dict[str, Any]) -> ControlResult:
    """A :class:`ControlResult` rebuilt from its JSON record."""
    return ControlResult(**{k: rec[k] for k in CONTROL_FIELDS if k in rec})


@dataclass
class Verdict:
    """What a check returns (the registry fills the claim id, timing, sizes and status).

    ``controls`` is ``None`` when the claim's negative controls were not run (``memgen verify``
    without ``--controls``), else their :class:`ControlResult` by control name.
    """

    claim_id: str
    passed: bool
    source: str
    comparisons: list[Comparison] = field(default_factory=list)
    seed: Any = None
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    tier: str = "fast"
    sizes: dict[str, Any] = field(default_factory=dict)
    spec_sizes: dict[str, Any] = field(default_factory=dict)
    short_of_spec: list[str] = field(default_factory=list)
    spec_section: str = ""
    where: dict[str, Any] = field(default_factory=dict)
    controls: dict[str, ControlResult] | None = None

    @property
    def status(self) -> str:
        """One of :data:`STATUSES` (see the module docstring)."""
        if self.error is not None:
            return "error"
        if not self.passed:
            failing = self.failing()
            not_shown = [c for c in failing if c.role == "precondition" or (c.test is not None and not c.against)]
            return "inconclusive" if len(not_shown) == len(failing) else "refuted"
        if self.short_of_spec:
            return "verified-reduced"
        return "verified"

    def failing(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.asserted and not c.passed]

    def headline(self) -> Comparison | None:
        """The comparison that says most about the claim: the first failing one, else the one the
        check marked as headline, else the first asserted one."""
        asserted = [c for c in self.comparisons if c.asserted]
        if not asserted:
            return None
        return next((c for c in asserted if not c.passed), next((c for c in asserted if c.headline), asserted[0]))

    def to_json(self) -> dict[str, Any]:
        asserted = [c for c in self.comparisons if c.asserted]
        head = self.headline()
        return {
            "id": self.claim_id,
            "passed": self.passed,
            "status": self.status,
            "at_spec": not self.short_of_spec,
            "tier": self.tier,
            "sizes": jsonable(self.sizes),
            "spec_sizes": jsonable(self.spec_sizes),
            "short_of_spec": list(self.short_of_spec),
            "spec_section": self.spec_section,
            "source": self.source,
            "headline": None if head is None else jsonable(asdict(head)),
            "measured": {c.name: jsonable(c.measured) for c in asserted},
            "expected": {c.name: jsonable(c.expected) for c in asserted},
            "tolerance": {c.name: c.tolerance for c in asserted},
            "basis": {c.name: c.basis for c in asserted},
            "comparisons": [jsonable(asdict(c)) for c in self.comparisons],
            "seed": jsonable(self.seed),
            "seconds": round(self.seconds, 3),
            "details": jsonable(self.details),
            "where": jsonable(self.where),
            "error": self.error,
            "controls": None if self.controls is None else {k: c.to_json() for k, c in self.controls.items()},
        }

    def control_defects(self) -> list[str]:
        """The controls that did not fail as they should (each a defect of the check)."""
        return [name for name, c in (self.controls or {}).items() if not c.fails_as_it_should]


def verdict_from_json(rec: dict[str, Any]) -> Verdict:
    """A :class:`Verdict` rebuilt from its :meth:`Verdict.to_json` record (values as stored in JSON)."""
    fields = set(Comparison.__dataclass_fields__)
    return Verdict(
        claim_id=rec["id"],
        passed=rec["passed"],
        source=rec.get("source", "-"),
        comparisons=[Comparison(**{k: v for k, v in c.items() if k in fields}) for c in rec.get("comparisons", [])],
        seed=rec.get("seed"),
        seconds=rec.get("seconds", 0.0),
        details=rec.get("details", {}),
        error=rec.get("error"),
        tier=rec.get("tier", "fast"),
        sizes=rec.get("sizes", {}),
        spec_sizes=rec.get("spec_sizes", {}),
        short_of_spec=rec.get("short_of_spec", []),
        spec_section=rec.get("spec_section", ""),
        where=rec.get("where", {}),
        controls=None if rec.get("controls") is None else {k: control_from_json(c) for k, c in rec["controls"].items()},
    )


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
    if isinstance(x, dict) and len(x) <= 4:
        return "{" + ", ".join(f"{k}: {format_value(v, digits)}" for k, v in x.items()) + "}"
    return str(x)


class Evidence:
    """Collects the comparisons of one check and turns them into a :class:`Verdict`.

    Parameters
    ----------
    source : str
        Where the expected values come from (paper equation/theorem, spec section).
    seed : int or sequence, optional
        The seed(s) the check used, reported verbatim.

    Each comparison method returns whether it passed. ``headline=True`` marks the comparison
    whose measured value the tables show for the claim (the number the claim is about).
    """

    def __init__(self, source: str, seed: Any = None) -> None:
        self.source = source
        self.seed = seed
        self.comparisons: list[Comparison] = []
        self.details: dict[str, Any] = {}

    @classmethod
    def of(cls, source: str, measurement: Any) -> Evidence:
        """Evidence about a :class:`~numerics.experiments.Measurement`: its seeds are the verdict's seeds,
        its sizes and solver settings its details."""
        ev = cls(source, dict(measurement.seeds))
        prov = measurement.provenance()
        if prov["settings"]:
            ev.details["settings"] = prov["settings"]
        if prov["sizes"] is not None:
            ev.details["measured_at"] = prov["sizes"]
        return ev

    def _add(self, c: Comparison) -> bool:
        if any(o.name == c.name for o in self.comparisons):
            raise RegistryError(f"comparison names must be unique within a check: {c.name!r} twice")
        if c.asserted and c.basis not in BASES:
            raise RegistryError(f"comparison {c.name!r}: basis must be one of {sorted(BASES)}, got {c.basis!r}")
        if c.role not in ROLES:
            raise RegistryError(f"comparison {c.name!r}: role must be one of {ROLES}, got {c.role!r}")
        self.comparisons.append(c)
        return c.passed

    def within(
        self,
        name: str,
        measured: Any,
        expected: Any,
        *,
        why: str,
        basis: str,
        atol: float = 0.0,
        rtol: float = 0.0,
        headline: bool = False,
        role: str = "claim",
    ) -> bool:
        """Elementwise ``|measured - expected| <= atol + rtol * |expected|`` (NaN fails)."""
        m = np.asarray(measured, dtype=float)
        e = np.asarray(expected, dtype=float)
        ok = bool(np.all(np.abs(m - e) <= atol + rtol * np.abs(e)) and np.all(np.isfinite(m)))
        tol = " + ".join(s for s in (f"atol {atol:.3g}" if atol else "", f"rtol {rtol:.3g}" if rtol else "") if s)
        return self._add(Comparison(name, measured, expected, tol or "exact", why, ok, True, headline, basis, role))

    def _bound(
        self,
        op: str,
        name: str,
        measured: Any,
        bound: Any,
        why: str,
        basis: str,
        expected: Any,
        headline: bool,
        role: str,
    ) -> bool:
        m = np.asarray(measured, dtype=float)
        holds = np.less_equal if op == "<=" else np.greater_equal
        ok = bool(np.all(holds(m, np.asarray(bound, dtype=float))) and not np.any(np.isnan(m)))
        tol = f"{op} {format_value(bound)}"
        exp = tol if expected is None else expected
        return self._add(Comparison(name, measured, exp, tol, why, ok, True, headline, basis, role))

    def at_most(
        self,
        name: str,
        measured: Any,
        bound: Any,
        *,
        why: str,
        basis: str,
        expected: Any = None,
        headline: bool = False,
        role: str = "claim",
    ) -> bool:
        """Every entry of ``measured`` is ``<= bound`` (NaN fails)."""
        return self._bound("<=", name, measured, bound, why, basis, expected, headline, role)

    def at_least(
        self,
        name: str,
        measured: Any,
        bound: Any,
        *,
        why: str,
        basis: str,
        expected: Any = None,
        headline: bool = False,
        role: str = "claim",
    ) -> bool:
        """Every entry of ``measured`` is ``>= bound`` (NaN fails)."""
        return self._bound(">=", name, measured, bound, why, basis, expected, headline, role)

    def p_value(
        self,
        name: str,
        p: Any,
        *,
        alpha: float,
        why: str,
        basis: str = "statistical",
        headline: bool = False,
        role: str = "claim",
    ) -> bool:
        """A hypothesis test at a fixed seed passes when every p-value is ``>= alpha`` (H0 is the claim)."""
        return self.at_least(
            name, p, alpha, why=why, basis=basis, expected="H0 not rejected", headline=headline, role=role
        )

    def holds(
        self,
        name: str,
        condition: bool,
        *,
        why: str,
        basis: str,
        measured: Any = None,
        expected: Any = True,
        headline: bool = False,
        role: str = "claim",
    ) -> bool:
        """A property (exact identity, ordering, symbolic simplification to zero).

        Give ``measured`` (the number or expression the property is about); a bare ``True`` says
        nothing to a reader of the ledger.
        """
        meas = bool(condition) if measured is None else measured
        return self._add(Comparison(name, meas, expected, "exact", why, bool(condition), True, headline, basis, role))

    def ordering(self, name: str, differences: Any, *, why: str, headline: bool = False) -> None:
        """Claim: the per-seed ``differences`` have a positive mean (one-sided paired t-test).

        ``differences`` may also be a mapping ``{label: differences}``: the claim that *every* one
        of these orderings holds, judged by the intersection-union test (each part at the
        comparison's level; its p-value is the largest part's).

        The comparison's level is set at :meth:`verdict` by Holm's procedure over every ordering of
        this check at family-wise :data:`~proofs_checks.statistics.FAMILY_ALPHA`; it then records
        p, the level, the mean difference with its 95% interval, the standardised effect, the
        seeds, whether the opposite direction is significant, and the seeds the measured effect
        would need for power :data:`~proofs_checks.statistics.POWER`.
        """
        if isinstance(differences, dict):
            parts = {str(k): paired_t(v) for k, v in differences.items()}
            label = max(parts, key=lambda k: parts[k].p)
            test = parts[label]
            info: dict[str, Any] = {
                "kind": "paired one-sided t",
                "union": f"intersection-union over {len(parts)} orderings; the weakest is {label}",
                "parts": {k: {"t": v.t, "p": v.p, "mean": v.mean, "n": v.n} for k, v in parts.items()},
                "p_against_min": min(v.p_against for v in parts.values()),
            }
        else:
            test = paired_t(differences)
            info = {"kind": "paired one-sided t", "per_seed": np.asarray(differences, float).ravel().tolist()}
        c = Comparison(name, test.mean, "> 0", "p <= Holm level", why, False, True, headline, "statistical")
        c.test = {**info, **test.to_json()}
        if "p_against_min" in info:
            c.test["p_against"] = info["p_against_min"]
        self._add(c)

    def interval_below(
        self,
        name: str,
        estimate: float,
        ci: tuple[float, float],
        bound: float,
        *,
        why: str,
        basis: str = "statistical",
        headline: bool = False,
    ) -> bool:
        """Claim: a quantity lies below ``bound``, judged by its 95% interval ``ci``.

        Shown when the whole interval lies below ``bound``; shown false (refuted) when the whole
        interval lies above it; not shown (inconclusive) when the interval contains it.
        """
        lo, hi = float(ci[0]), float(ci[1])
        ok = hi < bound
        c = Comparison(name, estimate, f"< {format_value(bound)}", f"95% CI below {format_value(bound)}", why, ok)
        c.headline, c.basis = headline, basis
        c.test = {"kind": "interval", "ci95": [lo, hi], "against": bool(lo > bound), "bound": bound}
        return self._add(c)

    def _decide_orderings(self) -> None:
        tests = [c for c in self.comparisons if c.test is not None and c.test.get("kind") == "paired one-sided t"]
        if not tests:
            return
        levels, rejected = holm_levels([c.test["p"] for c in tests], FAMILY_ALPHA)
        for c, level, ok in zip(tests, levels, rejected):
            c.passed = ok
            c.tolerance = f"p <= {level:.3g} (Holm, family α = {FAMILY_ALPHA:g} over {len(tests)})"
            c.test.update(
                level=level,
                family_alpha=FAMILY_ALPHA,
                family_size=len(tests),
                against=bool(c.test["p_against"] <= FAMILY_ALPHA / len(tests)),
                seeds_for_power=None if ok else seeds_for_power(c.test["effect_size"], level),
                power_target=POWER,
            )

    def report(self, name: str, value: Any, note: str = "") -> None:
        """A reported, not asserted, value (variants that the spec only asks to report)."""
        self._add(Comparison(name, value, note or "(reported)", "-", note, True, asserted=False))

    def detail(self, key: str, value: Any) -> None:
        self.details[key] = value

    def verdict(self) -> Verdict:
        self._decide_orderings()
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
