"""Figure of ``merger-goldt/linear-vs-nonlinear``: generated spectra of the MLP and the linear denoiser."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import nonlinear as exp


@figure(
    "merger-goldt/fig-linear-vs-nonlinear",
    "Linear vs MLP denoiser: generated spectra",
    claims=("merger-goldt/linear-vs-nonlinear",),
    slow=True,
)
def fig_linear_vs_nonlinear(run: RunSpec) -> FigureOutput:
    m = exp.linear_vs_nonlinear(run)
    spectra, sz = m.spectra, m.sizes
    fig, axes = plt.subplots(1, len(spectra) + 1, figsize=(14, 4))
    data = {}
    for b, r in enumerate(spectra):
        ax = axes[b]
        idx = np.arange(1, r.f_theory.size + 1)
        ax.semilogy(idx, r.f_theory, "k-", label="linear theory")
        ax.semilogy(idx, r.eig_linear, "C0o", ms=4, label="linear simulation")
        ax.semilogy(idx, r.eig_mlp, "C1x", ms=5, label="MLP")
        ax.set_title(f"N={r.n}, d={sz.d}")
        ax.set_xlabel("mode index")
        angles = r.angles(sz.top, "mlp", "linear")
        axes[-1].plot(np.arange(1, angles.size + 1), np.sort(angles), "o-", label=f"N={r.n}")
        for key, val in (("f_theory", r.f_theory), ("eig_linear", r.eig_linear), ("eig_mlp", r.eig_mlp)):
            data[f"{key}_N{r.n}"] = val
        data[f"angles_top{sz.top}_N{r.n}"] = angles
    axes[0].set_ylabel("generated variance")
    axes[0].legend(fontsize=7)
    axes[-1].set_xlabel("principal angle index")
    axes[-1].set_ylabel(f"degrees (top-{sz.top} eigenvectors, MLP vs linear)")
    axes[-1].legend()
    return FigureOutput(
        fig,
        data,
        sz.as_dict(),
        "merger-goldt/linear-vs-nonlinear: eigenvalues of the generated covariance and principal "
        "angles between leading eigenvectors.",
        seed=m.seeds,
    )
