"""Figure of ``merger-goldt/beta-schedule`` (spec ``merger_goldt.md`` §4): the schedule values it judges."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import schedule as exp


@figure("merger-goldt/fig-schedule", "Linear beta schedule, T=1000", claims=("merger-goldt/beta-schedule",))
def fig_schedule(run: RunSpec) -> FigureOutput:
    m = exp.schedule_values(run)
    sch = m.schedule
    t = np.arange(1, sch.T + 1)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogy(t, sch.beta, label=r"$\beta_t$")
    ax.semilogy(t, sch.abar, label=r"$\bar\alpha_t$")
    ax.semilogy(t, sch.one_minus_abar, label=r"$1-\bar\alpha_t$")
    ax.axhline(m.abar_T, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("step t")
    ax.legend()
    ax.set_title(rf"$\bar\alpha_T={m.abar_T:.5g}$ (mpmath: {m.abar_T_mp:.5g})")
    return FigureOutput(
        fig,
        {"t": t, "beta": sch.beta, "abar": sch.abar, "one_minus_abar": sch.one_minus_abar},
        {**m.sizes.as_dict(), **m.settings},
        "merger-goldt/beta-schedule: schedule values; alpha_bar_T is not negligible.",
    )
