"""Share of a multisample-flow-matching training step spent in the minibatch coupling.

For each coupling the step is timed in two parts on the same minibatch of ``k`` noise and data
points: the coupling (pairing indices of :mod:`numerics.couplings`, cost matrix included) and the
rest of the step (coupled-CFM loss, backward, Adam update, with the pairs already formed). The
share is ``t_coupling / (t_coupling + t_rest)``. Two settings:

- the default 2-D model of the training claims (8-Gaussians, MLP 3 x 256, ``k = 256``);
- image-sized vectors, ``d = 3072`` (3 x 32 x 32), ``k = 256``, an MLP 3 x 1024 on the flattened
  vectors (standard-normal data stand in for images: the coupling cost only sees distances).

The paper reports +0.8% (ImageNet-32) and +3.9% (ImageNet-64) per iteration with U-Nets on GPUs
(Table 9 [reported]); an MLP step is far cheaper than a U-Net step, so the shares measured here
are upper bounds for that setting. Not timed in tests.

Usage::

    python benchmarks/bench_mfm_training.py [--reps 20] [--couplings batchot,batcheot,stable] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from numerics.couplings import COUPLINGS, pair
from numerics.datasets import sample_eight_gaussians
from numerics.nets import VelocityMLP
from numerics.training import conditional_flow_matching_loss, default_device


def _median_seconds(fn: Callable[[], Any], reps: int, sync: Callable[[], None]) -> float:
    fn()  # warm-up (allocations, lazy initialisation)
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def step_share(
    dim: int, width: int, k: int, coupling: str, reps: int, device: torch.device, seed: int = 0
) -> dict[str, Any]:
    """Median seconds of the coupling and of the rest of one training step, and the share."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((k, dim))
    x1 = sample_eight_gaussians(k, rng) if dim == 2 else rng.standard_normal((k, dim))
    model = VelocityMLP(dim, width=width, depth=3).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator(device=device).manual_seed(seed)
    c_rng = np.random.default_rng(seed + 1)
    kwargs = {"sampling": "row", "eps_rel": 0.05} if coupling == "batcheot" else {}
    a, b = pair(x0, x1, coupling, c_rng, **kwargs)
    ta = torch.as_tensor(a, dtype=torch.float32, device=device)
    tb = torch.as_tensor(b, dtype=torch.float32, device=device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def couple() -> None:
        pair(x0, x1, coupling, c_rng, **kwargs)

    def rest() -> None:
        t = torch.rand(k, generator=gen, device=device)
        loss = conditional_flow_matching_loss(model, ta, tb, t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t_c = _median_seconds(couple, reps, sync)
    t_r = _median_seconds(rest, reps, sync)
    return {
        "dim": dim,
        "width": width,
        "k": k,
        "coupling": coupling,
        "device": str(device),
        "coupling_ms": 1e3 * t_c,
        "rest_ms": 1e3 * t_r,
        "share": t_c / (t_c + t_r),
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--couplings", default="condot,batchot,batcheot,stable")
    p.add_argument("--device", default=None, help="cpu or cuda (default: CUDA when present)")
    p.add_argument("--json", default=None, help="write the rows to this file")
    args = p.parse_args(argv)
    couplings = [c for c in args.couplings.split(",") if c]
    unknown = [c for c in couplings if c not in COUPLINGS]
    if unknown:
        raise SystemExit(f"unknown coupling(s) {unknown}; choose from {list(COUPLINGS)}")
    device = torch.device(args.device) if args.device else default_device()
    rows = []
    for dim, width in ((2, 256), (3072, 1024)):
        for c in couplings:
            r = step_share(dim, width, 256, c, args.reps, device)
            rows.append(r)
            print(
                f"d={dim:5d} width={width:5d} k=256 {c:9s} coupling {r['coupling_ms']:9.3f} ms  "
                f"rest {r['rest_ms']:8.3f} ms  share {100 * r['share']:6.2f}%  ({r['device']})",
                flush=True,
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
