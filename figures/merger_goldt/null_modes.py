"""Figure of the generated spectrum (spec ``merger_goldt.md`` §4 figure 6)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import null_modes as exp


@figure(
    "merger-goldt/fig-generated-spectrum",
    "Generated vs empirical vs true spectrum",
    claims=("merger-goldt/null-mode-variance", "merger-goldt/sampler-gaussian-recursion"),
)
def fig_generated_spectrum(run: RunSpec) -> FigureOutput:
    m = exp.generated_spectra(run)
    fig, axes = plt.subplots(1, len(m.ratios), figsize=(10, 4), sharey=True)
    idx = np.arange(1, m.lam.size + 1)
    data = {"true": m.lam}
    for b, ratio in enumerate(m.ratios):
        ax = axes[b]
        ax.semilogy(idx, m.lam, "k-", label="true")
        ax.semilogy(idx, np.where(m.lam_hat[b] > 0, m.lam_hat[b], np.nan), "C0o", ms=3, label="empirical")
        for c, sig in enumerate(ld.SAMPLER_SIGMAS):
            f = m.f[b, c]
            ax.semilogy(idx, np.where(f > 0, f, np.nan), f"C{c + 1}x", ms=4, label=f"generated, sigma^2={sig}")
            data[f"f_{sig}_n_over_d_{ratio}"] = f
        data[f"empirical_n_over_d_{ratio}"] = m.lam_hat[b]
        ax.axhline(ld.beta_schedule(1000).beta[0], color="0.5", ls=":", label=r"null floor $\sigma_1^2=\beta_1$")
        ax.set_title(f"N/d={ratio}")
        ax.set_xlabel("mode index")
    axes[0].set_ylabel("variance")
    axes[0].legend(fontsize=7)
    return FigureOutput(
        fig,
        data,
        run.sizes(exp.FIG_SPECTRUM).as_dict(),
        "merger-goldt/null-mode-variance: unseen directions get variance sigma_1^2 (beta_1) or 0 "
        "(beta_tilde; not drawn on the log scale).",
        seed=run.seed_for(0),
    )
