r"""Figures of claims ``gao-li/osdnet-off-subspace-decays-in-training`` and ``gao-li/osdnet-generalizes-in-subspace``: OSDNet samples per training checkpoint."""

from __future__ import annotations

import numpy as np

from figures.gao_li._shared import CLAIMS_TRAINING, pyplot, smooth, trend_data
from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.gao_li import SEED_TREND, SIGMA_MIN, run_config, trained_run
from numerics.experiments.gao_li.generation_error_bound import checkpoint_bounds
from numerics.experiments.gao_li.osdnet_checkpoint_trend import (
    DECAY,
    GENERALIZES,
    checkpoint_trend,
)
from numerics.subspace import proper_subspace


@figure(
    "gao-li/fig-osdnet-training",
    "OSDNet training: excess loss, closeness, off-subspace decay, bound",
    claims=CLAIMS_TRAINING,
    slow=True,
)
def fig_osdnet_training(run: RunSpec) -> FigureOutput:
    plt = pyplot()
    trend = checkpoint_trend(run, DECAY)
    bounds = checkpoint_bounds(run)
    cfg = run_config(run, run.sizes(DECAY).train)
    loss = trained_run(run, cfg).losses
    x = np.maximum(trend.steps, 1)  # log axis: step 0 drawn at 1
    ex = trend.excess
    fig, ax = plt.subplots(1, 4, figsize=(17, 3.8))
    ax[0].plot(
        np.arange(loss.size - min(49, loss.size - 1)) + 1,
        smooth(loss, 50),
        color="0.5",
        label="training CFM loss (50-step mean)",
    )
    ax[0].errorbar(x, ex.total, yerr=4 * ex.se, marker="o", label="excess E‖vθ−v*‖² (±4 SE)")
    ax[0].plot(x, ex.inside, "s--", label="subspace part ‖P(vθ−v*)‖²")
    ax[0].plot(x, ex.off, "^--", label="off-subspace part ‖P⊥(vθ−v*)‖²")
    ax[0].set(xscale="log", yscale="log", xlabel="training step", title="losses")
    ax[0].legend(fontsize=7)
    ax[1].plot(x, trend.rho, "o-", label="ρ = mean ‖x⊥(1)‖/‖x⊥(0)‖")
    ax[1].plot(x, trend.off_fraction, "s-", label="mean ‖x⊥(1)‖/‖x(1)‖")
    ax[1].axhline(SIGMA_MIN, color="k", ls=":", label="exact field: σmin")
    ax[1].set(xscale="log", yscale="log", xlabel="training step", title="off-subspace decay")
    ax[1].legend(fontsize=7)
    ax[2].plot(x, trend.nn_distance, "o-", label="mean NN distance of samples")
    ax[2].axhline(0.05 * trend.median_gap, color="r", ls="--", label="0.05 × median data gap")
    ax[2].axhline(SIGMA_MIN * np.sqrt(cfg.points().shape[1]), color="k", ls=":", label="exact field: σmin√d")
    ax2b = ax[2].twinx()
    ax2b.plot(x, trend.distinct_fraction, "d:", color="tab:green", label="fraction not copies")
    ax2b.set_ylim(0, 1.05)
    ax[2].set(xscale="log", yscale="log", xlabel="training step", title="closeness vs copying")
    ax[2].legend(fontsize=7, loc="lower left")
    ax2b.legend(fontsize=7, loc="upper right")
    ax[3].plot(x, bounds.error.mean(axis=1), "o-", label="mean ‖x(1)−x*(1)‖")
    ax[3].plot(x, bounds.bound.mean(axis=1), "s--", label="mean Grönwall bound b(1)")
    ax[3].set(xscale="log", yscale="log", xlabel="training step", title="generation error and bound")
    ax[3].legend(fontsize=7)
    fig.tight_layout()
    data = trend_data(trend)
    data.update(losses=loss, mean_error=bounds.error.mean(axis=1), mean_bound=bounds.bound.mean(axis=1))
    caption = (
        "OSDNet (learned off head) on sparse-d20, σmin = 0.01, conditional flow matching. Per checkpoint: "
        "Monte Carlo excess loss and its subspace/off-subspace parts; off-subspace ratio ρ (claim "
        "gao-li/osdnet-off-subspace-decays-in-training); mean nearest-training-point distance and fraction "
        "of samples that are not copies (gao-li/osdnet-generalizes-in-subspace); mean generation error and "
        "mean pathwise Grönwall bound (gao-li/generation-error-bound). Step 0 is drawn at 1."
    )
    return FigureOutput(fig, data, dict(config=repr(cfg)), caption, seed=run.seed_for(SEED_TREND))


@figure(
    "gao-li/fig-osdnet-samples",
    "OSDNet samples in the top two principal directions of the data",
    claims=("gao-li/osdnet-generalizes-in-subspace", "gao-li/osdnet-off-subspace-decays-in-training"),
    slow=True,
)
def fig_osdnet_samples(run: RunSpec) -> FigureOutput:
    plt = pyplot()
    trend = checkpoint_trend(run, GENERALIZES)
    cfg = run_config(run, run.sizes(GENERALIZES).train)
    data = cfg.points()
    steps = [250, 1000, int(trend.steps[-1])]
    _, _, vt = np.linalg.svd(data, full_matrices=False)
    pcs = vt[:2]
    fig, ax = plt.subplots(1, len(steps), figsize=(5 * len(steps), 4.6), sharex=True, sharey=True)
    out: dict[str, np.ndarray] = {"data_2d": data @ pcs.T, "principal_directions": pcs}
    sub = proper_subspace(data)
    for a, s in zip(ax, steps):
        xs = trend.samples[trend.index(s)]
        p = xs @ pcs.T
        a.scatter(p[:, 0], p[:, 1], s=4, alpha=0.4, label=f"samples ({xs.shape[0]})")
        a.scatter(*(data @ pcs.T).T, marker="*", s=160, color="r", edgecolor="k", label="training points")
        a.set(title=f"step {s}", xlabel="PC 1", ylabel="PC 2")
        a.legend(fontsize=7, loc="upper left")
        off = np.linalg.norm(sub.off(xs), axis=1)
        ins = a.inset_axes([0.62, 0.05, 0.35, 0.28])
        ins.hist(off, bins=30, color="tab:orange")
        ins.set_title("‖x⊥(1)‖", fontsize=7)
        ins.tick_params(labelsize=6)
        out[f"samples_2d_{s}"] = p
        out[f"off_norm_{s}"] = off
    fig.tight_layout()
    caption = (
        "OSDNet samples (sparse-d20, σmin = 0.01) projected on the top two principal directions of the training "
        "points, at three checkpoints; inset: histogram of the off-subspace norm ‖x⊥(1)‖ (claims "
        "gao-li/osdnet-generalizes-in-subspace, gao-li/osdnet-off-subspace-decays-in-training). The mean "
        "nearest-point distance at each step is in the claim's verdict."
    )
    return FigureOutput(fig, out, dict(config=repr(cfg), steps=steps), caption, seed=run.seed_for(SEED_TREND))
