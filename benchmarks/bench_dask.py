"""Dask LocalCluster vs the local process pool, both with 2 one-thread workers.

A 16-task seeded sweep (each task an eigendecomposition and a Monte Carlo draw of about a
quarter second on one thread) through :func:`numerics.executor.sweep`: wall time on a
``LocalCluster(2)`` over wall time on ``make_executor(2)`` (goal: at most 1.2), both warm (workers
started and modules imported), best of ``--repeats``. Per-task overhead: ``--noop`` empty tasks,
wall time per task. Also the start-up cost of each backend and a check that both return the
in-process numbers. Needs ``pip install 'memgen-theory[dask]'``.
Usage: python benchmarks/bench_dask.py [--tasks 16] [--size 600] [--noop 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from numerics.executor import InProcessExecutor, make_executor, sweep


def seeded_task(seed: int, n: int) -> list[float]:
    r = np.random.default_rng(seed)
    a = r.normal(size=(n, n))
    x = r.normal(size=(2000, n))
    return [float(np.linalg.eigvalsh(a @ a.T).sum()), float(np.mean(np.sort(x @ a, axis=0)[-1]))]


def noop(i: int) -> int:
    return i


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=16)
    p.add_argument("--size", type=int, default=600)
    p.add_argument("--noop", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    tasks = [{"seed": s, "n": args.size} for s in range(args.tasks)]
    noops = [{"i": i} for i in range(args.noop)]

    t_one, reference = timed(lambda: sweep(InProcessExecutor(), seeded_task, tasks))
    backends = {"process pool (2)": {"workers": 2}, "Dask LocalCluster (2)": {"scheduler": "local:2"}}
    executors, startup = {}, {}
    for name, options in backends.items():
        startup[name], executors[name] = timed(lambda options=options: make_executor(**options))
        startup[name] += timed(lambda ex=executors[name]: sweep(ex, seeded_task, tasks[:2]))[0]  # modules imported
    walls: dict[str, list[float]] = {name: [] for name in backends}
    overheads: dict[str, list[float]] = {name: [] for name in backends}
    same = dict.fromkeys(backends, True)
    for _ in range(args.repeats):  # interleaved: both backends see the same load on a shared machine
        for name, ex in executors.items():
            wall, out = timed(lambda ex=ex: sweep(ex, seeded_task, tasks))
            walls[name].append(wall)
            same[name] &= out == reference
            overheads[name].append(timed(lambda ex=ex: sweep(ex, noop, noops))[0] / len(noops))
    for ex in executors.values():
        ex.shutdown()

    print(f"{len(tasks)} tasks of n={args.size}; in-process (1 thread): {t_one:.2f} s; best of {args.repeats}")
    print(f"{'backend':24s} {'start-up':>9s} {'sweep':>8s} {'per-task overhead':>18s}  same numbers")
    for name in backends:
        print(
            f"{name:24s} {startup[name]:8.2f}s {min(walls[name]):7.2f}s {min(overheads[name]) * 1e3:15.2f} ms  {same[name]}"
        )
    pool, dask = (min(walls[n]) for n in backends)
    pool_oh, dask_oh = (min(overheads[n]) for n in backends)
    print(f"sweep wall time, Dask / pool: {dask / pool:.2f} (goal <= 1.2)")
    print(f"per-task overhead, Dask - pool: {(dask_oh - pool_oh) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
