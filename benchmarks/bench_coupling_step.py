"""Share of a coupled flow-matching training step spent in the coupling, before and after the fast paths.

Setting of the MFM training claims: ``k = batch = 256``, ``d = 2`` (noise against 8 Gaussians),
MLP 3 x 256 (SiLU), Adam 1e-3. A step is the coupling of one minibatch (cost matrix, solve and
pairs) plus the rest (CFM loss, backward, Adam update). For every coupling:

- ``before``: the reference solver, one minibatch at a time (BatchEOT: NumPy
  :func:`~numerics.couplings.batch_eot_coupling`; Stable: :func:`~numerics.couplings.gale_shapley`);
- ``after``: the training path, :func:`~numerics.couplings.blockwise_pair` (BatchEOT: ``--ahead``
  minibatches solved together by :func:`~numerics.couplings.entropic_plans`, time per minibatch;
  Stable: :func:`~numerics.couplings.stable_matching`; BatchOT: the same exact solver);
- ``share = t_coupling / (t_coupling + t_rest)``, the step run serially (also in process CPU time);
- ``loop``: ``--steps`` steps of a loop drawing from :class:`~numerics.couplings.CoupledBatchSampler`
  with ``ahead`` and ``prefetch`` (the coupling of the next group runs in a background thread while
  the step trains) against the same loop on pairs drawn beforehand; ``wait = (t_loop - t_rest_loop)
  / t_loop`` is the share of the step the loop spends waiting for couplings. Overlap needs a free
  core (or a GPU for the step): on a loaded CPU it is near the serial share.

Run it with one thread (the default ``--threads 1``, and ``OMP_NUM_THREADS=1`` for NumPy's BLAS): on
a shared CPU, threads that spin-wait for a descheduled partner slow every parallel operation
down (measured at load 5 on 2 cores: BatchEOT 25 times slower with 2 torch threads, the NumPy
reference 8 times slower with 2 BLAS threads).

Times are medians of ``--reps`` calls, each measurement repeated ``--rounds`` times (the CPU is
shared: the load average is printed with every round, and the process CPU time of the serial
coupling, which other processes do not inflate as much, is reported next to the wall time).
Not run by the tests.

Usage::

    python benchmarks/bench_coupling_step.py [--device cpu|cuda] [--couplings batchot,batcheot,stable]
        [--ahead 16] [--reps 15] [--rounds 3] [--steps 40] [--threads 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from numerics.couplings import (
    COUPLINGS,
    CoupledBatchSampler,
    batch_eot_coupling,
    blockwise_pair,
    gale_shapley,
    pair,
    squared_distances,
)
from numerics.datasets import FlowTarget
from numerics.nets import VelocityMLP
from numerics.training import conditional_flow_matching_loss, default_device

K, DIM, WIDTH, DEPTH = 256, 2, 256, 3
EOT = {"eps_rel": 0.05, "sampling": "row"}


def _median(fn: Callable[[], Any], reps: int, sync: Callable[[], None]) -> tuple[float, float]:
    """Median wall and process-CPU seconds of ``fn`` over ``reps`` calls (after one warm-up)."""
    fn()
    sync()
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def _reference(coupling: str) -> Callable[[np.ndarray, np.ndarray, np.random.Generator], Any]:
    """The solver one minibatch at a time, as before the fast paths."""
    if coupling == "batcheot":
        return lambda x0, x1, rng: pair(x0, x1, batch_eot_coupling, rng, **EOT)
    if coupling == "stable":
        return lambda x0, x1, rng: gale_shapley(squared_distances(x0, x1))[0]
    return lambda x0, x1, rng: pair(x0, x1, coupling, rng)


class Step:
    """The rest of a training step (loss, backward, Adam) on one device."""

    def __init__(self, device: torch.device, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.device = device
        self.model = VelocityMLP(DIM, width=WIDTH, depth=DEPTH).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.gen = torch.Generator(device=device).manual_seed(seed)

    def __call__(self, x0: np.ndarray, x1: np.ndarray) -> None:
        a = torch.as_tensor(x0, dtype=torch.float32, device=self.device)
        b = torch.as_tensor(x1, dtype=torch.float32, device=self.device)
        t = torch.rand(a.shape[0], generator=self.gen, device=self.device)
        loss = conditional_flow_matching_loss(self.model, a, b, t)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()


def measure(coupling: str, device: torch.device, ahead: int, reps: int, steps: int, seed: int = 0) -> dict[str, Any]:
    """One round of every timing of one coupling (milliseconds per minibatch)."""
    target = FlowTarget("8gaussians", DIM)
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((ahead * K, DIM))
    x1 = target.sample(ahead * K, rng)
    step = Step(device, seed)
    c_rng = np.random.default_rng(seed + 1)
    kwargs = EOT if coupling == "batcheot" else {}
    ref = _reference(coupling)
    before = _median(lambda: ref(x0[:K], x1[:K], c_rng), reps, step.sync)
    m = ahead if coupling == "batcheot" else 1
    after = _median(
        lambda: blockwise_pair(x0[: m * K], x1[: m * K], coupling, K, c_rng, device=device, **kwargs),
        max(1, reps // m) if m > 1 else reps,
        step.sync,
    )
    after = (after[0] / m, after[1] / m)
    rest = _median(lambda: step(x0[:K], x1[:K]), reps, step.sync)

    n_steps = -(-steps // m) * m  # whole groups of m minibatches

    def loop(prefetch: bool) -> float:
        sampler = CoupledBatchSampler(target, K, coupling, K, seed, kwargs, ahead=m, prefetch=prefetch, device=device)
        with sampler:
            for _ in range(m):  # warm-up: the first group (with prefetch, the second is under way)
                step(*sampler.draw())
            step.sync()
            t0 = time.perf_counter()
            for _ in range(n_steps):
                step(*sampler.draw())
            step.sync()
            return (time.perf_counter() - t0) / n_steps

    pairs = [blockwise_pair(x0[s : s + K], x1[s : s + K], "condot", K, c_rng) for s in range(0, m * K, K)]

    def rest_loop() -> float:
        t0 = time.perf_counter()
        for n in range(n_steps):
            step(*pairs[n % len(pairs)])
        step.sync()
        return (time.perf_counter() - t0) / n_steps

    t_rest_loop = rest_loop()
    t_serial, t_prefetch = loop(False), loop(True)
    ms = 1e3
    return {
        "coupling": coupling,
        "device": str(device),
        "ahead": m,
        "before_ms": ms * before[0],
        "before_cpu_ms": ms * before[1],
        "after_ms": ms * after[0],
        "after_cpu_ms": ms * after[1],
        "rest_ms": ms * rest[0],
        "rest_cpu_ms": ms * rest[1],
        "share_before": before[0] / (before[0] + rest[0]),
        "share_after": after[0] / (after[0] + rest[0]),
        "share_before_cpu": before[1] / (before[1] + rest[1]),
        "share_after_cpu": after[1] / (after[1] + rest[1]),
        "loop_serial_ms": ms * t_serial,
        "loop_prefetch_ms": ms * t_prefetch,
        "loop_rest_ms": ms * t_rest_loop,
        "wait_prefetch": max(0.0, t_prefetch - t_rest_loop) / t_prefetch,
        "load_avg_1min": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when present)")
    p.add_argument("--couplings", default="batchot,batcheot,stable")
    p.add_argument("--ahead", type=int, default=16, help="BatchEOT minibatches solved together")
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the CPU is shared)")
    p.add_argument("--json", default=None, help="write the rows to this file")
    args = p.parse_args(argv)
    couplings = [c for c in args.couplings.split(",") if c]
    unknown = [c for c in couplings if c not in COUPLINGS]
    if unknown:
        raise SystemExit(f"unknown coupling(s) {unknown}; choose from {list(COUPLINGS)}")
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # NumPy's and SciPy's BLAS too
    device = torch.device(args.device) if args.device else default_device()
    rows = []
    for r in range(args.rounds):
        for c in couplings:
            row = {"round": r, **measure(c, device, args.ahead, args.reps, args.steps)}
            rows.append(row)
            print(
                f"round {r} {c:9s} ({row['device']}, ahead {row['ahead']:2d}, load {row['load_avg_1min']:.2f}): "
                f"coupling before {row['before_ms']:8.2f} ms (cpu {row['before_cpu_ms']:7.2f})  "
                f"after {row['after_ms']:7.2f} ms (cpu {row['after_cpu_ms']:6.2f})  rest {row['rest_ms']:6.2f} ms  "
                f"share {100 * row['share_before']:5.1f}% -> {100 * row['share_after']:5.1f}%  "
                f"loop serial {row['loop_serial_ms']:6.2f} / prefetch {row['loop_prefetch_ms']:6.2f} / "
                f"rest only {row['loop_rest_ms']:6.2f} ms: waiting {100 * row['wait_prefetch']:5.1f}%",
                flush=True,
            )
    print("\nmedian over rounds:")
    for c in couplings:
        mine = [row for row in rows if row["coupling"] == c]
        med = {key: statistics.median(row[key] for row in mine) for key in mine[0] if isinstance(mine[0][key], float)}
        print(
            f"  {c:9s} coupling {med['before_ms']:8.2f} -> {med['after_ms']:7.2f} ms, rest {med['rest_ms']:6.2f} ms, "
            f"share {100 * med['share_before']:5.1f}% -> {100 * med['share_after']:5.1f}% "
            f"(range {100 * min(row['share_after'] for row in mine):.1f}-{100 * max(row['share_after'] for row in mine):.1f}%; "
            f"in CPU time {100 * med['share_before_cpu']:5.1f}% -> {100 * med['share_after_cpu']:5.1f}%), "
            f"waiting with prefetch {100 * med['wait_prefetch']:5.1f}%, load {med['load_avg_1min']:.2f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "threads": args.threads, "cpu_count": os.cpu_count()}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
