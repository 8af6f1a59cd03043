"""Figures of the ``merger-goldt/`` paper (spec ``merger_goldt.md`` §4), one function per figure.

No figure of the paper is available: each is a proposed equivalent of a figure type implied by
the abstracts. Each plots the measurement objects of :mod:`numerics.experiments.merger_goldt`
that the checks judge (same run, same memo and disk cache), plus figure-only sweeps from the same
module; ``run.full`` gives the spec's sizes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures.registry import FigureOutput, figure
from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments import merger_goldt as exp


@figure("merger-goldt/fig-schedule", "Linear beta schedule, T=1000", claims=("merger-goldt/beta-schedule",))
def fig_schedule(run: RunSpec) -> FigureOutput:
    m = exp.schedule_values(run)
    sch = ld.beta_schedule(m.beta.size)
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
        {"T": sch.T, "beta_min": 1e-4, "beta_max": 1e-2},
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
def fig_train_test_vs_n(run: RunSpec) -> FigureOutput:
    m = exp.error_curves(run)
    x = m.ns / m.d
    fig, axes = plt.subplots(1, len(m.steps), figsize=(13, 4))
    for c, t in enumerate(m.steps):
        ax = axes[c]
        for a, k in enumerate(m.ks):
            col = f"C{a}"
            ax.loglog(x, m.test[a, :, c], "o", color=col, ms=4, label=f"test k={k}")
            ax.loglog(x, m.train[a, :, c], "x", color=col, ms=4, label=f"train k={k}")
            ax.loglog(x, m.det_equiv[a, :, c], "-", color=col, lw=1)
            ax.axhline(m.bayes[a, c], color=col, ls="--", lw=0.8)
        ax.axvline(1.0, color="0.5", lw=0.6)
        ax.set_title(f"t={t}")
        ax.set_xlabel("N/d")
    axes[0].set_ylabel("error per dimension")
    axes[0].legend(fontsize=6)
    sz = run.sizes(exp.FIG_TRAIN_TEST)
    seeds = exp.seed_list(run, range(sz.seeds))
    return FigureOutput(
        fig,
        {"n_over_d": x, "test": m.test, "train": m.train, "det_equiv": m.det_equiv, "bayes": m.bayes},
        {**sz.as_dict(), "mean": "known"},
        "merger-goldt/test-train-error-formulas, deterministic-equivalent, train-test-gap: "
        "markers = simulation, lines = deterministic equivalent, dashed = Bayes error.",
        seed=seeds,
    )


@figure(
    "merger-goldt/fig-kl-vs-n",
    "Excess KL per dimension vs N/d (d=100)",
    claims=("merger-goldt/kl-d-over-4n", "merger-goldt/transition-at-n-equals-d"),
)
def fig_kl_vs_n(run: RunSpec) -> FigureOutput:
    m = exp.kl_law(run)
    ratios = np.asarray(m.ns) / m.d
    beta = ld.SAMPLER_SIGMAS.index("beta")
    q = m.q("cov")[..., beta].mean(1)  # (N, direction, k)
    excess = q / ratios[:, None, None]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for a, k in enumerate(m.ks):
        for i, (marker, label) in enumerate((("o-", "gen||target"), ("s--", "target||gen"))):
            ax1.loglog(ratios, excess[:, i, a], marker, color=f"C{a}", ms=4, label=f"k={k} {label}")
            ax2.semilogx(ratios, q[:, i, a], marker, color=f"C{a}", ms=4)
    ax1.loglog(ratios, 1 / (4 * ratios), "k-", lw=1.5, label="d/(4N)")
    ax2.axhline(0.25, color="k", lw=1.5)
    ax1.set_xlabel("N/d")
    ax1.set_ylabel("excess KL / d")
    ax2.set_xlabel("N/d")
    ax2.set_ylabel("Q = (N/d) excess KL / d")
    ax1.legend(fontsize=6)
    sz = run.sizes(exp.KL_LAW)
    return FigureOutput(
        fig,
        {"n_over_d": ratios, "excess_forward": excess[:, 0], "excess_reverse": excess[:, 1], "q": q},
        {"d": m.d, "ks": m.ks, "ns": m.ns, "seeds": sz.seeds, "sampler_sigma": "beta"},
        "merger-goldt/kl-d-over-4n: per-dimension excess KL approaches d/(4N) for every spectrum; "
        "the reverse direction converges more slowly.",
        seed=exp.seed_list(run, range(100, 100 + sz.seeds)),
    )


def _regularisation_figure(m: exp.Regularisation, xlabel: str) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    grid = np.asarray(m.grid)
    x = np.where(grid > 0, grid, np.nan)  # log axes: lambda = 0 is not drawn
    for b, n in enumerate(m.ns):
        ls = "-" if b == 0 else "--"
        for a, k in enumerate(m.ks):
            axes[0].loglog(x, m.kl[b, a], ls, color=f"C{a}", label=f"N={n} k={k}")
            axes[1].loglog(x, m.test_t1[b, a], ls, color=f"C{a}", label=f"N={n} k={k}, t=1")
    axes[0].set_ylabel("KL / d (gen||target)")
    axes[1].set_ylabel("test error, t=1")
    for ax in axes:
        ax.set_xlabel(xlabel)
    axes[0].legend(fontsize=6)
    return fig


@figure("merger-goldt/fig-ridge", "KL and test error vs ridge", claims=("merger-goldt/optimal-ridge",))
def fig_ridge(run: RunSpec) -> FigureOutput:
    m = exp.optimal_ridge(run)
    fig = _regularisation_figure(m, "ridge lambda (lambda = 0 not drawn)")
    return FigureOutput(
        fig,
        {"ridges": np.asarray(m.grid), "kl": m.kl, "test_t1": m.test_t1},
        {"ns": m.ns, "ks": m.ks},
        "merger-goldt/optimal-ridge: an interior ridge minimises the KL for N<d; little gain for N>>d.",
        seed=run.seed_for(0),
    )


@figure(
    "merger-goldt/fig-early-stopping", "KL and test error vs training time", claims=("merger-goldt/early-stopping",)
)
def fig_early_stopping(run: RunSpec) -> FigureOutput:
    m = exp.early_stopping(run)
    fig = _regularisation_figure(m, r"$\eta\tau$")
    for b, n in enumerate(m.ns):
        for a, k in enumerate(m.ks):
            fig.axes[1].loglog(m.grid, m.test_t10[b, a], ":", color=f"C{a}", label=f"N={n} k={k}, t=10")
    return FigureOutput(
        fig,
        {"taus": np.asarray(m.grid), "kl": m.kl, "test_t1": m.test_t1, "test_t10": m.test_t10},
        {"ns": m.ns, "ks": m.ks, "eta": 1.0},
        "merger-goldt/early-stopping: interior optimal training time for N<d (dotted: test error at t=10).",
        seed=run.seed_for(0),
    )


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


@figure(
    "merger-goldt/fig-linear-vs-nonlinear",
    "Linear vs MLP denoiser: generated spectra",
    claims=("merger-goldt/linear-vs-nonlinear",),
    slow=True,
)
def fig_linear_vs_nonlinear(run: RunSpec) -> FigureOutput:
    spectra = exp.linear_vs_nonlinear(run)
    sz = run.sizes(exp.LINEAR_VS_NONLINEAR)
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
        seed=run.seed_for(67),
    )


@figure(
    "merger-goldt/fig-hierarchy",
    "Effect of spectral decay at N/d=0.5",
    claims=("merger-goldt/hierarchy-reduces-overfitting",),
)
def fig_hierarchy(run: RunSpec) -> FigureOutput:
    m = exp.hierarchy(run)
    sz = run.sizes(exp.HIERARCHY)
    kl, se = exp.mean_and_se(m.kl)
    err = m.test[:, :, 0].mean(0)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.errorbar(m.ks, kl, yerr=se, fmt="o-", label="measured (10 seeds)")
    ax1.plot(m.ks, exp.HIERARCHY_KL_REFERENCE, "k+", ms=10, label="spec reference")
    ax1.set_xlabel("k")
    ax1.set_ylabel(f"KL / d (d={sz.kl_d}, N={sz.kl_n})")
    ax1.legend()
    ax2.semilogy(m.ks, err, "o-")
    ax2.set_xlabel("k")
    ax2.set_ylabel(f"test error, t={m.steps[0]} (d={sz.test_d}, N={sz.test_n})")
    return FigureOutput(
        fig,
        {"ks": np.array(m.ks), "kl": kl, "kl_se": se, "test_t1": err},
        sz.as_dict(),
        "merger-goldt/hierarchy-reduces-overfitting: faster decay lowers KL and test error at N<d.",
        seed={"test": exp.seed_list(run, range(1, 1 + sz.test_seeds)), "kl": exp.seed_list(run, range(sz.kl_seeds))},
    )
