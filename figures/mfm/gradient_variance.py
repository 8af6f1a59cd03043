"""Figure of ``mfm/gradient-variance-reduction``."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from figures.mfm._style import ALL, COLORS, COUPLING_LABELS, mean_se
from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.mfm import gradient_variance as exp


@figure(
    "mfm/fig-gradient-variance",
    "Trace of the minibatch-gradient covariance against training step for the four couplings",
    claims=("mfm/gradient-variance-reduction", "mfm/variance-proxy-ordering"),
    slow=True,
)
def fig_gradient_variance(run: RunSpec) -> FigureOutput:
    sz = run.sizes(exp.GRADIENT_VARIANCE)
    fractions = tuple(np.round(np.linspace(0.0, 1.0, 11), 2).tolist())
    m = exp.gradient_variances(run, sz.train, ALL, sz.grad_batches, fractions)
    steps = np.array(m.steps)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    data: dict[str, Any] = {"steps": steps}
    for name, tr in m.trace.items():
        data[f"{name}_trcov"] = tr
        mean, se = mean_se(tr)
        ax.errorbar(steps, mean, yerr=se, fmt="o-", color=COLORS[name], label=COUPLING_LABELS[name])
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(r"tr Cov of the minibatch gradient")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    caption = (
        f"Trace of the covariance of the full-minibatch gradient over {sz.grad_batches} fresh minibatches "
        f"(seed 53) of each run's own coupling, at checkpoints every 10% of training, mean ± SE over {sz.train.seeds} "
        "seeds (claim mfm/gradient-variance-reduction)."
    )
    return FigureOutput(fig, data, {**sz.as_dict(), "fractions": list(fractions)}, caption, seed=run.seed_for(53))
