"""Figures of the learned-model claims of Gao & Li (OSDNet and plain-MLP velocity fields).

- ``gao-li/fig-osdnet-training``: per training checkpoint, the excess loss (subspace and
  off-subspace parts), the mean nearest-training-point distance, the off-subspace ratio
  :math:`\\rho`, the mean generation error :math:`\\|x(1)-x^*(1)\\|` and the mean pathwise bound
  :math:`b(1)`; the training loss history.
- ``gao-li/fig-osdnet-samples``: generated samples projected on the top two principal directions
  of the data at three checkpoints, with the training points; off-subspace norm histograms.
- ``gao-li/fig-osdnet-vs-mlp-off-subspace``: :math:`\\|x_\\perp(t)\\|/\\|x_\\perp(0)\\|` along generated
  paths for OSDNet and a plain MLP, with the same 5-point data subspace embedded in
  :math:`d\\in\\{20,200,2000\\}`.
- ``gao-li/fig-osdnet-bounds``: each bound against its measured value, sample by sample (the
  off-subspace bound and the Grönwall bound).

Trained models and evaluations go through the figure cache, so a rerun only redraws.
"""

from __future__ import annotations

import numpy as np

from figures.registry import FigureContext, FigureOutput, figure
from numerics.cache import DiskCache
from numerics.executor import sweep
from numerics.osdnet import (
    LearnedFieldConfig,
    evaluate_checkpoints,
    generation_error_bound,
    off_subspace_identity,
    off_subspace_norm_path,
    subspace_basis,
    tier_run,
    trained_learned_field,
)

SIGMA_MIN = 0.01
CLAIMS_TRAINING = (
    "gao-li/osdnet-off-subspace-decays-in-training",
    "gao-li/osdnet-generalizes-in-subspace",
    "gao-li/generation-error-bound",
)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _run(ctx: FigureContext) -> LearnedFieldConfig:
    return tier_run(ctx.full, ctx.seed_for(0), data="sparse-d20", sigma_min=SIGMA_MIN)


def _evaluation(ctx: FigureContext, cfg: LearnedFieldConfig) -> dict[str, np.ndarray]:
    """Checkpoint metrics and per-checkpoint bound summaries of the shared run (disk-cached)."""
    n_starts, ode_steps = (1000, 500) if ctx.full else (500, 250)
    b_starts, b_steps = (500, 2000) if ctx.full else (100, 500)
    seed, b_seed = ctx.seed_for(27), ctx.seed_for(28)

    def compute() -> dict[str, np.ndarray]:
        res = trained_learned_field(cfg, ctx.cache)
        ev = evaluate_checkpoints(res, cfg, n_starts, ode_steps, seed)
        data = cfg.points()
        x0b = np.random.default_rng(b_seed).standard_normal((b_starts, data.shape[1]))
        err, bnd = [], []
        for s in ev.steps:
            ctx.progress(f"bound at checkpoint {int(s)}")
            b = generation_error_bound(res.model_at(int(s)), x0b, data, SIGMA_MIN, b_steps)
            err.append(b.error)
            bnd.append(b.bound)
        out = {
            k: getattr(ev, k)
            for k in (
                "steps",
                "rho",
                "off_fraction",
                "nn_distance",
                "distinct_fraction",
                "coverage",
                "excess",
                "excess_inside",
                "excess_off",
                "excess_se",
            )
        }
        out.update(
            median_gap=np.float64(ev.median_gap),
            error=np.array(err),
            bound=np.array(bnd),
            losses=res.losses,
            starts=ev.starts,
            data=data,
        )
        out.update({f"samples_{int(s)}": x for s, x in ev.samples.items()})
        return out

    params = dict(
        config=repr(cfg),
        n_starts=n_starts,
        ode_steps=ode_steps,
        b_starts=b_starts,
        b_steps=b_steps,
        seed=seed,
        b_seed=b_seed,
    )
    return ctx.cache.get_or_compute("gao-li-osdnet-evaluation", params, compute)


def _smooth(y: np.ndarray, w: int) -> np.ndarray:
    w = max(1, min(w, y.size))
    return np.convolve(y, np.ones(w) / w, mode="valid")


@figure(
    "gao-li/fig-osdnet-training",
    "OSDNet training: excess loss, closeness, off-subspace decay, bound",
    claims=CLAIMS_TRAINING,
    slow=True,
)
def fig_osdnet_training(ctx: FigureContext) -> FigureOutput:
    plt = _plt()
    cfg = _run(ctx)
    ev = _evaluation(ctx, cfg)
    steps = ev["steps"]
    x = np.maximum(steps, 1)  # log axis: step 0 drawn at 1
    fig, ax = plt.subplots(1, 4, figsize=(17, 3.8))
    loss = ev["losses"]
    ax[0].plot(
        np.arange(loss.size - min(49, loss.size - 1)) + 1,
        _smooth(loss, 50),
        color="0.5",
        label="training CFM loss (50-step mean)",
    )
    ax[0].errorbar(x, ev["excess"], yerr=4 * ev["excess_se"], marker="o", label="excess E‖vθ−v*‖² (±4 SE)")
    ax[0].plot(x, ev["excess_inside"], "s--", label="subspace part ‖P(vθ−v*)‖²")
    ax[0].plot(x, ev["excess_off"], "^--", label="off-subspace part ‖P⊥(vθ−v*)‖²")
    ax[0].set(xscale="log", yscale="log", xlabel="training step", title="losses")
    ax[0].legend(fontsize=7)
    ax[1].plot(x, ev["rho"], "o-", label="ρ = mean ‖x⊥(1)‖/‖x⊥(0)‖")
    ax[1].plot(x, ev["off_fraction"], "s-", label="mean ‖x⊥(1)‖/‖x(1)‖")
    ax[1].axhline(SIGMA_MIN, color="k", ls=":", label="exact field: σmin")
    ax[1].set(xscale="log", yscale="log", xlabel="training step", title="off-subspace decay")
    ax[1].legend(fontsize=7)
    gap = float(ev["median_gap"])
    ax[2].plot(x, ev["nn_distance"], "o-", label="mean NN distance of samples")
    ax[2].axhline(0.05 * gap, color="r", ls="--", label="0.05 × median data gap")
    ax[2].axhline(SIGMA_MIN * np.sqrt(cfg.points().shape[1]), color="k", ls=":", label="exact field: σmin√d")
    ax2b = ax[2].twinx()
    ax2b.plot(x, ev["distinct_fraction"], "d:", color="tab:green", label="fraction not copies")
    ax2b.set_ylim(0, 1.05)
    ax[2].set(xscale="log", yscale="log", xlabel="training step", title="closeness vs copying")
    ax[2].legend(fontsize=7, loc="lower left")
    ax2b.legend(fontsize=7, loc="upper right")
    ax[3].plot(x, ev["error"].mean(axis=1), "o-", label="mean ‖x(1)−x*(1)‖")
    ax[3].plot(x, ev["bound"].mean(axis=1), "s--", label="mean Grönwall bound b(1)")
    ax[3].set(xscale="log", yscale="log", xlabel="training step", title="generation error and bound")
    ax[3].legend(fontsize=7)
    fig.tight_layout()
    data = {
        k: ev[k]
        for k in (
            "steps",
            "rho",
            "off_fraction",
            "nn_distance",
            "distinct_fraction",
            "excess",
            "excess_inside",
            "excess_off",
            "excess_se",
            "losses",
        )
    }
    data.update(mean_error=ev["error"].mean(axis=1), mean_bound=ev["bound"].mean(axis=1))
    caption = (
        "OSDNet (learned off head) on sparse-d20, σmin = 0.01, conditional flow matching. Per checkpoint: "
        "Monte Carlo excess loss and its subspace/off-subspace parts; off-subspace ratio ρ (claim "
        "gao-li/osdnet-off-subspace-decays-in-training); mean nearest-training-point distance and fraction "
        "of samples that are not copies (gao-li/osdnet-generalizes-in-subspace); mean generation error and "
        "mean pathwise Grönwall bound (gao-li/generation-error-bound). Step 0 is drawn at 1."
    )
    return FigureOutput(fig, data, dict(config=repr(cfg)), caption, seed=ctx.seed_for(27))


@figure(
    "gao-li/fig-osdnet-samples",
    "OSDNet samples in the top two principal directions of the data",
    claims=("gao-li/osdnet-generalizes-in-subspace", "gao-li/osdnet-off-subspace-decays-in-training"),
    slow=True,
)
def fig_osdnet_samples(ctx: FigureContext) -> FigureOutput:
    plt = _plt()
    cfg = _run(ctx)
    ev = _evaluation(ctx, cfg)
    data = ev["data"]
    steps = [250, 1000, int(ev["steps"][-1])]
    _, _, vt = np.linalg.svd(data, full_matrices=False)
    pcs = vt[:2]
    fig, ax = plt.subplots(1, len(steps), figsize=(5 * len(steps), 4.6), sharex=True, sharey=True)
    out: dict[str, np.ndarray] = {"data_2d": data @ pcs.T, "principal_directions": pcs}

    sub = subspace_basis(data)
    for a, s in zip(ax, steps):
        xs = ev[f"samples_{s}"]
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
        "points, at three checkpoints; inset: histogram of the off-subspace norm ‖x⊥(1)‖. Samples gather near "
        "the training points without sitting on them (claims gao-li/osdnet-generalizes-in-subspace, "
        "gao-li/osdnet-off-subspace-decays-in-training)."
    )
    return FigureOutput(fig, out, dict(config=repr(cfg), steps=steps), caption, seed=ctx.seed_for(27))


def train_with_cache(config: LearnedFieldConfig, cache: DiskCache) -> object:
    """Module-level sweep task: the trained run of ``config`` from (or into) the disk cache."""
    return trained_learned_field(config, cache)


@figure(
    "gao-li/fig-osdnet-vs-mlp-off-subspace",
    "Off-subspace norm along generated paths: OSDNet vs plain MLP, d = 20, 200, 2000",
    claims=("gao-li/osdnet-off-subspace-decays-in-training", "gao-li/dimension-independence"),
    slow=True,
)
def fig_osdnet_vs_mlp(ctx: FigureContext) -> FigureOutput:
    plt = _plt()
    dims = (20, 200, 2000)
    n_starts, ode_steps = (256, 500) if ctx.full else (64, 250)
    models = (("osdnet", "learned"), ("osdnet", "isotropic"), ("mlp", "learned"))
    configs = [
        tier_run(
            ctx.full,
            ctx.seed_for(0),
            data=f"embedded-d{d}",
            architecture=arch,
            off_head=head,
            sigma_min=SIGMA_MIN,
            checkpoints=(),
        )
        for d in dims
        for arch, head in models
    ]
    ctx.progress(f"training {len(configs)} models")
    results = sweep(ctx.executor, train_with_cache, [dict(config=c, cache=ctx.cache) for c in configs])
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.4))
    out: dict[str, np.ndarray] = {}
    colors = dict(zip(dims, ("tab:blue", "tab:orange", "tab:green")))
    styles = {"osdnet-learned": "-", "osdnet-isotropic": "-.", "mlp-learned": "--"}
    names = {
        "osdnet-learned": "OSDNet (MLP off head)",
        "osdnet-isotropic": "OSDNet (isotropic off head)",
        "mlp-learned": "plain MLP",
    }
    for cfg, res in zip(configs, results):
        d = int(cfg.data.removeprefix("embedded-d"))
        key = f"{cfg.architecture}-{cfg.off_head}"
        sub = cfg.subspace()
        x0 = np.random.default_rng(ctx.seed_for(31)).standard_normal((n_starts, d))
        ts, norms = off_subspace_norm_path(res.model, x0, sub.basis, ode_steps, 50)
        ratio = norms / norms[0]
        label = f"{names[key]}, d = {d}"
        ax[0].plot(ts, ratio.mean(axis=1), styles[key], color=colors[d], label=label)
        ax[1].plot(ts, norms.mean(axis=1), styles[key], color=colors[d], label=label)
        tag = key.replace("-", "_")
        out[f"{tag}_d{d}_ratio_mean"] = ratio.mean(axis=1)
        out[f"{tag}_d{d}_norm_mean"] = norms.mean(axis=1)
        out[f"{tag}_d{d}_rho_terminal"] = ratio[-1]
    sig = 1.0 - (1.0 - SIGMA_MIN) * ts
    ax[0].plot(ts, sig, "k:", label="exact field: σt")
    out["t"] = ts
    ax[0].set(yscale="log", xlabel="t", ylabel="mean ‖x⊥(t)‖/‖x⊥(0)‖", title="relative off-subspace norm")
    ax[1].set(yscale="log", xlabel="t", ylabel="mean ‖x⊥(t)‖", title="absolute off-subspace norm")
    ax[0].legend(fontsize=6)
    fig.tight_layout()
    caption = (
        "Same 5-point, 5-dimensional data embedded in d = 20, 200, 2000 (spec fact (e)); OSDNet with an MLP "
        "off head g(x, t) (solid), OSDNet with an isotropic off head a(t)·x⊥ (dash-dot) and a plain MLP of "
        "the same width (dashed), all trained by conditional flow matching with the same steps. Mean "
        "off-subspace norm along RK4 paths; dotted: exact-field decay σt. "
        "Measured, not assumed: the terminal ratios are stored in the data file (claims "
        "gao-li/osdnet-off-subspace-decays-in-training, gao-li/dimension-independence)."
    )
    return FigureOutput(
        fig,
        out,
        dict(configs=[repr(c) for c in configs], n_starts=n_starts, ode_steps=ode_steps),
        caption,
        seed=ctx.seed_for(31),
    )


@figure(
    "gao-li/fig-osdnet-bounds",
    "Learned-field bounds against measured values, sample by sample",
    claims=("gao-li/osdnet-off-subspace-identity", "gao-li/generation-error-bound"),
    slow=True,
)
def fig_osdnet_bounds(ctx: FigureContext) -> FigureOutput:
    plt = _plt()
    cfg = _run(ctx)
    n_starts, ode_steps = (500, 2000) if ctx.full else (100, 2000)
    res = trained_learned_field(cfg, ctx.cache)
    data = cfg.points()
    x0 = np.random.default_rng(ctx.seed_for(26)).standard_normal((n_starts, data.shape[1]))

    def compute() -> dict[str, np.ndarray]:
        idt = off_subspace_identity(res.model, x0, data, SIGMA_MIN, ode_steps)
        b = generation_error_bound(res.model, x0, data, SIGMA_MIN, ode_steps)
        return dict(
            off1=np.linalg.norm(idt.off1, axis=1),
            off_bound=SIGMA_MIN * np.linalg.norm(idt.off0, axis=1) + idt.norm_integral,
            error=b.error,
            bound=b.bound,
            log10_global=b.log10_global_bound,
        )

    vals = ctx.cache.get_or_compute(
        "gao-li-osdnet-bounds", dict(config=repr(cfg), n=n_starts, steps=ode_steps, seed=ctx.seed_for(26)), compute
    )
    fig, ax = plt.subplots(1, 2, figsize=(10, 4.4))
    for a, (meas, bnd, name) in zip(
        ax,
        [
            (vals["off1"], vals["off_bound"], "off-subspace: ‖x⊥(1)‖"),
            (vals["error"], vals["bound"], "generation error ‖x(1)−x*(1)‖"),
        ],
    ):
        a.scatter(bnd, meas, s=8, alpha=0.6)
        lo, hi = min(bnd.min(), meas.min()), max(bnd.max(), meas.max())
        a.plot([lo, hi], [lo, hi], "k--", lw=1, label="measured = bound")
        a.set(xscale="log", yscale="log", xlabel="bound", ylabel="measured", title=name)
        a.legend(fontsize=7)
    ax[0].set_xlabel("σmin‖x⊥(0)‖ + ∫σmin/σs‖e⊥‖ds")
    ax[1].set_xlabel(f"pathwise bound b(1)  (global Lipschitz bound: 10^{np.median(vals['log10_global']):.0f})")
    fig.tight_layout()
    caption = (
        f"Final OSDNet checkpoint ({cfg.steps} steps), {n_starts} starts, RK4 {ode_steps} steps: each point is "
        "one sample; every point lies on or below the diagonal (claims gao-li/osdnet-off-subspace-identity, "
        "gao-li/generation-error-bound). The rigorous global version of the Grönwall bound is astronomically "
        "loose; its median log10 is in the axis label."
    )
    return FigureOutput(
        fig, vals, dict(config=repr(cfg), n_starts=n_starts, ode_steps=ode_steps), caption, seed=ctx.seed_for(26)
    )
