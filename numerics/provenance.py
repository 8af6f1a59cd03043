"""Provenance of every result: JSON-safe values, the package version, the git commit, the machine.

Verdicts and figure sidecars both record where and with what they were made; this module is
the one place that knows how.
"""

from __future__ import annotations

import math
import os
import platform
import socket
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from numerics.cache import package_version

__all__ = ["git_commit", "hardware", "host", "jsonable", "package_version"]

_REPO = Path(__file__).resolve().parent.parent


def jsonable(x: Any) -> Any:
    """``x`` with NumPy scalars and arrays, tuples and non-finite floats turned into JSON values.

    Non-finite floats become the strings ``"inf"``, ``"-inf"``, ``"nan"`` (JSON has no such
    numbers); anything else unknown becomes its ``repr``.
    """
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.generic):
        return jsonable(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, bool | int | float | str) or x is None:
        return x
    return repr(x)


@cache
def git_commit() -> str:
    """The commit of the working tree (``-dirty`` when it has changes), or ``"unknown"``."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=_REPO
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=_REPO,
        ).stdout.strip()
        return (sha + ("-dirty" if dirty else "")) if sha else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def host() -> str:
    return socket.gethostname()


@cache
def hardware() -> dict[str, Any]:
    """CPU model and count, and the CUDA device if torch sees one."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    out: dict[str, Any] = {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        import torch

        out["torch"] = torch.__version__
        out["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        out["gpu"] = None
    return out
