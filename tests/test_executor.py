"""Executors without Dask: thread pinning (same bits in and out of workers), worker counts, seeds,
the ``--scheduler`` usage errors, and the disk cache shared by concurrent processes."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import numerics.executor as ex
from numerics.cache import DiskCache
from proofs_checks.cli import build_parser, main

CLAIM = "common/gaussian-kl-closed-form"  # fast, no sweep: a pool never starts a process for it


def test_same_bits_in_process_and_in_pool_workers(tmp_path):
    """A fresh interpreter with the machine's default BLAS threads: after ``make_executor`` the
    driver and the pool workers run one thread each and compute the same bits (a long dot product
    and an eigendecomposition, both split by thread count when threaded)."""
    script = tmp_path / "pinned.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, sys
            import numpy as np
            from threadpoolctl import threadpool_info
            from numerics.executor import make_executor, sweep

            def blas_value(seed):
                r = np.random.default_rng(seed)
                a = r.normal(size=(300, 300))
                x = r.normal(size=2_000_000)
                threads = sorted({i["num_threads"] for i in threadpool_info()})
                return [float(x @ x), float(np.linalg.eigvalsh(a @ a.T).sum())], threads

            if __name__ == "__main__":
                pool = make_executor(2)
                here = [blas_value(s) for s in range(4)]
                there = sweep(pool, blas_value, [{"seed": s} for s in range(4)])
                pool.shutdown()
                print(json.dumps({"here": here, "there": there}))
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ex.THREAD_VARIABLES}
    env["PYTHONPATH"] = os.getcwd()
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, check=True)
    import json

    res = json.loads(out.stdout)
    assert res["here"] == res["there"]  # floats compared bit for bit (JSON keeps repr)
    assert all(threads == [1] for _, threads in res["here"] + res["there"])


def test_pin_threads_sets_the_environment_for_later_libraries(monkeypatch):
    monkeypatch.setattr(ex, "_pinned_pid", None)
    for var in ex.THREAD_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    ex.pin_threads()
    assert all(os.environ[v] == str(ex.TASK_THREADS) for v in ex.THREAD_VARIABLES)


def test_workers_capped_at_cpu_count(monkeypatch):
    monkeypatch.setattr(ex, "cpu_count", lambda: 2)
    notes: list[str] = []
    pool = ex.make_executor(10**12, notice=notes.append)
    try:
        assert pool._max_workers == 2
    finally:
        pool.shutdown()
    assert notes == ["workers 1000000000000 capped at 2 (the CPU count)"]
    with pytest.raises(ValueError, match="workers"):
        ex.make_executor(-1)
    with pytest.raises(ex.ExecutorError, match="non-negative integer"):
        ex.make_executor(True)


def test_cli_huge_worker_count_is_capped_with_a_notice(capsys):
    assert main(["verify", CLAIM, "--workers", str(10**12)]) == 0
    assert f"capped at {ex.cpu_count()}" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["verify", "figures"])
@pytest.mark.parametrize("option", [["--seed", "-1"], ["--seed", "1.5"], ["--workers", "-2"]])
def test_cli_rejects_negative_seed_and_workers(command, option, capsys):
    assert main([command, *option]) == 2
    assert "expected a non-negative integer" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--resources", "GPU=1"], "needs --scheduler"),
        (["--scheduler", "local:2", "--workers", "2"], "--workers is the local process pool"),
        (["--scheduler", "nowhere"], "expected tcp://host:port or local:N"),
        (["--scheduler", "local:two"], "must be an integer"),
        (["--scheduler", "local:0"], "N >= 1"),
        (["--scheduler", "local:1", "--resources", "GPU"], "NAME=AMOUNT"),
    ],
)
def test_cli_executor_usage_errors_exit_2(argv, message, capsys):
    assert main(["verify", CLAIM, *argv]) == 2
    assert message in capsys.readouterr().err


def test_scheduler_without_distributed_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    assert main(["verify", "--paper", "common", "--scheduler", "local:2"]) == 2
    err = capsys.readouterr().err
    assert "'distributed' package, which is not installed" in err and "pip install 'memgen-theory[dask]'" in err
    assert ex.current_worker() == "in-process"


def test_scheduler_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv("MEMGEN_SCHEDULER", "tcp://10.0.0.1:8786")
    assert build_parser().parse_args(["verify"]).scheduler == "tcp://10.0.0.1:8786"
    assert build_parser().parse_args(["figures", "--scheduler", "local:2"]).scheduler == "local:2"


def test_parse_resources():
    assert ex.parse_resources("GPU=1,MEM=2.5") == {"GPU": 1.0, "MEM": 2.5}
    assert ex.parse_resources(None) == {}
    for bad in ("GPU", "GPU=0", "=1", "GPU=x"):
        with pytest.raises(ex.ExecutorError):
            ex.parse_resources(bad)


def test_training_tasks_ask_for_the_accelerator():
    from numerics.training import train_task

    assert ex.uses_accelerator(train_task)
    assert not ex.uses_accelerator(ex.sweep)


# ------------------------------------------------------------------------ one cache, two processes
VALUE_SIZE = 2_000_000  # 16 MB: the write takes long enough for the others to look at it


def _value() -> np.ndarray:
    time.sleep(0.2)
    return np.arange(VALUE_SIZE, dtype=float)


def _writer(root: str, barrier, out) -> None:
    barrier.wait()
    value = DiskCache(root).get_or_compute("shared", {"n": VALUE_SIZE}, _value)
    out.put(("writer", float(value.sum())))


def _reader(root: str, barrier, out) -> None:
    cache = DiskCache(root)
    path = cache.path("shared", {"n": VALUE_SIZE})
    barrier.wait()
    reads, errors, deadline = 0, [], time.monotonic() + 3.0
    while time.monotonic() < deadline:
        if path.exists():
            try:
                cache._read(path, {"n": VALUE_SIZE})
                reads += 1
            except (OSError, ValueError) as exc:
                errors.append(str(exc))
    out.put(("reader", (reads, errors)))


def test_two_processes_computing_one_cache_entry(tmp_path):
    """Two workers compute the same entry at once while a third reads it: every read sees a
    complete, verified entry (atomic replace), both get the value, and no temporary file is left."""
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=f, args=(str(tmp_path), barrier, out)) for f in (_writer, _writer, _reader)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    sums = [v for who, v in results if who == "writer"]
    (reads, errors), *_ = [v for who, v in results if who == "reader"]
    assert sums == [float(np.arange(VALUE_SIZE, dtype=float).sum())] * 2
    assert errors == [] and reads > 0
    entries = DiskCache(tmp_path).entries()
    assert len(entries) == 1 and entries[0].ok
    assert not list(tmp_path.glob(".*.tmp"))


def test_claims_run_in_parallel_on_a_pool_with_the_same_numbers(tmp_path):
    """Also with ``--controls``: each control runs in its claim's task, with the same outcome."""
    import json as _json

    from proofs_checks.cli import main

    ids = ["common/gaussian-kl-closed-form", "common/gaussian-w2-empirical-1d", "common/gaussian-kl-monte-carlo"]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["verify", *ids, "--json", str(a), "--controls"]) == 0
    assert main(["verify", *ids, "--json", str(b), "--workers", "2", "--controls"]) == 0
    ra, rb = (_json.loads(p.read_text())["claims"] for p in (a, b))
    assert [r["id"] for r in rb] == ids
    assert [r["measured"] for r in ra] == [r["measured"] for r in rb]

    def outcomes(records: list[dict]) -> list[dict]:
        return [{k: {f: v for f, v in c.items() if f != "seconds"} for k, c in r["controls"].items()} for r in records]

    assert outcomes(ra) == outcomes(rb)
    assert all(c["fails_as_it_should"] for r in rb for c in r["controls"].values())


def test_claims_that_share_trained_models_share_one_task():
    from proofs_checks.claims import all_claims, get_claim
    from proofs_checks.runner import claim_groups, group_key

    claims = [c for c in all_claims() if c.paper in ("common", "mfm")]
    groups = claim_groups(claims, {"common/gaussian-kl-closed-form": 100.0})
    shared = {group_key(g[0]): sorted(c.id for c in g) for g in groups if len(g) > 1}
    # the 8-Gaussians models: four training claims and the straightness identity (seed-0 models);
    # the mixture models of mfm/lower-transport-cost-high-dim in a task of their own
    assert shared == {
        "mfm/training": [
            "mfm/gradient-variance-reduction",
            "mfm/straighter-flows-consistency",
            "mfm/straightness-identity",
            "mfm/theorem-4.2-variance-straightness-limit",
            "mfm/variance-proxy-ordering",
        ]
    }
    assert group_key(get_claim("mfm/lower-transport-cost-high-dim")) == "mfm/training-mixture"
    assert group_key(get_claim("common/gaussian-kl-closed-form")) == "common/gaussian-kl-closed-form"
    assert len(groups[0]) == 5  # longest first: five claims at the median time each
