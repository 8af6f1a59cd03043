"""Disk cache for expensive intermediates (trained models, sweeps, measurements) that can be trusted.

An entry is keyed by a hash of its *parameter record*, derived field by field from the run's
configuration object (:func:`param_record`: frozen dataclasses, arrays by content hash, the
package version and each configuration class's ``CODE_VERSION``), never from a hand-listed dict,
so no parameter can be forgotten. Each file holds

``MAGIC`` · one JSON header line (the full parameter record, the payload's length, when and by
which package version it was written, and an HMAC-SHA256 over that header and the payload) · the
pickled payload,

and is verified on load: wrong magic, a header that does not parse, a parameter record that is
not the one asked for, or a payload whose HMAC or length differs is a miss — the value is
recomputed and rewritten, with a one-line notice.

Unpickling runs code, so only entries this cache wrote are ever unpickled: the HMAC is keyed
with the cache's own secret (:data:`SECRET_NAME`, 32 random bytes, mode 0600, created with the
first entry), so an entry dropped into the folder by anyone without the secret is a miss and
is recomputed, never loaded. ``memgen cache list`` and ``verify`` read and check headers only;
they never unpickle. Whoever can read the secret can still write entries that will be loaded:
a cache shared between users is trusted code. Writes are atomic (temporary file in the
same folder, then :func:`os.replace`), so a reader — another process, another Dask worker on a
shared filesystem — sees a complete entry or none; temporary files orphaned by a killed run
are removed once they are old or their writer is gone.

:class:`LayeredCache` puts an in-process memo in front of it: the one interface through which
measurements (:func:`numerics.experiments.measured`) and trained models
(:func:`numerics.training.trained`) are cached.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import json
import math
import os
import pickle
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Hashable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

MAGIC = b"MEMGEN-CACHE-1\n"
SUFFIX = ".entry"
SECRET_NAME = ".secret"
"""The cache's HMAC key, in its root folder (mode 0600)."""
ORPHAN_AGE_SECONDS = 6 * 3600.0
CACHE_ENV = "MEMGEN_CACHE"
DEFAULT_CACHE_DIR = Path(os.environ.get(CACHE_ENV) or Path(__file__).resolve().parent.parent / ".cache")


class CacheSettingError(ValueError):
    """A cache folder setting that cannot be used (``MEMGEN_CACHE`` set but empty)."""


class Uncacheable(TypeError):
    """A parameter that has no stable record (a lambda, an open file, a live model): never cached."""


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("memgen-theory")
    except Exception:
        return "unknown"


def param_record(obj: Any) -> Any:
    """A JSON-serialisable record of ``obj`` that changes whenever any of its values changes.

    Dataclasses become ``{"__class__": qualname, "code_version": ..., field: record, ...}`` (every
    field, recursively; a class attribute ``CODE_VERSION`` marks changes of the code that
    consumes the configuration), arrays become their dtype, shape and SHA-256, floats keep every
    bit (``repr``), enums their value, module-level functions their qualified name.

    Raises
    ------
    Uncacheable
        For values without a stable record (lambdas, closures, bound methods, arbitrary objects).
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        return f if math.isfinite(f) else {"float": repr(f)}
    if isinstance(obj, enum.Enum):
        return {"enum": f"{type(obj).__qualname__}.{obj.name}"}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        rec: dict[str, Any] = {"__class__": f"{type(obj).__module__}.{type(obj).__qualname__}"}
        version = getattr(type(obj), "CODE_VERSION", None)
        if version is not None:
            rec["code_version"] = str(version)
        for f in dataclasses.fields(obj):
            rec[f.name] = param_record(getattr(obj, f.name))
        return rec
    if isinstance(obj, dict):
        return {str(k): param_record(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, list | tuple):
        return [param_record(v) for v in obj]
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        return {"array": str(a.dtype), "shape": list(a.shape), "sha256": hashlib.sha256(a.tobytes()).hexdigest()}
    if callable(obj) and getattr(obj, "__qualname__", "") and "<" not in obj.__qualname__:
        if isinstance(obj, type) or (hasattr(obj, "__module__") and not hasattr(obj, "__self__")):
            return {"function": f"{obj.__module__}.{obj.__qualname__}"}
    raise Uncacheable(f"no stable cache record for {type(obj).__name__} {obj!r:.80}")


def param_hash(record: Any) -> str:
    """Stable hash of a parameter record (keys sorted)."""
    blob = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _tmp_name(path: Path) -> str:
    return f".{path.name}.{socket.gethostname()}.{os.getpid()}."


def atomic_write_bytes(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically, with normal permissions (``mode`` minus the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_tmp_name(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, mode & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode())


@dataclass(frozen=True)
class EntryInfo:
    """One cache file as :meth:`DiskCache.entries` lists it."""

    path: Path
    name: str
    size: int
    ok: bool
    problem: str
    created: str
    version: str


class DiskCache:
    """Verified pickle cache under ``root``; ``root=None`` disables caching (always computes).

    Parameters
    ----------
    root : folder of the entries (``MEMGEN_CACHE`` or ``.cache/`` by default)
    notice : called with a one-line message when an entry is rejected and recomputed
        (default: print to standard error).
    """

    def __init__(
        self, root: str | os.PathLike | None = DEFAULT_CACHE_DIR, notice: Callable[[str], None] | None = None
    ) -> None:
        if root is DEFAULT_CACHE_DIR and os.environ.get(CACHE_ENV) == "":
            raise CacheSettingError(
                f"{CACHE_ENV} is set but empty: give a folder (or unset it for {DEFAULT_CACHE_DIR})"
            )
        self.root = None if root is None else Path(root)
        self.notice = notice or (lambda msg: print(f"memgen cache: {msg}", file=sys.stderr, flush=True))
        self._cleaned = False

    def __getstate__(self) -> dict[str, Any]:  # picklable for process pools: the notice goes to stderr there
        return {"root": self.root}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["root"])

    def path(self, name: str, params: Any) -> Path | None:
        if self.root is None:
            return None
        return self.root / f"{name}-{param_hash(param_record(params))}{SUFFIX}"

    # ------------------------------------------------------------------ reading and writing
    def _read(self, path: Path, record: Any | None) -> tuple[Any, dict[str, Any]]:
        """Load and verify one entry (:meth:`_verified`, then unpickled); raises ``ValueError`` naming the problem."""
        header, payload = self._verified(path, record)
        try:
            value = pickle.loads(payload)
        except Exception as exc:  # a verified payload that no longer unpickles: code moved on
            raise ValueError(f"payload does not unpickle ({type(exc).__name__}: {exc})") from None
        return value, header

    def _verified(self, path: Path, record: Any | None) -> tuple[dict[str, Any], bytes]:
        """Header and payload of one entry after every check but unpickling; raises ``ValueError``."""
        blob = path.read_bytes()
        if not blob.startswith(MAGIC):
            raise ValueError("not a memgen cache entry (bad magic)")
        nl = blob.find(b"\n", len(MAGIC))
        if nl < 0:
            raise ValueError("truncated header")
        try:
            header = json.loads(blob[len(MAGIC) : nl].decode())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"header does not parse ({exc.__class__.__name__})") from None
        payload = blob[nl + 1 :]
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
        if len(payload) != header.get("length"):
            raise ValueError(f"payload length {len(payload)} != recorded {header.get('length')}")
        key = self._secret(create=False)
        if key is None:
            raise ValueError(f"no {SECRET_NAME} key in {self.root}: the entry cannot be authenticated")
        mac = header.get("hmac")
        if not isinstance(mac, str) or not hmac.compare_digest(
            _mac(key, {k: v for k, v in header.items() if k != "hmac"}, payload), mac
        ):
            raise ValueError("HMAC mismatch (corrupted, or not written by this cache)")
        if record is not None and header.get("params") != json.loads(json.dumps(record)):
            raise ValueError("parameter record differs from the one asked for")
        return header, payload

    def _secret(self, create: bool) -> bytes | None:
        """The cache's HMAC key (``None`` when absent and not ``create``); created atomically with mode 0600."""
        assert self.root is not None
        path = self.root / SECRET_NAME
        try:
            return path.read_bytes()
        except FileNotFoundError:
            if not create:
                return None
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=_tmp_name(path), suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
            try:
                os.link(tmp, path)  # atomic and never replaces: concurrent creators agree on one key
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
        return path.read_bytes()

    def _write(self, path: Path, record: Any, value: Any) -> None:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        header = {
            "params": record,
            "length": len(payload),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "version": package_version(),
        }
        assert self.root is not None
        header["hmac"] = _mac(self._secret(create=True), header, payload)
        atomic_write_bytes(path, MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload)

    def get_or_compute(self, name: str, params: Any, compute: Callable[[], T]) -> T:
        """Return the cached value of ``name(params)``, computing and storing it if absent or damaged.

        ``params`` is any object :func:`param_record` accepts (usually the frozen configuration
        of the run). Parameters without a stable record are computed without caching.
        """
        if self.root is None:
            return compute()
        try:
            record = param_record(params)
        except Uncacheable:
            return compute()
        path = self.root / f"{name}-{param_hash(record)}{SUFFIX}"
        self._clean_orphans_once()
        if path.exists():
            try:
                return self._read(path, record)[0]
            except (OSError, ValueError) as exc:
                self.notice(f"{path.name}: {exc}; recomputing")
        value = compute()
        try:
            self._write(path, record, value)
        except OSError as exc:  # a read-only or full disk must not lose the computed value
            self.notice(f"could not write {path.name}: {exc}")
        return value

    # ------------------------------------------------------------------ maintenance
    def _clean_orphans_once(self) -> None:
        if not self._cleaned:
            self._cleaned = True
            self.clean_orphans()

    def clean_orphans(self, max_age: float = ORPHAN_AGE_SECONDS) -> list[Path]:
        """Remove temporary files of writers that are gone (same host, dead pid) or older than ``max_age``."""
        removed: list[Path] = []
        if self.root is None or not self.root.is_dir():
            return removed
        host = socket.gethostname()
        now = time.time()
        for p in self.root.rglob(".*.tmp"):
            parts = p.name.split(".")
            try:
                age = now - p.stat().st_mtime
            except OSError:
                continue
            dead = False
            if len(parts) >= 5 and parts[-4] == host and parts[-3].isdigit():
                dead = not _pid_alive(int(parts[-3]))
            if dead or age > max_age:
                p.unlink(missing_ok=True)
                removed.append(p)
        return removed

    def _files(self) -> Iterator[Path]:
        if self.root is not None and self.root.is_dir():
            yield from sorted(self.root.rglob(f"*{SUFFIX}"))  # ids with '/' live in sub-folders

    def entries(self) -> list[EntryInfo]:
        """Every entry with its verification result (``memgen cache list`` / ``verify``); headers only,
        nothing is unpickled."""
        out = []
        for p in self._files():
            name = str(p.relative_to(self.root))[: -len(SUFFIX)].rsplit("-", 1)[0]
            try:
                header, _ = self._verified(p, None)
                out.append(EntryInfo(p, name, p.stat().st_size, True, "", header["created"], header["version"]))
            except (OSError, ValueError) as exc:
                out.append(EntryInfo(p, name, p.stat().st_size if p.exists() else 0, False, str(exc), "", ""))
        return out

    def clear(self) -> int:
        """Delete every entry and temporary file; returns the number of files removed."""
        n = 0
        for p in list(self._files()) + (list(self.root.rglob(".*.tmp")) if self.root and self.root.is_dir() else []):
            p.unlink(missing_ok=True)
            n += 1
        return n

    def remove_damaged(self) -> list[EntryInfo]:
        """Delete the entries that fail verification; returns them."""
        bad = [e for e in self.entries() if not e.ok]
        for e in bad:
            e.path.unlink(missing_ok=True)
        return bad


def record_hash(params: Any) -> str:
    """:func:`param_hash` of the :func:`param_record` of ``params`` (raises :class:`Uncacheable`)."""
    return param_hash(param_record(params))


class LayeredCache(MutableMapping[Hashable, Any]):
    """An in-process memo layered over an optional :class:`DiskCache`: the one cache interface of the suite.

    :meth:`get_or_compute` answers from the memo, else from the disk cache it is handed (the entry
    ``kind-<hash of the parameter record>``, :meth:`DiskCache.get_or_compute`), else computes; the
    value is then remembered in both. The memo is keyed by ``key(params)`` (the hash of the
    parameter record by default; a hashable configuration can be its own key), so ``params`` must
    determine the value: a memo holds one kind of value, or its parameters name the kind.
    Parameters whose key raises :class:`Uncacheable` are computed every time, never stored.

    The memo is a mapping from keys to values, so a caller can save and restore it; :meth:`forget`
    empties it (the disk entries stay).

    Parameters
    ----------
    key : memo key of a parameter object (default :func:`record_hash`)
    """

    def __init__(self, key: Callable[[Any], Hashable] = record_hash) -> None:
        self._key = key
        self._values: dict[Hashable, Any] = {}

    def get_or_compute(self, kind: str, params: Any, compute: Callable[[], T], disk: DiskCache | None = None) -> T:
        """The value of ``kind(params)``: remembered, else read from ``disk``, else computed (and stored in both)."""
        try:
            key = self._key(params)
        except Uncacheable:
            return compute()
        if key in self._values:
            return self._values[key]
        value = disk.get_or_compute(kind, params, compute) if disk is not None else compute()
        self._values[key] = value
        return value

    def known(self, params: Any) -> bool:
        """Whether the value of ``params`` is remembered in this process."""
        return self._key(params) in self._values

    def recall(self, params: Any) -> Any:
        """The remembered value of ``params`` (``KeyError`` when it is not)."""
        return self._values[self._key(params)]

    def remember(self, params: Any, value: Any) -> None:
        """Remember ``value`` as the value of ``params`` (computed elsewhere, e.g. by a pool worker)."""
        self._values[self._key(params)] = value

    def forget(self) -> None:
        """Drop every remembered value (tests that need a fresh computation); the disk entries stay."""
        self._values.clear()

    def __getitem__(self, key: Hashable) -> Any:
        return self._values[key]

    def __setitem__(self, key: Hashable, value: Any) -> None:
        self._values[key] = value

    def __delitem__(self, key: Hashable) -> None:
        del self._values[key]

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _mac(key: bytes, header: dict[str, Any], payload: bytes) -> str:
    """HMAC-SHA256 over the header (without its HMAC) and the payload: any flipped bit is caught, and
    only a writer holding ``key`` can produce it."""
    return hmac.new(key, json.dumps(header, sort_keys=True).encode() + b"\n" + payload, hashlib.sha256).hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
