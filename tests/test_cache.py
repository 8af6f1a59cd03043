"""The disk cache serves nothing stale or corrupted: verified entries, keys derived from configurations."""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass

import numpy as np
import pytest

from numerics.cache import MAGIC, DiskCache, LayeredCache, Uncacheable, param_hash, param_record
from proofs_checks.cli import main


@dataclass(frozen=True)
class Config:
    CODE_VERSION = "1"
    width: int = 4
    beta_max: float = 0.01
    data: tuple[int, ...] = (1, 2)


def _cache(tmp_path):
    notices = []
    return DiskCache(tmp_path, notice=notices.append), notices


def test_every_field_of_a_configuration_is_in_the_key():
    base = param_hash(param_record(Config()))
    for change in ({"width": 5}, {"beta_max": 0.5}, {"data": (1, 3)}):
        assert param_hash(param_record(dataclasses.replace(Config(), **change))) != base
    assert param_record(np.arange(3))["sha256"] != param_record(np.arange(1, 4))["sha256"]
    assert param_record(0.1) == 0.1 and param_record(float("inf")) == {"float": "inf"}
    with pytest.raises(Uncacheable):
        param_record(lambda x: x)


def test_code_version_is_in_the_key():
    @dataclass(frozen=True)
    class Later(Config):
        CODE_VERSION = "2"

    a, b = param_record(Config()), param_record(Later())
    assert a["code_version"] == "1" and b["code_version"] == "2"


@pytest.mark.parametrize("where", ["magic", "header", "payload", "length"])
def test_damaged_entry_is_a_miss_with_a_notice(tmp_path, where):
    cache, notices = _cache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"w": np.linspace(0, 1, 1000), "last_loss": 3.63}

    cache.get_or_compute("model", Config(), compute)
    path = cache.path("model", Config())
    blob = bytearray(path.read_bytes())
    if where == "magic":
        blob[0] ^= 0xFF
    elif where == "header":
        blob[len(MAGIC) + 3] ^= 0x55
    elif where == "payload":
        blob[-200] ^= 0x01  # one bit inside the stored weights
    else:
        blob = blob[:-7]
    path.write_bytes(bytes(blob))
    value = cache.get_or_compute("model", Config(), compute)
    assert len(calls) == 2 and value["last_loss"] == 3.63
    assert len(notices) == 1 and path.name in notices[0] and "recomputing" in notices[0]
    assert cache.entries()[0].ok  # rewritten


def test_entry_of_another_configuration_is_never_served(tmp_path):
    cache, notices = _cache(tmp_path)
    cache.get_or_compute("model", Config(beta_max=0.01), lambda: "trained at beta_max 0.01")
    # an entry copied over another key's file (a key bug, a hash clash) is detected by its record
    src, dst = cache.path("model", Config(beta_max=0.01)), cache.path("model", Config(beta_max=0.5))
    dst.write_bytes(src.read_bytes())
    assert cache.get_or_compute("model", Config(beta_max=0.5), lambda: "trained at beta_max 0.5") == (
        "trained at beta_max 0.5"
    )
    assert "differs" in notices[0]


def test_orphaned_temporary_files_are_cleaned(tmp_path):
    cache, _ = _cache(tmp_path)
    dead = tmp_path / f".model-x.entry.{os.uname().nodename}.999999999.abc.tmp"
    old = tmp_path / ".model-y.entry.otherhost.1.abc.tmp"
    live = tmp_path / f".model-z.entry.{os.uname().nodename}.{os.getpid()}.abc.tmp"
    for p in (dead, old, live):
        p.write_bytes(b"partial")
    os.utime(old, (time.time() - 10 * 3600,) * 2)
    removed = cache.clean_orphans()
    assert set(removed) == {dead, old} and live.exists()


def test_cache_command_lists_verifies_and_clears(tmp_path, capsys):
    cache, _ = _cache(tmp_path)
    cache.get_or_compute("a", Config(), lambda: 1)
    cache.get_or_compute("b", Config(), lambda: 2)
    p = cache.path("b", Config())
    p.write_bytes(p.read_bytes()[:-1])
    assert main(["cache", "list", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "DAMAGED" in out and "2 entries" in out
    assert main(["cache", "verify", "--dir", str(tmp_path)]) == 1
    assert main(["cache", "verify", "--dir", str(tmp_path), "--remove-damaged"]) == 0
    assert len(cache.entries()) == 1
    assert main(["cache", "clear", "--dir", str(tmp_path)]) == 0
    assert cache.entries() == []


class _Marker:
    """A pickle payload that creates a file when unpickled."""

    def __init__(self, path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _forged_entry(path, payload: bytes, key: bytes | None) -> None:
    """An entry written without the cache: a plain SHA-256 (the old unkeyed checksum) or an HMAC
    under ``key``."""
    import hashlib
    import hmac
    import json

    header = {"params": None, "length": len(payload), "created": "2024", "version": "x"}
    blob = json.dumps(header, sort_keys=True).encode() + b"\n" + payload
    header["sha256"] = hashlib.sha256(blob).hexdigest()
    if key is not None:
        header["hmac"] = hmac.new(key, blob, hashlib.sha256).hexdigest()
    path.write_bytes(MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload)


@pytest.mark.parametrize("key", [None, b"k" * 32])
def test_an_entry_written_by_someone_else_never_runs(tmp_path, capsys, key):
    import pickle

    cache, notices = _cache(tmp_path)
    cache.get_or_compute("model", Config(), lambda: "ours")  # creates the cache's secret
    marker = tmp_path.parent / f"ran-{tmp_path.name}"
    payload = pickle.dumps(_Marker(marker))
    _forged_entry(tmp_path / "dropped-0123.entry", payload, key)
    path = cache.path("model", Config())
    _forged_entry(path, payload, key)
    assert main(["cache", "list", "--dir", str(tmp_path)]) == 0
    assert main(["cache", "verify", "--dir", str(tmp_path)]) == 1
    assert "not written by this cache" in capsys.readouterr().out
    assert cache.get_or_compute("model", Config(), lambda: "recomputed") == "recomputed"
    assert not marker.exists()
    assert any("HMAC mismatch" in n for n in notices)


def test_the_secret_is_private_and_listing_reads_headers_only(tmp_path, monkeypatch):
    import pickle

    cache, _ = _cache(tmp_path)
    cache.get_or_compute("model", Config(), lambda: [1, 2])
    assert (tmp_path / ".secret").stat().st_mode & 0o777 == 0o600
    monkeypatch.setattr(pickle, "loads", lambda *_: pytest.fail("listing unpickled an entry"))
    assert [e.ok for e in cache.entries()] == [True]


def test_entries_in_sub_folders_are_listed_and_cleared(tmp_path, capsys):
    cache, _ = _cache(tmp_path)
    for name in ("gao-li/ensemble", "mfm/plans", "top"):
        cache.get_or_compute(name, Config(), lambda: 1)
    assert sorted(e.name for e in cache.entries()) == ["gao-li/ensemble", "mfm/plans", "top"]
    assert main(["cache", "list", "--dir", str(tmp_path)]) == 0
    assert "3 entries" in capsys.readouterr().out
    assert main(["cache", "clear", "--dir", str(tmp_path)]) == 0
    assert cache.entries() == [] and "removed 3 files" in capsys.readouterr().out


def test_an_empty_cache_setting_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("MEMGEN_CACHE", "")
    assert main(["cache", "list"]) == 2
    assert main(["verify", "common/gaussian-kl-closed-form"]) == 2
    assert capsys.readouterr().err.count("MEMGEN_CACHE is set but empty") == 2


def test_the_layered_cache_answers_from_memory_then_disk_and_forgets_only_memory(tmp_path):
    disk, _ = _cache(tmp_path)
    memo = LayeredCache()
    calls = []

    def compute():
        calls.append(1)
        return np.arange(3)

    first = memo.get_or_compute("m", Config(), compute, disk)
    assert memo.get_or_compute("m", Config(), compute, disk) is first and len(calls) == 1
    assert disk.path("m", Config()).exists() and memo.known(Config())
    memo.forget()
    assert not memo.known(Config())
    np.testing.assert_array_equal(memo.get_or_compute("m", Config(), compute, disk), first)
    assert len(calls) == 1  # read back from the disk entry, not recomputed
    assert memo.get_or_compute("m", Config(width=5), compute) is not first and len(calls) == 2
    memo.get_or_compute("m", lambda: 0, compute, disk)  # no stable record: computed, never stored
    assert len(calls) == 3 and len(memo) == 2
