"""The verdicts file written by ``memgen verify --json``: written as each claim finishes, validated on read.

The file is one JSON object ``{"run": {...}, "complete": bool, "claims": [verdict, ...]}``. It is
rewritten atomically after every claim, so an interrupted run (Ctrl-C, a crash, a killed job)
keeps every verdict that finished, and ``memgen verify --resume`` reruns only what is missing,
failed, or was produced by another run (other tier, seed, code version), and, with ``--controls``, the
claims whose controls were not run or did not all fail as they should. ``memgen report --from``
validates the file against :func:`validate` before using it. A record's ``controls`` is ``null`` (or
absent, in files written before controls were recorded) when its controls were not run.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from numerics.cache import atomic_write_text
from numerics.provenance import git_commit, hardware, package_version
from proofs_checks.claims import CLAIMS, load_catalog
from proofs_checks.evidence import CONTROL_FIELDS, STATUSES, RegistryError, control_from_json

RESUMABLE = ("verified", "verified-reduced")
REQUIRED = {"id": str, "passed": bool, "status": str, "comparisons": list, "seconds": (int, float)}
OPTIONAL = {"details": dict, "sizes": dict, "spec_sizes": dict, "short_of_spec": list, "where": dict, "tag": str}
COMPARISON = {"name": str, "passed": bool, "tolerance": str}
STATUS_WHEN_PASSED = {True: ("verified", "verified-reduced"), False: ("inconclusive", "refuted", "error")}
"""The statuses a record's ``passed`` allows (:attr:`proofs_checks.evidence.Verdict.status`)."""


class VerdictsFileError(RegistryError):
    """A verdicts file that cannot be used (the message names the file and the problem)."""


def run_record(tier: str, seed: int | None) -> dict[str, Any]:
    """What makes two runs' verdicts interchangeable for ``--resume``."""
    return {"tier": tier, "seed": seed, "commit": git_commit(), "version": package_version()}


def validate(data: Any, source: str) -> list[dict[str, Any]]:
    """The verdict records of a parsed verdicts file, after checking their shape.

    Raises
    ------
    VerdictsFileError
        Naming ``source`` and the first problems found: not an object, no ``claims`` list, a record
        without a required field or with a wrong type, an unknown status, unknown claim ids (listed).
    """
    load_catalog()
    if not isinstance(data, dict):
        raise VerdictsFileError(f"{source}: expected a JSON object with a 'claims' list, got {type(data).__name__}")
    claims = data.get("claims")
    if not isinstance(claims, list):
        raise VerdictsFileError(f"{source}: no 'claims' list (keys: {sorted(data)[:8]})")
    problems = []
    for i, rec in enumerate(claims):
        if not isinstance(rec, dict):
            problems.append(f"claims[{i}] is a {type(rec).__name__}, not an object")
            continue
        problems += _record_problems(rec, f"claims[{i}]")
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise VerdictsFileError(f"{source}: " + "; ".join(problems[:5]) + more)
    unknown = sorted({rec["id"] for rec in claims} - set(CLAIMS))
    if unknown:
        raise VerdictsFileError(f"{source}: unknown claim ids: {', '.join(unknown)}")
    ids = [rec["id"] for rec in claims]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise VerdictsFileError(f"{source}: claim ids listed twice: {', '.join(dup)}")
    return claims


def _type_problem(value: Any, typ: type | tuple[type, ...], where: str) -> list[str]:
    names = " or ".join(t.__name__ for t in (typ if isinstance(typ, tuple) else (typ,)))
    if isinstance(value, bool) and bool not in (typ if isinstance(typ, tuple) else (typ,)):
        return [f"{where} is a bool, not a {names}"]
    return [] if isinstance(value, typ) else [f"{where} is a {type(value).__name__}, not a {names}"]


def _record_problems(rec: dict[str, Any], where: str) -> list[str]:
    """What is wrong with one verdict record: missing or mistyped fields, a status its ``passed`` contradicts."""
    problems = []
    for key, typ in REQUIRED.items():
        if key not in rec:
            problems.append(f"{where} has no '{key}'")
        else:
            problems += _type_problem(rec[key], typ, f"{where}.{key}")
    for key, typ in OPTIONAL.items():
        if key in rec:
            problems += _type_problem(rec[key], typ, f"{where}.{key}")
    if "error" in rec and rec["error"] is not None:
        problems += _type_problem(rec["error"], str, f"{where}.error")
    if rec.get("controls") is not None:
        problems += _controls_problems(rec["controls"], f"{where}.controls")
    for j, c in enumerate(rec.get("comparisons") if isinstance(rec.get("comparisons"), list) else []):
        if not isinstance(c, dict):
            problems.append(f"{where}.comparisons[{j}] is a {type(c).__name__}, not an object")
            continue
        for key, typ in COMPARISON.items():
            problems += _type_problem(c.get(key), typ, f"{where}.comparisons[{j}].{key}")
    status, passed = rec.get("status"), rec.get("passed")
    if isinstance(status, str) and status not in STATUSES:
        problems.append(f"{where}.status {status!r} is not one of {', '.join(STATUSES)}")
    elif (
        isinstance(passed, bool)
        and status in STATUSES
        and status not in STATUS_WHEN_PASSED[passed] + ("not-run-at-spec",)
    ):
        problems.append(f"{where}.status {status!r} contradicts passed = {passed}")
    return problems


def _controls_problems(controls: Any, where: str) -> list[str]:
    """What is wrong with a record's controls: an object of control name -> outcome (:data:`CONTROL_FIELDS`)."""
    if not isinstance(controls, dict):
        return [f"{where} is a {type(controls).__name__}, not an object"]
    problems = []
    for name, c in controls.items():
        if not isinstance(c, dict):
            problems.append(f"{where}[{name!r}] is a {type(c).__name__}, not an object")
            continue
        for key, typ in CONTROL_FIELDS.items():
            if key in c:
                problems += _type_problem(c[key], typ, f"{where}[{name!r}].{key}")
            elif key != "error":
                problems.append(f"{where}[{name!r}] has no '{key}'")
        if isinstance(c.get("status"), str) and c["status"] not in STATUSES:
            problems.append(f"{where}[{name!r}].status {c['status']!r} is not one of {', '.join(STATUSES)}")
    return problems


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a verdicts file; returns the whole object (``claims`` validated)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise VerdictsFileError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VerdictsFileError(f"{p}: cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise VerdictsFileError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    validate(data, str(p))
    return data


class VerdictsWriter:
    """Keeps ``path`` up to date with every finished verdict (atomic rewrite after each claim)."""

    def __init__(self, path: str | os.PathLike | None, run: dict[str, Any], keep: list[dict[str, Any]] = ()) -> None:
        self.path = None if path is None else Path(path)
        self.run = run
        self.meta: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "hardware": hardware()}
        self.records: dict[str, dict[str, Any]] = {r["id"]: r for r in keep}

    def add(self, record: dict[str, Any]) -> None:
        self.records[record["id"]] = record
        self._write(complete=False)

    def finish(self, order: list[str]) -> None:
        ordered = [self.records[i] for i in order if i in self.records]
        ordered += [r for i, r in self.records.items() if i not in order]
        self.records = {r["id"]: r for r in ordered}
        self._write(complete=True)

    def _write(self, complete: bool) -> None:
        if self.path is not None:
            self.meta["seconds"] = sum(r.get("seconds", 0.0) for r in self.records.values())
            payload = {"run": self.run, "meta": self.meta, "complete": complete, "claims": list(self.records.values())}
            try:
                atomic_write_text(self.path, json.dumps(payload, indent=2))
            except OSError as exc:  # a full disk: stop the run; the file keeps the verdicts written before
                raise VerdictsFileError(
                    f"cannot write {self.path} ({exc.strerror or exc}): the run stops here; the verdicts that "
                    "finished before are kept in it, rerun with --resume when there is room"
                ) from None


def resumable(path: str | os.PathLike, run: dict[str, Any], controls: bool = False) -> list[dict[str, Any]]:
    """Records of ``path`` that ``--resume`` may keep: same run record, status in :data:`RESUMABLE`, and
    with ``controls`` only those whose controls were run and all failed as they should."""
    p = Path(path)
    if not p.exists():
        return []
    data = load(p)
    if data.get("run") != run:
        return []
    return [r for r in data["claims"] if r["status"] in RESUMABLE and (not controls or _controls_shown(r))]


def _controls_shown(rec: dict[str, Any]) -> bool:
    """The record's controls were run and each failed on the comparison it names."""
    controls = rec.get("controls")
    return controls is not None and all(control_from_json(c).fails_as_it_should for c in controls.values())
