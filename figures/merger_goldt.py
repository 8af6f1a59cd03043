"""Figures of the `merger-goldt/` paper (one function per figure).

No figure of the paper is available (spec §4): each figure is a proposed equivalent of a figure
type implied by the abstracts. The fast tier (default) uses fewer seeds / grid points than the
spec; ``ctx.full`` gives the spec sizes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureContext, FigureOutput, figure
from numerics import linear_diffusion as ld
from numerics.executor import sweep

KS4 = (0.0, 0.5, 1.0, 2.0)
K3 = (0.0, 1.0, 2.0)


@figure("merger-goldt/fig-schedule", "Linear beta schedule, T=1000", claims=("merger-goldt/beta-schedule",))
def fig_schedule(ctx: FigureContext) -> FigureOutput:
    sch = ld.beta_schedule(1000)
    t = np.arange(1, sch.T + 1)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogy(t, sch.beta, label=r"$\beta_t$")
    ax.semilogy(t, sch.abar, label=r"$\bar\alpha_t$")
    ax.semilogy(t, sch.one_minus_abar, label=r"$1-\bar\alpha_t$")
    ax.axhline(sch.abar[-1], color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("step t")
    ax.legend()
    ax.set_title(rf"$\bar\alpha_T={sch.abar[-1]:.5g}$")
    return FigureOutput(
        fig,
        {"t": t, "beta": sch.beta, "abar": sch.abar, "one_minus_abar": sch.one_minus_abar},
        {"T": 1000, "beta_min": 1e-4, "beta_max": 1e-2},
        "merger-goldt/beta-schedule: schedule values; alpha_bar_T is not negligible.",
    )


@figure(
    "merger-goldt/fig-train-test-vs-n",
    "Train and test errors vs N/d (d=400)",
    claims=(
        "merger-goldt/test-train-error-formulas",
        "merger-goldt/deterministic-equivalent",
        "merger-goldt/train-test-gap",
    ),
)
def fig_train_test_vs_n(ctx: FigureContext) -> FigureOutput:
    d, steps = 400, (1, 10, 100)
    ratios = np.logspace(-1, 1, 20 if ctx.full else 8)
    seeds = [ctx.seed_for(s) for s in range(5 if ctx.full else 2)]
    sch = ld.beta_schedule(1000)
    ns = np.unique(np.maximum(np.round(ratios * d).astype(int), 2))
    test = np.empty((len(K3), len(ns), len(steps)))
    train = np.empty_like(test)
    de = np.empty_like(test)
    for j, n in enumerate(ns):
        res = sweep(
            ctx.executor,
            ld.test_error_task,
            [{"d": d, "n": int(n), "ks": K3, "seed": sd, "steps": steps, "mean": "known"} for sd in seeds],
        )
        test[:, j] = np.mean([r["test"][:, 0] for r in res], axis=0)
        train[:, j] = np.mean([r["train"][:, 0] for r in res], axis=0)
        for a, k in enumerate(K3):
            for c, t in enumerate(steps):
                de[a, j, c] = ld.deterministic_equivalent_test_error(
                    ld.power_law_spectrum(d, k), int(n), sch.one_minus_abar[t - 1]
                )
    fig, axes = plt.subplots(1, len(steps), figsize=(13, 4))
    for c, t in enumerate(steps):
        ax = axes[c]
        for a, k in enumerate(K3):
            col = f"C{a}"
            ax.loglog(ns / d, test[a, :, c], "o", color=col, ms=4, label=f"test k={k}")
            ax.loglog(ns / d, train[a, :, c], "x", color=col, ms=4, label=f"train k={k}")
            ax.loglog(ns / d, de[a, :, c], "-", color=col, lw=1)
            ax.axhline(
                ld.bayes_error(ld.power_law_spectrum(d, k), sch.one_minus_abar[t - 1]), color=col, ls="--", lw=0.8
            )
        ax.axvline(1.0, color="0.5", lw=0.6)
        ax.set_title(f"t={t}")
        ax.set_xlabel("N/d")
    axes[0].set_ylabel("error per dimension")
    axes[0].legend(fontsize=6)
    return FigureOutput(
        fig,
        {"n_over_d": ns / d, "test": test, "train": train, "det_equiv": de},
        {"d": d, "ks": K3, "steps": steps, "seeds": len(seeds), "mean": "known"},
        "merger-goldt/test-train-error-formulas, deterministic-equivalent, train-test-gap: "
        "markers = simulation, lines = deterministic equivalent, dashed = Bayes error.",
        seed=seeds,
    )


@figure(
    "merger-goldt/fig-kl-vs-n",
    "Excess KL per dimension vs N/d (d=100)",
    claims=("merger-goldt/kl-d-over-4n", "merger-goldt/transition-at-n-equals-d"),
)
def fig_kl_vs_n(ctx: FigureContext) -> FigureOutput:
    d = 100
    ratios = np.array([1.2, 1.5, 2, 3, 5, 10, 20, 50, 100]) if ctx.full else np.array([1.5, 3, 10, 30, 100])
    seeds = [ctx.seed_for(s) for s in range(100, 120 if ctx.full else 105)]
    sch = ld.beta_schedule(1000)
    pop = {
        dr: np.array(
            [ld.population_optimum_kl(ld.power_law_spectrum(d, k), sch, direction=dr, norm="total") for k in KS4]
        )
        for dr in ld.KL_DIRECTIONS
    }
    excess = {dr: np.empty((len(KS4), len(ratios))) for dr in ld.KL_DIRECTIONS}
    for j, r in enumerate(ratios):
        res = sweep(
            ctx.executor,
            ld.kl_task,
            [{"d": d, "n": int(r * d), "ks": KS4, "seed": sd, "sampler_sigmas": ("beta",)} for sd in seeds],
        )
        for dr in ld.KL_DIRECTIONS:
            excess[dr][:, j] = (np.mean([x[f"{dr}_cov"][:, 0] for x in res], axis=0) - pop[dr]) / d
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for a, k in enumerate(KS4):
        ax1.loglog(ratios, excess["forward"][a], "o-", color=f"C{a}", ms=4, label=f"k={k} gen||target")
        ax1.loglog(ratios, excess["reverse"][a], "s--", color=f"C{a}", ms=3, label=f"k={k} target||gen")
        ax2.semilogx(ratios, ratios * excess["forward"][a], "o-", color=f"C{a}", ms=4)
        ax2.semilogx(ratios, ratios * excess["reverse"][a], "s--", color=f"C{a}", ms=3)
    ax1.loglog(ratios, 1 / (4 * ratios), "k-", lw=1.5, label="d/(4N)")
    ax2.axhline(0.25, color="k", lw=1.5)
    ax1.set_xlabel("N/d")
    ax1.set_ylabel("excess KL / d")
    ax2.set_xlabel("N/d")
    ax2.set_ylabel("Q = (N/d) excess KL / d")
    ax1.legend(fontsize=6)
    return FigureOutput(
        fig,
        {"n_over_d": ratios, "excess_forward": excess["forward"], "excess_reverse": excess["reverse"]},
        {"d": d, "ks": KS4, "seeds": len(seeds), "sampler_sigma": "beta"},
        "merger-goldt/kl-d-over-4n: per-dimension excess KL approaches d/(4N) for every spectrum; "
        "the reverse direction converges more slowly.",
        seed=seeds,
    )


@figure("merger-goldt/fig-ridge", "KL and test error vs ridge", claims=("merger-goldt/optimal-ridge",))
def fig_ridge(ctx: FigureContext) -> FigureOutput:
    d = 100
    ridges = np.logspace(-5, 0.5, 24 if ctx.full else 12)
    sch = ld.beta_schedule(1000)
    s1 = sch.one_minus_abar[0]
    kl = np.empty((2, len(K3), len(ridges)))
    err = np.empty_like(kl)
    for b, ratio in enumerate((0.5, 10)):
        n = int(ratio * d)
        for a, k in enumerate(K3):
            kl[b, a] = ld.ridge_kl_task(d, n, k, ctx.seed_for(0), tuple(ridges))
            lam = ld.power_law_spectrum(d, k)
            mu_hat, cov_hat = ld.empirical_moments(ld.white_samples(n, d, ctx.seed_for(0)) * np.sqrt(lam))
            lam_hat, u = ld.eigen_modes(cov_hat)
            err[b, a] = [ld.denoising_error(ld.mode_weights(lam_hat, s1, r), u, lam, s1, -mu_hat) for r in ridges]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for b, ratio in enumerate((0.5, 10)):
        for a, k in enumerate(K3):
            ls = "-" if b == 0 else "--"
            axes[0].loglog(ridges, kl[b, a], ls, color=f"C{a}", label=f"N/d={ratio} k={k}")
            axes[1].loglog(ridges, err[b, a], ls, color=f"C{a}", label=f"N/d={ratio} k={k}")
    axes[0].set_ylabel("KL / d (gen||target)")
    axes[1].set_ylabel("test error, t=1")
    for ax in axes:
        ax.set_xlabel("ridge lambda")
    axes[0].legend(fontsize=6)
    return FigureOutput(
        fig,
        {"ridges": ridges, "kl": kl, "test_t1": err},
        {"d": d, "ks": K3, "n_over_d": (0.5, 10)},
        "merger-goldt/optimal-ridge: an interior ridge minimises the KL for N<d; little gain for N>>d.",
        seed=ctx.seed_for(0),
    )


@figure(
    "merger-goldt/fig-early-stopping", "KL and test error vs training time", claims=("merger-goldt/early-stopping",)
)
def fig_early_stopping(ctx: FigureContext) -> FigureOutput:
    d, k = 100, 1.0
    taus = tuple(np.logspace(-2, 7, 37 if ctx.full else 19).tolist())
    sch = ld.beta_schedule(1000)
    out = {}
    for ratio in (0.5, 10):
        n = int(ratio * d)
        res = ld.early_stopping_task(d, n, k, ctx.seed_for(0), taus)
        lam = ld.power_law_spectrum(d, k)
        mu_hat, cov_hat = ld.empirical_moments(ld.white_samples(n, d, ctx.seed_for(0)) * np.sqrt(lam))
        lam_hat, u = ld.eigen_modes(cov_hat)
        s10 = sch.one_minus_abar[9]
        tau = np.asarray(taus)[:, None]
        res["test_t10"] = ld.denoising_error(
            ld.mode_weights(np.broadcast_to(lam_hat, (len(taus), d)), s10, train_time=tau), u[None], lam, s10, -mu_hat
        )
        out[ratio] = res
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for b, ratio in enumerate((0.5, 10)):
        axes[0].loglog(taus, out[ratio]["kl"], color=f"C{b}", label=f"N/d={ratio}")
        axes[1].loglog(taus, out[ratio]["test_t1"], color=f"C{b}", label=f"N/d={ratio}, t=1")
        axes[1].loglog(taus, out[ratio]["test_t10"], "--", color=f"C{b}", label=f"N/d={ratio}, t=10")
    axes[0].set_ylabel("KL / d (gen||target)")
    axes[1].set_ylabel("test error")
    for ax in axes:
        ax.set_xlabel(r"$\eta\tau$")
        ax.legend(fontsize=7)
    data = {"taus": np.asarray(taus)}
    for ratio in (0.5, 10):
        for key, val in out[ratio].items():
            data[f"{key}_n_over_d_{ratio}"] = val
    return FigureOutput(
        fig,
        data,
        {"d": d, "k": k, "eta": 1.0},
        "merger-goldt/early-stopping: interior optimal training time for N<d.",
        seed=ctx.seed_for(0),
    )


@figure(
    "merger-goldt/fig-generated-spectrum",
    "Generated vs empirical vs true spectrum",
    claims=("merger-goldt/null-mode-variance", "merger-goldt/sampler-gaussian-recursion"),
)
def fig_generated_spectrum(ctx: FigureContext) -> FigureOutput:
    d, k = 100, 1.0
    sch = ld.beta_schedule(1000)
    lam = ld.power_law_spectrum(d, k)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    data = {"true": lam}
    for b, ratio in enumerate((0.5, 2)):
        n = int(ratio * d)
        _, cov_hat = ld.empirical_moments(ld.white_samples(n, d, ctx.seed_for(0)) * np.sqrt(lam))
        lam_hat, _ = ld.eigen_modes(cov_hat)
        ax = axes[b]
        idx = np.arange(1, d + 1)
        ax.semilogy(idx, lam, "k-", label="true")
        ax.semilogy(idx, np.where(lam_hat > 0, lam_hat, np.nan), "C0o", ms=3, label="empirical")
        for c, sig in enumerate(ld.SAMPLER_SIGMAS):
            f = ld.mode_recursion(lam_hat, sch, sampler_sigma=sig).f
            ax.semilogy(idx, np.where(f > 0, f, np.nan), f"C{c + 1}x", ms=4, label=f"generated, sigma^2={sig}")
            data[f"f_{sig}_n_over_d_{ratio}"] = f
        data[f"empirical_n_over_d_{ratio}"] = lam_hat
        ax.axhline(sch.beta[0], color="0.5", ls=":", label=r"null floor $\sigma_1^2=\beta_1$")
        ax.set_title(f"N/d={ratio}")
        ax.set_xlabel("mode index")
    axes[0].set_ylabel("variance")
    axes[0].legend(fontsize=7)
    return FigureOutput(
        fig,
        data,
        {"d": d, "k": k},
        "merger-goldt/null-mode-variance: unseen directions get variance sigma_1^2 (beta_1) or 0 "
        "(beta_tilde; not drawn on the log scale).",
        seed=ctx.seed_for(0),
    )


@figure(
    "merger-goldt/fig-linear-vs-nonlinear",
    "Linear vs MLP denoiser: generated spectra",
    claims=("merger-goldt/linear-vs-nonlinear",),
    slow=True,
)
def fig_linear_vs_nonlinear(ctx: FigureContext) -> FigureOutput:
    from numerics import linear_diffusion_torch as lt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    data = {}
    for b, n in enumerate((10, 80)):
        r = lt.linear_vs_nonlinear_run(n, ctx.seed_for(67), ctx.full, cache=ctx.cache)
        ax = axes[b]
        idx = np.arange(1, r["f_theory"].size + 1)
        ax.semilogy(idx, r["f_theory"], "k-", label="linear theory")
        ax.semilogy(idx, r["eig_linear"], "C0o", ms=4, label="linear simulation")
        ax.semilogy(idx, r["eig_mlp"], "C1x", ms=5, label="MLP")
        ax.set_title(f"N={n}, d=20")
        ax.set_xlabel("mode index")
        axes[2].plot(np.arange(1, 6), np.sort(r["angles_top5"]), "o-", label=f"N={n}")
        for key in ("f_theory", "eig_linear", "eig_mlp", "angles_top5"):
            data[f"{key}_N{n}"] = r[key]
    axes[0].set_ylabel("generated variance")
    axes[0].legend(fontsize=7)
    axes[2].set_xlabel("principal angle index")
    axes[2].set_ylabel("degrees (top-5 eigenvectors, linear vs MLP)")
    axes[2].legend()
    return FigureOutput(
        fig,
        data,
        {"d": 20, "k": 1.0, "full": ctx.full},
        "merger-goldt/linear-vs-nonlinear: eigenvalues of the generated covariance and principal "
        "angles between leading eigenvectors.",
        seed=ctx.seed_for(67),
    )


@figure(
    "merger-goldt/fig-hierarchy",
    "Effect of spectral decay at N/d=0.5",
    claims=("merger-goldt/hierarchy-reduces-overfitting",),
)
def fig_hierarchy(ctx: FigureContext) -> FigureOutput:
    ks = (0.0, 0.5, 1.0, 1.5, 2.0)
    seeds = [ctx.seed_for(s) for s in range(10 if ctx.full else 4)]
    kl = np.mean(
        sweep(ctx.executor, ld.hierarchy_kl_task, [{"d": 100, "n": 50, "ks": ks, "seed": sd} for sd in seeds]), axis=0
    )
    res = sweep(
        ctx.executor,
        ld.test_error_task,
        [{"d": 400, "n": 200, "ks": ks, "seed": sd, "steps": (1,)} for sd in seeds[:3]],
    )
    err = np.mean([r["test"][:, 0, 0] for r in res], axis=0)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(ks, kl, "o-")
    ax1.set_xlabel("k")
    ax1.set_ylabel("KL / d (d=100, N=50)")
    ax2.semilogy(ks, err, "o-")
    ax2.set_xlabel("k")
    ax2.set_ylabel("test error, t=1 (d=400, N=200)")
    return FigureOutput(
        fig,
        {"ks": np.array(ks), "kl": kl, "test_t1": err},
        {"seeds": len(seeds)},
        "merger-goldt/hierarchy-reduces-overfitting: faster decay lowers KL and test error at N<d.",
        seed=seeds,
    )
