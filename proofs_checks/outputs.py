"""The files and folders a command writes, checked before any work: nothing is overwritten that should not be.

Writes are atomic (a temporary file renamed over the target), which replaces whatever the
target is: a symbolic link (not the file it points to), a device such as ``/dev/null`` (as
root), a file another option also writes. So every output is refused up front unless it is:

- named (an empty name would mean the current folder);
- a regular file or absent, and not a symbolic link (:func:`check_file`);
- for a folder of outputs, a folder or absent (:func:`check_folder`);
- distinct from every other output of the command and from its input, after resolving links
  and ``..`` (:func:`check_distinct`): ``--json d/ledger.json`` would be overwritten by the
  ledger written beside it, ``--json X --markdown X`` by the other.

The ledger files derive their names from the folder of ``--json`` (:func:`ledger_files`), which
is then a real folder. Each refusal is an :class:`OutputPathError` (``memgen`` exits 2).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

LEDGER_NAMES = ("ledger.md", "ledger.html", "ledger.json")


class OutputPathError(ValueError):
    """An output path that must not be written (the message names the option, the path and why)."""


def _named(path: str | os.PathLike, what: str) -> Path:
    if str(path).strip() == "":
        raise OutputPathError(f"{what}: the path is empty")
    return Path(path)


def check_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as an output file: named, absent or a regular file, not a link, its folder writable.

    Creates missing parent folders (as the write would).

    Raises
    ------
    OutputPathError
        Naming ``what`` (the option), the path and the reason.
    """
    p = _named(path, what)
    if p.is_symlink():
        raise OutputPathError(f"{what} {p} is a symbolic link: it would be replaced, not written through")
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputPathError(f"cannot write {what} {p}: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a device, a pipe or a socket)"
        raise OutputPathError(f"{what} {p} is {kind}; give a file name")
    parent = p.parent
    if parent.exists() and not parent.is_dir():
        raise OutputPathError(f"cannot write {what} {p}: {parent} is not a directory")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{p.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputPathError(f"cannot write {what} {p}: {exc.strerror or exc}") from None
    if mode is not None and not os.access(p, os.W_OK):
        raise OutputPathError(f"cannot write {what} {p}: permission denied")
    return p


def check_folder(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a folder of outputs: named, and a folder (a link to one is fine) or absent."""
    p = _named(path, what)
    if p.exists() and not p.is_dir():
        raise OutputPathError(f"{what} {p} exists and is not a directory")
    return p


def ledger_files(folder: str | os.PathLike) -> list[Path]:
    """The ledger files written into ``folder`` (``memgen report --out``, or beside ``verify --json``)."""
    return [Path(folder) / name for name in LEDGER_NAMES]


def check_distinct(outputs: Iterable[tuple[str, Path]], inputs: Iterable[tuple[str, Path]] = ()) -> None:
    """Refuse two outputs that are one file, or an output that is an input (paths resolved).

    ``outputs`` and ``inputs`` are ``(what, path)`` pairs, ``what`` naming the option.
    """
    seen: dict[Path, str] = {}
    for what, p in outputs:
        key = p.resolve()
        if key in seen:
            raise OutputPathError(f"{what} and {seen[key]} are the same file {p}: one would overwrite the other")
        seen[key] = what
    for what, p in inputs:
        key = p.resolve()
        if key in seen:
            raise OutputPathError(f"{seen[key]} {p} is also {what}: the input would be overwritten")


def check_verify_outputs(json_path: str | None, markdown: str | None) -> None:
    """``memgen verify``: ``--json``, ``--markdown`` and the ledger written beside ``--json``."""
    outputs: list[tuple[str, Path]] = []
    if json_path is not None:
        outputs.append(("--json", check_file(json_path, "--json")))
        outputs += [(f"the ledger file {p.name}", check_file(p, "ledger")) for p in ledger_files(outputs[0][1].parent)]
    if markdown is not None:
        outputs.append(("--markdown", check_file(markdown, "--markdown")))
    check_distinct(outputs)


def check_report_outputs(out: str, source: Path) -> None:
    """``memgen report``: the ledger files in ``--out``, none of which may be the verdicts read (``--from``)."""
    folder = check_folder(out, "--out")
    outputs = [(f"the ledger file {p.name}", check_file(p, "ledger")) for p in ledger_files(folder)]
    check_distinct(outputs, [("--from", source)])
