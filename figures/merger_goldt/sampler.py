"""Figure of ``merger-goldt/sampler-gaussian-recursion`` (spec ``merger_goldt.md`` §4 figure 6): generated spectra."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import sampler as exp


@figure(
    "merger-goldt/fig-generated-spectrum",
    "Generated vs empirical spectrum: dense sampler and per-mode recursion",
    claims=("merger-goldt/sampler-gaussian-recursion",),
)
def fig_generated_spectrum(run: RunSpec) -> FigureOutput:
    m = exp.sampler_recursion(run)
    # The variants with noise at the last step and u_T ~ N(0, I), one per sampler sigma.
    shown = [(v, sig) for v, (sig, final_noise, start) in enumerate(m.variants) if final_noise and start == "zero"]
    fig, axes = plt.subplots(1, len(m.training_sets), figsize=(4.5 * len(m.training_sets), 4), sharey=True)
    idx = np.arange(1, m.lam_hat.shape[-1] + 1)
    data: dict[str, np.ndarray] = {}
    for j, (n, k) in enumerate(m.training_sets):
        ax = axes[j]
        ax.semilogy(idx, np.where(m.lam_hat[j] > 0, m.lam_hat[j], np.nan), "ko", ms=4, label="empirical")
        data[f"empirical_N{n}_k{k}"] = m.lam_hat[j]
        for c, (v, sig) in enumerate(shown):
            f = m.f[j, v]
            sampled = np.diagonal(m.moments.cov[j, v])
            ax.semilogy(idx, np.where(f > 0, f, np.nan), "-", color=f"C{c}", label=f"recursion, sigma^2={sig}")
            ax.semilogy(
                idx, np.where(sampled > 0, sampled, np.nan), "x", color=f"C{c}", ms=5, label=f"sampler, sigma^2={sig}"
            )
            data[f"f_{sig}_N{n}_k{k}"] = f
            data[f"sampled_{sig}_N{n}_k{k}"] = sampled
        ax.set_title(f"N={n}, k={k}, d={m.lam_hat.shape[-1]}")
        ax.set_xlabel("mode index (eigenbasis of the empirical covariance)")
    axes[0].set_ylabel("variance")
    axes[0].legend(fontsize=7)
    return FigureOutput(
        fig,
        data,
        m.sizes.as_dict(),
        "merger-goldt/sampler-gaussian-recursion: variances of the dense sampler's samples (x) against the "
        "per-mode recursion (lines); unseen directions keep sigma_1^2 = beta_1, or 0 for beta_tilde (not drawn; the "
        "sampler's float64 residue there is drawn as measured).",
        seed=m.seeds,
    )
