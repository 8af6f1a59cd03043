"""Time of each minibatch coupling against POT's exact solver ``ot.emd`` in the same run.

For every batch size ``k`` one batch of ``k`` standard-normal noise points and ``k`` 8-Gaussians
data points (or standard normals shifted by 1 in ``--dim`` > 2) is drawn; each coupling of
:data:`numerics.couplings.COUPLINGS` (cost matrix included) and ``ot.emd`` on the same cost
matrix (uniform weights, ``numItermax`` raised so it reaches optimality) are timed, best of
``--reps``. A method whose time at the previous ``k`` exceeded ``--budget`` seconds is skipped at
larger ``k`` (printed as ``skipped``). Prints a table; not run by the tests.

Usage::

    python benchmarks/bench_couplings.py [--ks 64,256,1024,4096] [--dim 2] [--reps 3] [--budget 20]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def _best_of(fn: Callable[[], Any], reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> None:
    import ot

    from numerics.couplings import COUPLINGS, squared_distances
    from numerics.datasets import sample_eight_gaussians

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ks", default="64,256,1024,4096")
    p.add_argument("--dim", type=int, default=2)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--budget", type=float, default=20.0, help="skip a method at larger k once it took longer")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    ks = [int(k) for k in args.ks.split(",")]
    methods: dict[str, Callable[..., Any]] = {
        "ot.emd (POT)": None,  # type: ignore[dict-item]
        **{f"{n}": f for n, f in COUPLINGS.items()},
        "batchot[scipy]": lambda a, b, rng: COUPLINGS["batchot"](a, b, rng, solver="scipy"),
    }
    slow: set[str] = set()
    rows = []
    for k in ks:
        rng = np.random.default_rng([args.seed, k])
        x0 = rng.standard_normal((k, args.dim))
        x1 = sample_eight_gaussians(k, rng) if args.dim == 2 else rng.standard_normal((k, args.dim)) + 1.0
        reps = args.reps if k <= 1024 else 1
        row: dict[str, float | None] = {}
        for name, fn in methods.items():
            if name in slow:
                row[name] = None
                continue
            if fn is None:
                w = np.full(k, 1.0 / k)

                def run(w=w, x0=x0, x1=x1, k=k) -> Any:
                    return ot.emd(w, w, squared_distances(x0, x1), numItermax=int(min(100 * k * k, 2**31 - 1)))
            else:

                def run(fn=fn, x0=x0, x1=x1) -> Any:
                    return fn(x0, x1, np.random.default_rng(1))

            row[name] = _best_of(run, reps)
            if row[name] > args.budget:
                slow.add(name)
        rows.append((k, row))
        print(f"k={k} done", flush=True)
    names = list(methods)
    print()
    print(
        f"coupling time in seconds (d = {args.dim}, best of {args.reps} for k <= 1024, 1 above); "
        "ratio = time / ot.emd time"
    )
    print(f"{'k':>6} " + " ".join(f"{n:>22}" for n in names))
    for k, row in rows:
        ref = row["ot.emd (POT)"]
        cells = []
        for n in names:
            v = row[n]
            if v is None:
                cells.append(f"{'skipped':>22}")
            elif n == "ot.emd (POT)" or ref is None:
                cells.append(f"{v:>22.4f}")
            else:
                cells.append(f"{f'{v:.4f} ({v / ref:.2f}x)':>22}")
        print(f"{k:>6} " + " ".join(cells))


if __name__ == "__main__":
    main()
