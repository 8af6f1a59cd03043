r"""Spec-size records: one small JSON per claim, written by ``memgen verify --full --record``, committed.

A record keeps what the claim's check measured at the spec's sizes (status, every comparison with its
tolerance and basis, sizes, seeds, seconds), when and where (date, commit, machine, library versions),
and the values the *fast* tier measured from the same commit. A later run is compared with the record
by measurement, not by assumption (:func:`record_state`): a fast run that measures the record's fast
values again (to rounding, :data:`REL_TOL`) shows the record as **current**; one that measures other
values shows it as **stale** and names the numbers that moved; a run with another ``--seed`` or
``--path`` measures something else and is **not comparable**. A spec-tier run is compared with the
record's spec values the same way.

Files live in :data:`RECORDS_DIR` as ``<paper>/<slug>.json`` (the claim id with its ``/``);
:func:`validate_record` checks one against :data:`SCHEMA` (``tests/test_records.py`` checks every
committed record, and that every claim has one).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from numerics.cache import atomic_write_text
from numerics.provenance import hardware, jsonable
from proofs_checks.evidence import STATUSES, RegistryError

RECORDS_DIR = Path(__file__).resolve().parent / "records"
FORMAT = 1
REL_TOL = 1e-6
"""Two measured values agree "to rounding" when they differ by at most this, relatively (absolute
:data:`ABS_TOL` near 0). The same commit and seeds give bit-identical numbers on one machine; another
CPU's BLAS moves the last digits (about 1e-13 relative) and training amplifies them, so a record can
be stale on another machine: that is measured, never assumed away."""
ABS_TOL = 1e-12
LIBRARIES = ("numpy", "scipy", "sympy", "mpmath", "torch", "POT", "memgen-theory")

SCHEMA: dict[str, type | tuple[type, ...]] = {
    "format": int,
    "id": str,
    "status": str,
    "passed": bool,
    "tier": str,
    "at_spec": bool,
    "sizes": dict,
    "spec_sizes": dict,
    "short_of_spec": list,
    "seed": (int, list, dict, str, type(None)),
    "comparisons": list,
    "seconds": (int, float),
    "prerequisite_seconds": dict,
    "date": str,
    "commit": str,
    "machine": dict,
    "fast": (dict, type(None)),
}
"""Every key of a record and its type; ``fast`` is ``None`` for a claim that runs at the spec's sizes only."""
COMPARISON_KEYS = {
    "name": str,
    "passed": bool,
    "tolerance": str,
    "justification": str,
    "basis": str,
    "role": str,
    "asserted": bool,
}
MACHINE_KEYS = ("cpu", "cpus", "device", "workers", "threads_per_worker", "versions")


class RecordError(RegistryError):
    """A record file that cannot be used (the message names the file and the problem)."""


def record_path(claim_id: str, root: Path | None = None) -> Path:
    """Where the record of ``claim_id`` lives: ``<root>/<paper>/<slug>.json``."""
    paper, slug = claim_id.split("/", 1)
    return (records_root() if root is None else Path(root)) / paper / f"{slug}.json"


def machine(workers: int | None, threads_per_worker: int) -> dict[str, Any]:
    """The machine a record was measured on: CPU model and count, device, workers, threads, library versions."""
    hw = hardware()
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = version(lib)
        except PackageNotFoundError:
            versions[lib] = None
    return {
        "cpu": hw.get("cpu"),
        "cpus": hw.get("cpus"),
        "device": hw.get("gpu") or "cpu",
        "workers": workers or 1,
        "threads_per_worker": threads_per_worker,
        "versions": versions,
    }


def _comparisons(v: dict[str, Any]) -> list[dict[str, Any]]:
    keep = ("name", "measured", "expected", "tolerance", "justification", "basis", "role", "asserted", "passed", "test")
    return [{k: c.get(k) for k in keep} for c in v.get("comparisons", [])]


def measured_values(v: dict[str, Any]) -> dict[str, Any]:
    """The values a verdict record measured, by comparison name (asserted and reported ones)."""
    return {c["name"]: jsonable(c.get("measured")) for c in v.get("comparisons", [])}


def make_record(
    spec: dict[str, Any], fast: dict[str, Any] | None, run: dict[str, Any], mach: dict[str, Any]
) -> dict[str, Any]:
    """The record of one claim from its spec-tier verdict record (``Verdict.to_json()``), its fast-tier one
    from the same commit (``None`` for a spec-only claim), the run record (commit, seed) and the machine."""
    return {
        "format": FORMAT,
        "id": spec["id"],
        "status": spec["status"],
        "passed": spec["passed"],
        "tier": spec.get("tier", "spec"),
        "at_spec": not spec.get("short_of_spec"),
        "sizes": spec.get("sizes", {}),
        "spec_sizes": spec.get("spec_sizes", {}),
        "short_of_spec": spec.get("short_of_spec", []),
        "spec_section": spec.get("spec_section", ""),
        "source": spec.get("source", ""),
        "seed": spec.get("seed"),
        "comparisons": _comparisons(spec),
        "headline": spec.get("headline"),
        "seconds": spec.get("seconds", 0.0),
        "prerequisite_seconds": dict(spec.get("details", {}).get("prerequisite_seconds", {})),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": run.get("commit", "unknown"),
        "run_seed": run.get("seed"),
        "machine": mach,
        "fast": None
        if fast is None
        else {"status": fast["status"], "measured": measured_values(fast), "sizes": fast.get("sizes", {})},
    }


def write_record(record: dict[str, Any], root: Path | None = None) -> Path:
    """Write one record (atomically, so an interrupted run never leaves half a file)."""
    path = record_path(record["id"], root)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(jsonable(record), indent=1, sort_keys=True) + "\n")
    return path


def validate_record(data: Any, source: str) -> list[str]:
    """Problems of one parsed record against :data:`SCHEMA` (empty when it is well formed)."""
    if not isinstance(data, dict):
        return [f"{source}: not a JSON object"]
    problems = []
    for key, typ in SCHEMA.items():
        if key not in data:
            problems.append(f"{source}: no {key!r}")
        elif not isinstance(data[key], typ) or (typ is int and isinstance(data[key], bool)):
            problems.append(f"{source}: {key!r} is a {type(data[key]).__name__}")
    if problems:
        return problems
    if data["format"] != FORMAT:
        problems.append(f"{source}: format {data['format']} (this version reads {FORMAT})")
    if data["status"] not in STATUSES:
        problems.append(f"{source}: unknown status {data['status']!r}")
    if data["tier"] != "spec":
        problems.append(f"{source}: tier {data['tier']!r}, a record is of the spec tier")
    for i, c in enumerate(data["comparisons"]):
        for key, typ in COMPARISON_KEYS.items():
            if not isinstance(c, dict) or not isinstance(c.get(key), typ):
                problems.append(f"{source}: comparisons[{i}] has no {typ.__name__} {key!r}")
    missing = [k for k in MACHINE_KEYS if k not in data["machine"]]
    if missing:
        problems.append(f"{source}: machine lacks {missing}")
    if data["fast"] is not None and not isinstance(data["fast"].get("measured"), dict):
        problems.append(f"{source}: fast has no 'measured' object")
    return problems


def load_record(claim_id: str, root: Path | None = None) -> dict[str, Any] | None:
    """The record of ``claim_id`` (``None`` when there is none).

    Raises
    ------
    RecordError
        The file exists but does not parse or does not match :data:`SCHEMA`.
    """
    path = record_path(claim_id, root)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise RecordError(f"{path}: {type(exc).__name__}: {exc}") from None
    problems = validate_record(data, str(path))
    if data.get("id") != claim_id if isinstance(data, dict) else False:
        problems.append(f"{path}: id {data.get('id')!r} is not {claim_id!r}")
    if problems:
        raise RecordError("; ".join(problems[:5]))
    return data


def load_records(ids: list[str], root: Path | None = None) -> dict[str, dict[str, Any] | str]:
    """The record of each id that has one; a record that cannot be used maps to its problem (text)."""
    out: dict[str, dict[str, Any] | str] = {}
    for cid in ids:
        try:
            rec = load_record(cid, root)
        except RecordError as exc:
            out[cid] = str(exc)
            continue
        if rec is not None:
            out[cid] = rec
    return out


def recorded_seconds(ids: list[str], root: Path | None = None) -> dict[str, float]:
    """Seconds of each claim's spec-size record, and of the work run ahead for it (``prerequisite <label>``):
    the expected durations of a ``--full`` run on a machine that has not timed one yet."""
    out: dict[str, float] = {}
    for cid, rec in load_records(ids, root).items():
        if isinstance(rec, dict):
            out[cid] = float(rec["seconds"])
            out.update({f"prerequisite {k}": float(v) for k, v in rec["prerequisite_seconds"].items()})
    return out


def same_value(a: Any, b: Any) -> bool:
    """Whether two measured values agree to rounding (:data:`REL_TOL`), elementwise through lists and dicts."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if a is None or b is None or isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return a == b


@dataclass(frozen=True)
class RecordState:
    """A record seen from one run: ``state`` is ``current``, ``stale``, ``not comparable`` or ``none``;
    ``moved`` names the measured values that differ (``added``/``gone``: comparisons only one side has)."""

    state: str
    date: str = ""
    status: str = ""
    commit: str = ""
    moved: list[str] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        """One cell of the ledger: the spec record's status, date and whether it is current."""
        if self.state == "none":
            return "no spec record"
        if self.state == "unusable":
            return f"record unusable: {self.note}"
        head = f"{self.status} at spec size ({self.date[:10]}, {self.commit[:10]})"
        if self.state == "current":
            return f"{head}, current"
        if self.state == "stale":
            return f"{head}, STALE: moved {', '.join(self.moved[:4])}{' …' if len(self.moved) > 4 else ''}"
        return f"{head}, {self.state} ({self.note})"


def record_state(
    record: dict[str, Any] | str | None, verdict: dict[str, Any] | None, run: dict[str, Any]
) -> RecordState:
    """How ``record`` stands against this run's ``verdict`` of the same claim (:class:`RecordState`)."""
    if record is None:
        return RecordState("none")
    if isinstance(record, str):
        return RecordState("unusable", note=record)
    base = {"date": record["date"], "status": record["status"], "commit": record["commit"]}
    if verdict is None or verdict.get("status") == "error":
        return RecordState("not comparable", note="this run has no verdict of it", **base)
    path = verdict.get("details", {}).get("path", "default")
    if run.get("seed") is not None or not (isinstance(path, str) and path.startswith("default")):
        return RecordState("not comparable", note="this run used --seed or --path", **base)
    tier = verdict.get("tier", "fast")
    then = measured_values(record) if tier == "spec" else (record["fast"] or {}).get("measured")
    if then is None:
        return RecordState("not comparable", note="a spec-only claim: compare with a --full run", **base)
    now = measured_values(verdict)
    moved = [n for n in then if n in now and not same_value(then[n], now[n])]
    moved += [f"{n} (gone)" for n in then if n not in now] + [f"{n} (added)" for n in now if n not in then]
    return RecordState("stale" if moved else "current", moved=moved, **base)


RECORDS_ENV = "MEMGEN_RECORDS"


def records_root() -> Path:
    """:data:`RECORDS_DIR`, or ``MEMGEN_RECORDS`` when set (``memgen verify --records-dir``; tests)."""
    return Path(os.environ.get(RECORDS_ENV) or RECORDS_DIR)
