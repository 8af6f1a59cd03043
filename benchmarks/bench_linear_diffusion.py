"""KL sweep timing: closed forms (per-mode recursion) vs the Monte Carlo sampler at equal accuracy.

Sweep: 20 values of N/d x 4 spectra x 20 seeds at d=100, T=1000 (sigma^2 = beta). The closed-form
sweep is timed in full through ``numerics.executor.sweep`` (``--workers``). The Monte Carlo
sampler needs M ~ 100 N samples per training set for its plug-in KL bias d(d+1)/(4M) to stay
at 1% of the excess KL d^2/(4N); it is timed on one training set and extrapolated.
Usage: python benchmarks/bench_linear_diffusion.py [--workers 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from numerics import linear_diffusion as ld
from numerics.executor import make_executor, sweep
from numerics.experiments.merger_goldt import empirical_modes_task, generated_law


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mc-samples", type=int, default=20_000)
    args = parser.parse_args()
    d, ks = 100, (0.0, 0.5, 1.0, 2.0)
    ratios = np.logspace(np.log10(1.2), 1, 20)
    # One task per N (20 seeds each); the recursion and the KL run vectorised over seeds and spectra.
    tasks = [{"d": d, "n": round(float(r) * d), "ks": ks, "seeds": list(range(20))} for r in ratios]
    ex = make_executor(args.workers)
    t0 = time.perf_counter()
    for modes in sweep(ex, empirical_modes_task, tasks):
        generated_law(modes).kl(norm="total")
    closed = time.perf_counter() - t0
    ex.shutdown()
    sch = ld.beta_schedule(1000)
    lam = ld.power_law_spectrum(d, 1.0)
    mu, cov = ld.empirical_moments(ld.white_samples(1000, d, 0) * np.sqrt(lam))
    t0 = time.perf_counter()
    ld.ddpm_sample(ld.linear_eps_fn(mu, cov, sch), sch, args.mc_samples, d, 1)
    per_sample = (time.perf_counter() - t0) / args.mc_samples
    mc_total = sum(per_sample * 100 * t["n"] * len(ks) * len(t["seeds"]) for t in tasks)
    pairs = sum(len(t["seeds"]) for t in tasks) * len(ks)
    print(f"closed-form sweep ({pairs} training-set/spectrum pairs): {closed:.1f} s")
    print(f"Monte Carlo sampler at equal accuracy (extrapolated, M=100N): {mc_total:.0f} s")
    print(f"ratio MC / closed form: {mc_total / closed:.0f}")


if __name__ == "__main__":
    main()
