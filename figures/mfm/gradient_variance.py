"""Figure of ``mfm/gradient-variance-reduction``."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from figures.mfm._style import COLORS, COUPLING_LABELS, TWO, mean_se
from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.mfm import gradient_variance as exp


@figure(
    "mfm/fig-gradient-variance",
    "Trace of the minibatch-gradient covariance against training step, CondOT vs BatchOT",
    claims=("mfm/gradient-variance-reduction",),
    slow=True,
)
def fig_gradient_variance(run: RunSpec) -> FigureOutput:
    m = exp.gradient_variances(run, TWO)
    sz = run.sizes(exp.GRADIENT_VARIANCE)
    steps = np.array(m.steps)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    data: dict[str, Any] = {"steps": steps, "judged_steps": np.array(m.judged)}
    for name, tr in m.trace.items():
        data[f"{name}_trcov"] = tr
        mean, se = mean_se(tr)
        ax.errorbar(steps, mean, yerr=se, fmt="o-", color=COLORS[name], label=COUPLING_LABELS[name])
    for s in m.judged:
        ax.axvline(s, color="0.7", lw=0.8, ls=":", zorder=0)
    ax.set_yscale("log")
    ax.set_xlabel("training step (dotted: the claim's checkpoints)")
    ax.set_ylabel(r"tr Cov of the minibatch gradient")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    caption = (
        f"Trace of the covariance of the full-minibatch gradient over {sz.grad_batches} fresh minibatches "
        f"(seed 53) of each run's own coupling, at checkpoints every 10% of training, mean ± SE over {sz.train.seeds} "
        "seeds: the measurement mfm/gradient-variance-reduction judges, at the dotted checkpoints past half-way "
        "(the others are reported)."
    )
    return FigureOutput(fig, data, {**sz.as_dict(), "steps": list(m.steps)}, caption, seed=dict(m.seeds))
