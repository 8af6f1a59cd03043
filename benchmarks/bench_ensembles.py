"""Wall time of a seed ensemble (:func:`numerics.training.trained_ensemble`) against one seed trained alone.

For each setting (coupling, model width, minibatch = block ``k``) the MFM training run of
:class:`numerics.experiments.mfm.FlowTrainingConfig` is trained for ``--steps`` steps: once for
seed 0 alone with :func:`numerics.training.train` (the single-run route), then for ``S`` seeds
as one vectorised ensemble, for every ``S`` in ``--seeds``. Prints wall-clock milliseconds per
training step, the ratio to the single run (``S`` separate runs would cost about ``S`` times the
single run) and, in brackets, the same ratio in process CPU time (robust on a shared machine).
The first member of every ensemble is compared bit for bit with the single run. Not run by the
tests.

Usage::

    python benchmarks/bench_ensembles.py [--steps 200] [--seeds 1,5,8] [--device cuda] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import torch

from numerics.experiments.mfm import FlowTrainingConfig
from numerics.training import default_device, forget_trained, train, trained_ensemble

SETTINGS = (  # (coupling, width, batch): the fast tier's and the spec's training sizes
    ("condot", 64, 64),
    ("batchot", 64, 64),
    ("condot", 256, 256),
    ("batchot", 256, 256),
)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench(coupling: str, width: int, batch: int, steps: int, seeds: list[int], device: torch.device) -> dict[str, Any]:
    """Seconds per step of one seed alone and of each ensemble size, and whether member 0 equals the single run."""
    configs = [
        FlowTrainingConfig(coupling=coupling, k=batch, batch=batch, width=width, steps=steps, seed=s).canonical()
        for s in range(max(seeds))
    ]
    c0 = configs[0]
    h = c0.hyper()
    train(c0.build_model(), c0.objective(), steps=5, seed=list(h.seed), device=device)  # warm-up (allocations, kernels)
    t0, c0_cpu = time.perf_counter(), time.process_time()
    single = train(
        c0.build_model(), c0.objective(), steps=steps, seed=list(h.seed), checkpoints=h.checkpoints, device=device
    )
    _sync(device)
    row: dict[str, Any] = {
        "coupling": coupling,
        "width": width,
        "batch": batch,
        "device": str(device),
        "one_seed_s": (time.perf_counter() - t0) / steps,
        "one_seed_cpu_s": (time.process_time() - c0_cpu) / steps,
    }
    for s in seeds:
        forget_trained()
        t0, c0_cpu = time.perf_counter(), time.process_time()
        ens = trained_ensemble(configs[:s], device=device)
        _sync(device)
        row[f"ensemble_{s}_s"] = (time.perf_counter() - t0) / steps
        row[f"ensemble_{s}_cpu_s"] = (time.process_time() - c0_cpu) / steps
        row[f"ensemble_{s}_member0_equal"] = bool(np.array_equal(ens[0].losses, single.losses))
    forget_trained()
    return row


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--seeds", default="1,5,8")
    p.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when present)")
    p.add_argument("--json", default=None, help="write the rows to this file")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    device = torch.device(args.device) if args.device else default_device()
    rows = []
    for coupling, width, batch in SETTINGS:
        r = bench(coupling, width, batch, args.steps, seeds, device)
        rows.append(r)
        parts = [
            f"{s} seeds {1e3 * r[f'ensemble_{s}_s']:7.2f} ms ({r[f'ensemble_{s}_s'] / r['one_seed_s']:4.2f}x, "
            f"CPU {r[f'ensemble_{s}_cpu_s'] / r['one_seed_cpu_s']:4.2f}x)"
            for s in seeds
        ]
        same = all(r[f"ensemble_{s}_member0_equal"] for s in seeds)
        print(
            f"{coupling:8s} width {width:3d} batch {batch:3d} ({r['device']}): one seed "
            f"{1e3 * r['one_seed_s']:7.2f} ms/step; " + "; ".join(parts) + f"; member 0 == single run: {same}",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
