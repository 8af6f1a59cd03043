"""Runs end cleanly: a scheduler address that is wrong or silent is a usage error within a stated
time, a scheduler without workers is reported, and SIGTERM stops the pool and keeps the verdicts."""

from __future__ import annotations

import json
import os
import signal
import socket
import time

import pytest

import numerics.executor as ex
import proofs_checks.runner as runner
from proofs_checks.cli import main

pytest.importorskip("distributed")


def test_a_scheduler_address_without_port_is_refused_at_once(capsys):
    t0 = time.perf_counter()
    assert main(["verify", "common/gaussian-kl-closed-form", "--scheduler", "tcp://127.0.0.1"]) == 2
    assert "with the port" in capsys.readouterr().err
    assert time.perf_counter() - t0 < 2.0


def test_a_server_that_never_speaks_dask_times_out(monkeypatch, capsys):
    monkeypatch.setattr(ex, "CONNECT_DEADLINE", 1.0)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)  # accepts connections (the kernel's backlog) and never answers
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        t0 = time.perf_counter()
        assert main(["verify", "common/gaussian-kl-closed-form", "--scheduler", address]) == 2
    assert "no Dask handshake within 1 s" in capsys.readouterr().err
    assert time.perf_counter() - t0 < 10.0


def test_a_scheduler_without_workers_is_reported(monkeypatch):
    from distributed import LocalCluster

    monkeypatch.setattr(ex, "WORKER_WAIT", 0.2)
    notes: list[str] = []
    with LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        ex.make_executor(scheduler=cluster.scheduler_address, notice=notes.append).shutdown()
    assert any("no worker has joined" in n for n in notes)


def test_shutdown_now_terminates_the_pool_workers():
    pool = ex.make_executor(workers=2)
    fut = pool.submit(time.sleep, 60)
    deadline = time.monotonic() + 30
    while not fut.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    processes = list(pool._processes.values())
    assert processes and all(p.is_alive() for p in processes)
    t0 = time.perf_counter()
    ex.shutdown_now(pool)
    assert not any(p.is_alive() for p in processes) and time.perf_counter() - t0 < 10


def test_sigterm_during_verify_keeps_the_verdicts_and_restores_the_handler(tmp_path, monkeypatch):
    js = tmp_path / "v.json"
    ids = ["common/gaussian-kl-closed-form", "common/gaussian-kl-zero-iff-equal"]
    real = runner.run_check
    seen = []

    def terminated_on_second(cid, run):
        seen.append(cid)
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(cid, run)

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(runner, "run_check", terminated_on_second)
    assert main(["verify", *ids, "--json", str(js)]) == 130
    assert [c["id"] for c in json.loads(js.read_text())["claims"]] == ids[:1]
    assert signal.getsignal(signal.SIGTERM) is before
