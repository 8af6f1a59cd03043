"""Speed of the exact flow-matching field and of the per-trajectory integrator (not run by pytest).

Prints:

* field evaluation at ``M = N = 4096``, ``d = 256`` (float64): time and peak memory of the
  streaming implementation against a naive broadcast implementation measured in the same run,
  and against the GEMM bound (``2 M N d`` flops at the measured matmul rate);
* integration: field evaluations per trajectory to land within 1e-10 with the per-trajectory
  DOP853 pair in tau, against SciPy DOP853 per trajectory in tau and in the original time t;
* the same per path (OT, cosine, VP, VE, a polynomial user path): evaluations per trajectory;
* the streaming torch field (float64) against the float64 two-GEMM bound (``4 M N d`` flops at the
  measured torch matmul rate) on ``--device`` (``cpu`` or ``cuda``), with its peak memory on CUDA;
  on CUDA also ``M = 16384, N = 65536, d = 3072`` and ``N = 10^6, d = 3072``; and the measured
  error of the field in float32 and bfloat16 against float64.

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_flow_matching.py [--quick] [--device cuda]``.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import torch
from scipy.integrate import solve_ivp

from numerics.datasets import dataset
from numerics.empirical_field import (
    distinct_points,
    integrate_flow,
    optimal_velocity,
    optimal_velocity_torch,
    velocity_in_tau,
)
from numerics.paths import as_path


def naive_velocity(x: np.ndarray, t: float, data: np.ndarray, sigma_min: float = 0.0) -> np.ndarray:
    """Broadcast implementation: materialises the (M, N, d) difference tensor."""
    sig = 1 - (1 - sigma_min) * t
    diff = x[:, None, :] - t * data[None, :, :]
    lg = -np.sum(diff * diff, axis=-1) / (2 * sig**2)
    lg -= lg.max(axis=1, keepdims=True)
    w = np.exp(lg)
    w /= w.sum(axis=1, keepdims=True)
    return (np.einsum("mn,nd->md", w, data) - (1 - sigma_min) * x) / sig


def timed(fn, repeat: int = 3) -> tuple[float, float]:
    """Best wall time over ``repeat`` runs and peak traced memory (MiB) of one run."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best, peak


def bench_field(m: int, n: int, d: int, naive: bool = True) -> None:
    rng = np.random.default_rng(0)
    x, data = rng.standard_normal((m, d)), rng.standard_normal((n, d))
    t = 0.7
    t_stream, mem_stream = timed(lambda: optimal_velocity(x, t, data))
    if not naive:
        # The broadcast tensor alone would take M N d 8 bytes.
        print(
            f"field M={m} N={n} d={d} float64: streaming {t_stream * 1e3:8.1f} ms, peak {mem_stream:8.1f} MiB; "
            f"naive broadcast would need {m * n * d * 8 / 2**30:.1f} GiB (not run)"
        )
        a, b = rng.standard_normal((m, d)), rng.standard_normal((d, n))
        t_gemm, _ = timed(lambda: a @ b)
        print(
            f"  GEMM (2MNd flops) {t_gemm * 1e3:7.1f} ms = {2 * m * n * d / t_gemm / 1e9:.2f} GFLOP/s "
            f"-> streaming field at {100 * t_gemm / t_stream:5.1f}% of the GEMM bound (the field needs 4MNd)"
        )
        return
    t_naive, mem_naive = timed(lambda: naive_velocity(x, t, data), repeat=1)
    a, b = rng.standard_normal((m, d)), rng.standard_normal((d, n))
    t_gemm, _ = timed(lambda: a @ b)
    rate = 2 * m * n * d / t_gemm
    bound = 2 * m * n * d / rate
    err = np.abs(optimal_velocity(x, t, data) - naive_velocity(x, t, data)).max()
    print(f"field M={m} N={n} d={d} float64")
    print(f"  streaming: {t_stream * 1e3:8.1f} ms, peak {mem_stream:8.1f} MiB")
    print(f"  naive    : {t_naive * 1e3:8.1f} ms, peak {mem_naive:8.1f} MiB")
    print(f"  speed-up {t_naive / t_stream:5.1f}x, memory ratio {mem_naive / mem_stream:5.1f}x, max |diff| {err:.1e}")
    print(
        f"  matmul rate {rate / 1e9:6.2f} GFLOP/s; GEMM bound (2MNd flops) {bound * 1e3:7.1f} ms "
        f"-> {100 * bound / t_stream:5.1f}% of it (the field needs two products: 4MNd flops)"
    )


def bench_integration(n_traj: int) -> None:
    data = dataset("sparse-d20")
    x0 = np.random.default_rng(1).standard_normal((n_traj, 20))
    # Tight per-trajectory SciPy reference (DOP853 in tau) for the landing index and x(t = 0.9).
    n_ref = min(n_traj, 40)
    ref_end, ref_09, nf_tau, nf_t, d_tau, d_t = [], [], [], [], [], []
    for i in range(n_ref):
        r = solve_ivp(
            lambda tau, z: velocity_in_tau(z[None], np.array([tau]), data, 0.0)[0],
            (0.0, 40.0),
            x0[i],
            method="DOP853",
            rtol=1e-12,
            atol=1e-14,
            dense_output=True,
        )
        ref_end.append(r.y[:, -1])
        ref_09.append(r.sol(np.log(10.0)))
    ref_end, ref_09 = np.array(ref_end), np.array(ref_09)
    for rtol in (1e-8, 1e-9, 1e-10, 1e-11):
        atol = rtol * 1e-2
        t0 = time.perf_counter()
        end = integrate_flow(x0, data, 0.0, rtol=rtol, atol=atol, return_path=False)
        dt = time.perf_counter() - t0
        sol = integrate_flow(x0, data, 0.0, rtol=rtol, atol=atol, t_eval=[0.9])
        dist = np.linalg.norm(end[:, None] - data[None], axis=-1).min(axis=1)
        same = np.all(np.abs(end[:n_ref] - ref_end) < 1e-9, axis=1).mean()
        dev = np.abs(sol.x_eval[0, :n_ref] - ref_09).max()
        print(
            f"per-trajectory exponential DOP853 in tau, rtol {rtol:.0e}: nfev/trajectory median "
            f"{np.median(sol.nfev):.0f} (max {sol.nfev.max()}, incl. the stop at t=0.9), max landing distance "
            f"{dist.max():.1e}, same end point as reference {100 * same:.0f}%, max |x(0.9) - ref| {dev:.1e}, "
            f"{dt:.2f} s for {n_traj}"
        )
    for i in range(min(n_traj, 20)):
        r = solve_ivp(
            lambda tau, z: velocity_in_tau(z[None], np.array([tau]), data, 0.0)[0],
            (0.0, 40.0),
            x0[i],
            method="DOP853",
            rtol=1e-10,
            atol=1e-12,
        )
        nf_tau.append(r.nfev)
        d_tau.append(np.linalg.norm(r.y[:, -1] - data, axis=1).min())
        r = solve_ivp(
            lambda t, z: optimal_velocity(z, t, data), (0.0, 1 - 1e-10), x0[i], method="DOP853", rtol=1e-10, atol=1e-12
        )
        nf_t.append(r.nfev)
        d_t.append(np.linalg.norm(r.y[:, -1] - data, axis=1).min())
    stacked = solve_ivp(
        lambda tau, z: velocity_in_tau(z.reshape(20, 20), np.full(20, tau), data, 0.0).ravel(),
        (0.0, 40.0),
        x0[:20].ravel(),
        method="DOP853",
        rtol=1e-10,
        atol=1e-12,
    )
    ours = integrate_flow(x0[:20], data, 0.0, rtol=1e-10, atol=1e-12, t_eval=[0.9]).nfev
    print(
        f"SciPy DOP853 per trajectory in tau (to tau=40), rtol 1e-10: nfev median {np.median(nf_tau):.0f}, "
        f"max landing distance {max(d_tau):.1e}"
    )
    print(f"SciPy DOP853 stacked (20 trajectories, one step size) in tau: nfev {stacked.nfev}")
    print(
        f"SciPy DOP853 per trajectory in t (to t=1-1e-10), rtol 1e-10: nfev median {np.median(nf_t):.0f}, "
        f"max distance {max(d_t):.1e}"
    )
    print(
        f"ratio nfev (SciPy DOP853 in t) / (ours, rtol 1e-10), medians over 20: {np.median(nf_t) / np.median(ours):.2f}"
    )


PATHS = ("ot", "ot(0.01)", "cosine", "vp", "ve", "alpha=t**2; sigma=1 - t")


def bench_paths(n_traj: int) -> None:
    """Field evaluations per trajectory (both phases) to t = 1 per path, rtol 1e-10, sparse-d20."""
    data = dataset("sparse-d20")
    for spec in PATHS:
        path = as_path(spec)
        x0 = path.sample_source(np.random.default_rng(1), n_traj, data)
        t0 = time.perf_counter()
        sol = integrate_flow(x0, data, path, t_eval=[0.5])
        dt = time.perf_counter() - t0
        land = np.linalg.norm(sol.x_end[:, None] - path.alpha1 * data[None], axis=-1).min(axis=1)
        print(
            f"path {path.label:34s} t_switch {path.t_switch:.3f} tau_end {path.tau_end:5.1f}: nfev/trajectory "
            f"median {np.median(sol.nfev):.0f} (max {sol.nfev.max()}), max distance to alpha_1 x_i "
            f"{land.max():.1e} (sigma_1 = {path.sigma1:.3g}), {dt:.2f} s for {n_traj}"
        )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _timed_torch(fn, device: torch.device, repeat: int = 3) -> float:
    fn()
    _sync(device)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def bench_torch_field(m: int, n: int, d: int, device: torch.device, repeat: int = 3) -> None:
    """The streaming torch field (float64, no autograd) against the two-GEMM bound on ``device``."""
    gen = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(m, d, generator=gen, dtype=torch.float64).to(device)
    data = torch.randn(n, d, generator=gen, dtype=torch.float64).to(device)
    pts = distinct_points(data)
    t = torch.full((m,), 0.7, dtype=torch.float64, device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with torch.no_grad():
        t_field = _timed_torch(lambda: optimal_velocity_torch(x, t, pts), device, repeat)
        a, b = x[:, :d], data[: min(n, 16384)].T.contiguous()
        t_gemm = _timed_torch(lambda: a @ b, device, repeat)
    rate = 2 * m * b.shape[1] * d / t_gemm
    bound = 4 * m * n * d / rate
    mem = f", peak {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB" if device.type == "cuda" else ""
    print(
        f"torch field M={m} N={n} d={d} float64 on {device}: {t_field * 1e3:9.1f} ms; float64 matmul "
        f"{rate / 1e9:8.1f} GFLOP/s -> two-GEMM bound {bound * 1e3:9.1f} ms = {100 * bound / t_field:5.1f}% of it{mem}"
    )


def bench_precision(device: torch.device) -> None:
    """The measured error of the exact field below float64 (refused unless asked for)."""
    import warnings

    data = torch.as_tensor(dataset("sparse-d20"), device=device)
    x = torch.randn(256, 20, generator=torch.Generator().manual_seed(2), dtype=torch.float64).to(device)
    for t in (0.5, 0.99, 1 - 1e-4):
        for dtype in (torch.float32, torch.bfloat16):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                optimal_velocity_torch(x.to(dtype), t, data, allow_reduced_precision=True)
            print(f"field in {dtype} at t={t}: {caught[-1].message}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="skip the M = N = 4096 field sizes")
    p.add_argument("--device", default="cpu", help="device of the torch field (cpu or cuda)")
    args = p.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}")
    bench_paths(200)
    bench_precision(device)
    if device.type == "cuda":
        bench_torch_field(4096, 4096, 256, device)
        bench_torch_field(16384, 65536, 3072, device)
        bench_torch_field(4096, 1_000_000, 3072, device, repeat=1)
        return
    bench_field(512, 512, 256)
    bench_torch_field(512, 512, 256, device)
    if not args.quick:
        bench_field(4096, 4096, 256, naive=False)
        bench_torch_field(4096, 4096, 256, device)
    bench_integration(200)


if __name__ == "__main__":
    main()
