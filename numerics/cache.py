"""Disk cache for expensive intermediates (trained models, long sweeps).

Entries are keyed by a hash of their parameters; every file is written atomically (temporary
file, then :func:`os.replace`), so an interrupted run leaves either a complete entry or none,
and a rerun resumes from what was finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_CACHE_DIR = Path(os.environ.get("MEMGEN_CACHE", Path(__file__).resolve().parent.parent / ".cache"))


def param_hash(params: dict[str, Any]) -> str:
    """Stable hash of a JSON-serialisable parameter dict (keys sorted)."""
    blob = json.dumps(params, sort_keys=True, default=repr).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode())


class DiskCache:
    """Pickle cache under ``root``; ``root=None`` disables caching (always computes)."""

    def __init__(self, root: str | os.PathLike | None = DEFAULT_CACHE_DIR) -> None:
        self.root = None if root is None else Path(root)

    def path(self, name: str, params: dict[str, Any]) -> Path | None:
        if self.root is None:
            return None
        return self.root / f"{name}-{param_hash(params)}.pkl"

    def get_or_compute(self, name: str, params: dict[str, Any], compute: Callable[[], T]) -> T:
        """Return the cached value of ``name(params)``, computing and storing it if absent."""
        path = self.path(name, params)
        if path is not None and path.exists():
            try:
                with open(path, "rb") as f:
                    return pickle.load(f)
            except (pickle.UnpicklingError, EOFError):  # a damaged entry is recomputed
                path.unlink(missing_ok=True)
        value = compute()
        if path is not None:
            atomic_write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        return value
