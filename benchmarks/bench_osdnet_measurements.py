"""Speed of the learned-field measurements of one OSDNet run: torch stacks vs the NumPy references (not run by pytest).

One spec-size OSDNet architecture (width 256, depth 3, learned off head, ``sparse-d20``) with ``K``
checkpoints (independently initialised: the cost does not depend on the weights) and ``M`` starts.
Each measurement of :mod:`numerics.learned_field` runs twice in the same process:

* torch: every checkpoint at once (:func:`numerics.nets.stack_checkpoints`), float64, the exact
  field's torch twin, on ``--device`` (default: :func:`numerics.training.default_device`);
* NumPy reference: one checkpoint at a time, NumPy float64 state, the model evaluated call by call
  on CPU, the NumPy exact field (the code path of the measurements before the torch engines).

Prints wall times, the speed-up and the largest relative difference between the two results, and
the model's float64 GEMM rate (the floor of both paths on a CPU: ~``2·P`` flops per start and
field evaluation for ``P`` weights).

Run: ``python benchmarks/bench_osdnet_measurements.py [--device cuda] [--steps 50] [--starts 1000]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

import numerics.learned_field as lf
from numerics.datasets import dataset
from numerics.nets import OSDNet, seeded_init_, stack_checkpoints
from numerics.subspace import proper_subspace
from numerics.training import default_device

SIGMA_MIN = 0.01


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0, out


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(float(np.max(np.abs(b))), 1e-300))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default=None, help="torch device (default: CUDA when present, else CPU)")
    ap.add_argument("--checkpoints", type=int, default=8)
    ap.add_argument("--starts", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=50, help="RK4 steps of every integral (spec: 500 in t, 2000 in τ)")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--excess-draws", type=int, default=8192)
    ap.add_argument("--quick", action="store_true", help="4 checkpoints, 200 starts, 20 steps")
    args = ap.parse_args()
    if args.quick:
        args.checkpoints, args.starts, args.steps = 4, 200, 20
    device = torch.device(args.device) if args.device else default_device()
    data = dataset("sparse-d20")
    basis = proper_subspace(data).basis
    models = [seeded_init_(OSDNet(basis, SIGMA_MIN, args.width), [7, k]) for k in range(args.checkpoints)]
    n_params = sum(p.numel() for p in models[0].parameters())
    x0 = np.random.default_rng(27).standard_normal((args.starts, data.shape[1]))
    k, m, s = args.checkpoints, args.starts, args.steps
    print(
        f"OSDNet width {args.width} ({n_params} weights), {k} checkpoints, {m} starts, RK4 {s} steps; "
        f"torch {torch.__version__} on {device} ({torch.get_num_threads()} CPU threads)"
    )

    # The float64 GEMM rate of one hidden layer: the floor of both paths on a CPU.
    a = torch.randn(m, args.width, dtype=torch.float64)
    w = torch.randn(args.width, args.width, dtype=torch.float64)
    rate = 2 * m * args.width**2 * 20 / timed(lambda: [a @ w for _ in range(20)])[0] / 1e9
    print(f"float64 GEMM ({m} x {args.width} x {args.width}) on CPU: {rate:.1f} GFLOP/s")

    t_stack, stack = timed(lambda: stack_checkpoints(models[0], [mm.state_dict() for mm in models], device))
    cases: list[tuple[str, int, Callable[[], object], Callable[[], object], Callable[[object, object], float]]] = [
        (
            "generate (RK4 in t)",
            4 * s,
            lambda: lf.generate(stack, x0, s),
            lambda: [lf.generate_numpy(mm, x0, s) for mm in models],
            lambda g, r: max(rel_diff(g[i], r[i]) for i in range(k)),
        ),
        (
            "generate in tau (RK4 in τ)",
            4 * s,
            lambda: lf.generate_in_tau(stack, x0, SIGMA_MIN, s),
            lambda: [lf.generate_in_tau_numpy(mm, x0, SIGMA_MIN, s) for mm in models],
            lambda g, r: max(rel_diff(g[i], r[i]) for i in range(k)),
        ),
        (
            "off-subspace norm path",
            4 * s,
            lambda: lf.off_subspace_norm_path(stack, x0, basis, s, 10)[1],
            lambda: [lf.generate_numpy(mm, x0, s, return_path=True)[:: s // 10] for mm in models],
            lambda g, r: max(
                rel_diff(
                    g[:, i], np.linalg.norm(proper_subspace(data).off(r[i].reshape(-1, 20)), axis=1).reshape(11, m)
                )
                for i in range(k)
            ),
        ),
        (
            "off-subspace identity",
            4 * s,
            lambda: lf.off_subspace_identity(stack, x0, data, SIGMA_MIN, s),
            lambda: [lf.off_subspace_identity_numpy(mm, x0, data, SIGMA_MIN, s) for mm in models],
            lambda g, r: max(rel_diff(g.integral[i], r[i].integral) for i in range(k)),
        ),
        (
            "Grönwall bound (learned + exact + b)",
            4 * s,
            lambda: lf.generation_error_bound(stack, x0, data, SIGMA_MIN, s),
            lambda: [lf.generation_error_bound_numpy(mm, x0, data, SIGMA_MIN, s) for mm in models],
            lambda g, r: max(rel_diff(g.bound[i], r[i].bound) for i in range(k)),
        ),
        (
            "excess loss",
            1,
            lambda: lf.excess_loss(stack, data, SIGMA_MIN, args.excess_draws),
            lambda: [lf.excess_loss_numpy(mm, data, SIGMA_MIN, args.excess_draws) for mm in models],
            lambda g, r: max(abs(g.total[i] / r[i].total - 1) for i in range(k)),
        ),
    ]
    print(f"stacking {k} checkpoints: {t_stack * 1e3:.1f} ms")
    print(f"{'measurement':38s} {'torch s':>9s} {'NumPy s':>9s} {'speed-up':>9s} {'max rel diff':>13s}  model GFLOP/s")
    total_torch = total_numpy = 0.0
    for name, evals, fast, ref, diff in cases:
        t_fast, got = timed(fast)
        t_ref, want = timed(ref)
        total_torch += t_fast
        total_numpy += t_ref
        flops = 2 * n_params * m * k * (evals if evals > 1 else args.excess_draws / m)
        print(
            f"{name:38s} {t_fast:9.2f} {t_ref:9.2f} {t_ref / t_fast:8.1f}x {diff(got, want):13.2e}  "
            f"{flops / t_fast / 1e9:6.1f} vs {flops / t_ref / 1e9:6.1f}"
        )
    print(f"{'all measurements':38s} {total_torch:9.2f} {total_numpy:9.2f} {total_numpy / total_torch:8.1f}x")


if __name__ == "__main__":
    main()
