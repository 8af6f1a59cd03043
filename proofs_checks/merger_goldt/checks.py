"""Checks of the `merger-goldt/` claims (one registered check per claim id).

Every check compares a closed form of :mod:`theory.linear_diffusion` (lambdified into
:mod:`numerics.linear_diffusion`) with an independent computation: an exact SymPy
simplification, a float64/mpmath evaluation, an ODE solve, Monte Carlo over noises, samples or
training sets, or PyTorch training. Keyword overrides are the injection points of the negative
controls in ``tests/test_checks_merger_goldt.py``. Defaults follow spec §3: :math:`T=1000`,
:math:`\\sigma_t^2=\\beta_t`, final noise on, :math:`\\operatorname{tr}\\Sigma=d`, :math:`\\mu=0`,
estimated mean, no ridge.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import scipy.linalg as sla
import sympy as sp
from scipy.integrate import solve_ivp

from numerics import linear_diffusion as ld
from numerics.executor import sweep
from numerics.gaussians import kl_monte_carlo
from proofs_checks.registry import Context, Evidence, Verdict, check
from theory import linear_diffusion as sym
from theory.gaussians import gaussian_kl

SPEC = "spec merger_goldt.md"
KS4 = (0.0, 0.5, 1.0, 2.0)
KS5 = (0.0, 0.5, 1.0, 1.5, 2.0)


def _seed_list(ctx: Context, seeds) -> list:
    return [ctx.seed_for(int(s)) for s in seeds]


def _wrong_sign_coefficient(w, s, beta):
    # a_t with the denoiser term added instead of subtracted (a deliberately wrong recursion).
    return (1 + beta / np.sqrt(s) * w) / np.sqrt(1 - beta)


# ---------------------------------------------------------------------------------------------
# Schedule and loss
# ---------------------------------------------------------------------------------------------


@check("merger-goldt/beta-schedule")
def check_beta_schedule(ctx: Context, beta_max: float = 1e-2, T: int = 1000) -> Verdict:
    ev = Evidence(source=f"{SPEC} §1.1 (linear schedule, slides) and §3 row beta-schedule")
    sch = ld.beta_schedule(T, beta_max=beta_max)
    ev.within("beta_1", sch.beta[0], 1.099e-4, atol=1e-15, why="exact decimal value; float64 rounding")
    ev.within("beta_T", sch.beta[-1], 1e-2, atol=1e-15, why="exact decimal value; float64 rounding")
    ev.within(
        "alpha_bar_T",
        sch.abar[-1],
        6.2705e-3,
        atol=5e-8,
        why="reference quoted to 5 significant digits (half a unit of the 5th digit)",
    )
    ev.within("sum_beta", sch.beta.sum(), 5.05495, atol=1e-12, why="exact sum of the arithmetic series; float64")
    with mp.workdps(30):
        tt = [mp.mpf(i) for i in range(1, T + 1)]
        bmp = [(mp.mpf(beta_max) - mp.mpf("1e-4")) / T * ti + mp.mpf("1e-4") for ti in tt]
        ab = mp.fprod([1 - b for b in bmp])
        rel = float(abs((mp.mpf(sch.abar[-1]) - ab) / ab))
    ev.at_most("alpha_bar_T float64 vs mpmath (rel)", rel, 1e-12, why="T=1000 products of float64 factors, mp.dps=30")
    for t_var in (500, 2000):
        ev.report(
            f"alpha_bar_T at T={t_var}",
            float(ld.beta_schedule(t_var, beta_max=beta_max).abar[-1]),
            "report-only T variant (spec §6)",
        )
    ev.detail("T", T)
    return ev.verdict()


def _loss_closed_form(w, c, cov_hat, s):
    d = w.shape[0]
    c_hat = (1 - s) * cov_hat + s * np.eye(d)
    return float(np.trace(np.eye(d) - 2 * np.sqrt(s) * w + w @ c_hat @ w.T) + c @ c)


@check("merger-goldt/loss-depends-on-moments")
def check_loss_depends_on_moments(ctx: Context, closed_form=None, noises: int | None = None) -> Verdict:
    ev = Evidence(source=f"{SPEC} §1.3 (noise-averaged loss, derived)", seed=ctx.seed_for(61))
    closed_form = closed_form or _loss_closed_form
    ev.holds(
        "SymPy: E_eps[loss] - closed form == 0 (d=2, two data points)",
        sym.loss_moment_residual() == 0,
        why="exact symbolic Gaussian moments",
    )
    rng = ctx.rng(61)
    d, n = 10, 30
    m = noises or (100_000 if ctx.full else 20_000)
    lam = ld.power_law_spectrum(d, 1.0)
    x = rng.standard_normal((n, d)) * np.sqrt(lam) + 1.0
    w = rng.standard_normal((d, d)) / np.sqrt(d)
    c = 0.3 * rng.standard_normal(d)
    mu_hat, cov_hat = ld.empirical_moments(x)
    sch = ld.beta_schedule(1000)
    for t in (1, 100, 900):
        s = sch.one_minus_abar[t - 1]
        means, variances = np.empty(n), np.empty(n)
        for i in range(n):
            eps = rng.standard_normal((m, d))
            xt = np.sqrt(1 - s) * x[i] + np.sqrt(s) * eps
            r = eps - (xt - np.sqrt(1 - s) * mu_hat) @ w.T - c
            val = np.sum(r * r, axis=1)
            means[i], variances[i] = val.mean(), val.var(ddof=1)
        mc = means.mean()
        se = np.sqrt(variances.sum() / m) / n
        ev.within(
            f"MC loss t={t}",
            mc,
            closed_form(w, c, cov_hat, s),
            atol=4 * se,
            why=f"4 SE of the MC mean over {n}x{m} noise draws",
        )
    return ev.verdict()


# ---------------------------------------------------------------------------------------------
# Optimum and training dynamics
# ---------------------------------------------------------------------------------------------


def _w_star(cov_hat, s, ridge):
    d = cov_hat.shape[0]
    return np.sqrt(s) * np.linalg.inv((1 - s) * cov_hat + (s + ridge) * np.eye(d))


@check("merger-goldt/ridge-optimum")
def check_ridge_optimum(ctx: Context, w_star_fn=None, adam_steps: int | None = None) -> Verdict:
    from numerics import linear_diffusion_torch as lt

    ev = Evidence(source=f"{SPEC} §1.3 (ridge optimum, derived)", seed=ctx.seed_for(62))
    w_star_fn = w_star_fn or _w_star
    res = sym.ridge_gradient_residual()
    ev.holds("SymPy: gradient at W* is 0 (d=2)", res == sp.zeros(2, 2), why="exact symbolic simplification")
    sch = ld.beta_schedule(1000)
    d = 20
    lam = ld.power_law_spectrum(d, 1.0)
    probs = []
    for n in (10, 40):
        x = ld.white_samples(n, d, [*np.atleast_1d(ctx.seed_for(62)), n]) * np.sqrt(lam)
        _, cov_hat = ld.empirical_moments(x)
        for ridge in (0.0, 0.1):
            for t in (10, 500):
                s = sch.one_minus_abar[t - 1]
                probs.append((n, ridge, t, s, (1 - s) * cov_hat + s * np.eye(d), cov_hat, x))
    c_hat = np.array([p[4] for p in probs])
    s_arr = np.array([p[3] for p in probs])
    r_arr = np.array([p[1] for p in probs])
    ev_c = np.linalg.eigvalsh(c_hat)
    hess_max, hess_min = 2 * (ev_c[:, -1] + r_arr), 2 * (ev_c[:, 0] + r_arr)
    if ctx.full:
        gd = lt.gradient_descent_closed_form(c_hat, s_arr, r_arr, 2 / (hess_max + hess_min), grad_tol=1e-12)
        method = "plain gradient descent, step 2/(L+m)"
    else:
        # Heavy ball reaches the float64 floor in O(sqrt(kappa)) steps; plain GD then polishes
        # below the 1e-12 gradient tolerance (momentum amplifies rounding near the floor).
        sl, sm = np.sqrt(hess_max), np.sqrt(hess_min)
        hb = lt.gradient_descent_closed_form(
            c_hat,
            s_arr,
            r_arr,
            4 / (sl + sm) ** 2,
            grad_tol=1e-11,
            max_steps=20_000,
            momentum=((sl - sm) / (sl + sm)) ** 2,
        )
        gd = lt.gradient_descent_closed_form(
            c_hat, s_arr, r_arr, 2 / (hess_max + hess_min), grad_tol=1e-12, init=hb.weights
        )
        method = f"heavy-ball GD ({hb.steps} steps) then plain GD"
    ev.at_most("GD gradient norm", gd.grad_norm, 1e-12, why="stopping rule of the spec")
    for i, (n, ridge, t, s, _, cov_hat, _) in enumerate(probs):
        err = float(np.abs(gd.weights[i] - w_star_fn(cov_hat, s, ridge)).max())
        ev.at_most(
            f"max|W_GD - W*| N={n} ridge={ridge} t={t}",
            err,
            1e-8,
            why="gradient norm < 1e-12 over the smallest Hessian eigenvalue bounds the error",
        )
    ev.detail("gd_method", method)
    ev.detail("gd_steps", gd.steps)
    # Adam on the sampled loss, lambda=0.1, t=500, N=40.
    n, ridge, t, s, _, cov_hat, x = probs[-1]
    steps = adam_steps or (20_000 if ctx.full else 2_000)
    lr, ema, noises = (1e-3, None, 4096) if ctx.full else (3e-3, 0.99, 1024)
    w_adam, run = lt.train_linear_denoiser(
        x, sch, t, ridge, steps=steps, lr=lr, noises_per_step=noises, seed=ctx.seed_for(62), ema=ema
    )
    w_ref = w_star_fn(cov_hat, s, ridge)
    rel = float(np.linalg.norm(w_adam - w_ref) / np.linalg.norm(w_ref))
    ev.at_most(
        "Adam relative Frobenius error (ridge 0.1, t=500, N=40)",
        rel,
        0.02,
        why="stochastic optimisation noise of Adam on a well-conditioned quadratic (spec 2%)",
    )
    ev.detail("adam", {"steps": steps, "lr": lr, "ema": ema, "noises_per_step": noises, "device": run.device})
    return ev.verdict()


@check("merger-goldt/gradient-flow-solution")
def check_gradient_flow_solution(ctx: Context, rate: float = 2.0) -> Verdict:
    from numerics import linear_diffusion_torch as lt

    ev = Evidence(source=f"{SPEC} §1.3 (gradient flow / descent, derived)", seed=ctx.seed_for(62))
    ode_res, init_res, gd_res = sym.gradient_flow_residuals()
    ev.holds(
        "SymPy: per-mode GF ODE, w(0)=0 and GD step residuals are 0",
        ode_res == 0 and init_res == 0 and gd_res == 0,
        why="exact symbolic simplification",
    )
    sch = ld.beta_schedule(1000)
    d, n = 20, 10
    lam = ld.power_law_spectrum(d, 1.0)
    x = ld.white_samples(n, d, ctx.seed_for(62)) * np.sqrt(lam)
    _, cov_hat = ld.empirical_moments(x)
    eta, taus = 1.0, np.array([0.1, 1.0, 5.0])
    eye = np.eye(d)
    for t in (1, 10, 500):
        s = sch.one_minus_abar[t - 1]
        c = (1 - s) * cov_hat + s * eye

        def rhs(_tau, y, c=c, s=s):
            w = y.reshape(d, d)
            return (2 * eta * (np.sqrt(s) * eye - w @ c)).ravel()

        sol = solve_ivp(rhs, (0, taus[-1]), np.zeros(d * d), method="DOP853", rtol=1e-12, atol=1e-14, t_eval=taus)
        for j, tau in enumerate(taus):
            formula = np.sqrt(s) * np.linalg.solve(c, eye - sla.expm(-rate * eta * tau * c))
            err = float(np.abs(sol.y[:, j].reshape(d, d) - formula).max())
            ev.at_most(f"ODE vs expm formula t={t} tau={tau}", err, 1e-8, why="DOP853 rtol 1e-12 / atol 1e-14")
        # Gradient descent with eta=0.05 for 1000 steps vs the exact discrete formula.
        lr_gd = 0.05
        ev.at_most(
            f"GD stability 2*eta*lambda_max t={t}",
            2 * lr_gd * np.linalg.eigvalsh(c)[-1],
            2.0,
            why="GD on a quadratic is stable iff the step times the Hessian is < 2",
        )
        gd = lt.gradient_descent_closed_form(c, s, 0.0, lr_gd, steps=1000)
        w_star = np.sqrt(s) * np.linalg.inv(c)
        step_mat = eye - rate * lr_gd * c
        formula_gd = w_star @ (eye - np.linalg.matrix_power(step_mat, 1000))
        ev.at_most(
            f"GD vs discrete formula t={t}",
            float(np.abs(gd.weights[0] - formula_gd).max()),
            1e-10,
            why="1000 float64 steps of a contraction; rounding ~1e-13",
        )
    return ev.verdict()


@check("merger-goldt/bayes-optimal-linear")
def check_bayes_optimal_linear(ctx: Context, bayes_formula=None, samples: int | None = None) -> Verdict:
    ev = Evidence(source=f"{SPEC} §1.4 (Bayes error, derived)", seed=ctx.seed_for(63))
    bayes_formula = bayes_formula or ld.bayes_error
    ev.holds(
        "SymPy: Gaussian conditioning gives W* and the Bayes error (d=2)",
        sym.bayes_conditioning_residual() == sp.zeros(3, 2),
        why="exact symbolic simplification",
    )
    rng = ctx.rng(63)
    d, m = 20, samples or (200_000 if ctx.full else 50_000)
    lam = ld.power_law_spectrum(d, 1.0)
    sch = ld.beta_schedule(1000)
    for t in (1, 100, 500):
        s = sch.one_minus_abar[t - 1]
        x = rng.standard_normal((m, d)) * np.sqrt(lam)
        eps = rng.standard_normal((m, d))
        xt = np.sqrt(1 - s) * x + np.sqrt(s) * eps
        w = np.sqrt(s) / ((1 - s) * lam + s)  # population-optimal W (diagonal Sigma)
        err = np.mean((eps - xt * w) ** 2, axis=1)
        ev.within(
            f"MC error of the linear Bayes denoiser t={t}",
            err.mean(),
            bayes_formula(lam, s),
            atol=4 * err.std(ddof=1) / np.sqrt(m),
            why=f"4 SE of the MC mean, M={m}",
        )
    return ev.verdict()


@check("merger-goldt/test-train-error-formulas")
def check_test_train_error_formulas(ctx: Context, mean_term: bool = True, samples: int | None = None) -> Verdict:
    ev = Evidence(source=f"{SPEC} §1.4 (test/train errors, derived)", seed=ctx.seed_for(64))
    rng = ctx.rng(64)
    d = 50
    m_test = samples or (200_000 if ctx.full else 40_000)
    m_train = 2000 if ctx.full else 400
    lam = ld.power_law_spectrum(d, 1.0)
    mu = np.ones(d)
    sch = ld.beta_schedule(1000)
    for n in (30, 200):
        x = rng.standard_normal((n, d)) * np.sqrt(lam) + mu
        mu_hat, cov_hat = ld.empirical_moments(x)
        lam_hat, u = ld.eigen_modes(cov_hat, rel_cut=0.0)
        lam_hat = np.clip(lam_hat, 0, None)
        for ridge in (0.0, 0.1):
            for t in (1, 10, 100):
                s = sch.one_minus_abar[t - 1]
                w = ld.mode_weights(lam_hat, s, ridge)
                wmat = (u * w) @ u.T
                e_test = ld.denoising_error(w, u, lam, s, mean_offset=(mu - mu_hat) if mean_term else None)
                e_train = ld.train_error(w, lam_hat, s)
                xs = rng.standard_normal((m_test, d)) * np.sqrt(lam) + mu
                eps = rng.standard_normal((m_test, d))
                r = eps - (np.sqrt(1 - s) * xs + np.sqrt(s) * eps - np.sqrt(1 - s) * mu_hat) @ wmat.T
                v = np.mean(r * r, axis=1)
                ev.within(
                    f"E_test N={n} ridge={ridge} t={t}",
                    v.mean(),
                    e_test,
                    atol=4 * v.std(ddof=1) / np.sqrt(m_test),
                    why=f"4 SE, {m_test} fresh samples",
                )
                x0 = np.repeat(x, m_train, axis=0)
                eps = rng.standard_normal(x0.shape)
                r = eps - (np.sqrt(1 - s) * x0 + np.sqrt(s) * eps - np.sqrt(1 - s) * mu_hat) @ wmat.T
                v = np.mean(r * r, axis=1).reshape(n, m_train)
                se = np.sqrt(v.var(axis=1, ddof=1).sum() / m_train) / n
                ev.within(
                    f"E_train N={n} ridge={ridge} t={t}",
                    v.mean(),
                    e_train,
                    atol=4 * se,
                    why=f"4 SE, all {n} points x {m_train} noises",
                )
    return ev.verdict()


# ---------------------------------------------------------------------------------------------
# Deterministic equivalent, train-test gap, hierarchy
# ---------------------------------------------------------------------------------------------


@check("merger-goldt/deterministic-equivalent")
def check_deterministic_equivalent(ctx: Context, de_fn=None) -> Verdict:
    ev = Evidence(
        source=f"{SPEC} §1.5 (deterministic equivalent, derived; stands in for the replica formulas)",
        seed=_seed_list(ctx, range(1, 11)),
    )
    de_fn = de_fn or ld.deterministic_equivalent_test_error
    d, k, steps, ridges = 400, 1.5, (1, 10, 100, 500), (0.0, 0.1)
    lam = ld.power_law_spectrum(d, k)
    sch = ld.beta_schedule(1000)
    for n in (200, 800):
        sims = np.array(
            sweep(
                ctx.executor,
                ld.de_sim_task,
                [
                    {"d": d, "n": n, "k": k, "seed": sd, "steps": steps, "ridges": ridges}
                    for sd in _seed_list(ctx, range(1, 11))
                ],
            )
        )
        mean, se = sims.mean(0), sims.std(0, ddof=1) / np.sqrt(sims.shape[0])
        for a, ridge in enumerate(ridges):
            for b, t in enumerate(steps):
                de = de_fn(lam, n, sch.one_minus_abar[t - 1], ridge)
                ev.within(
                    f"E_test N={n} ridge={ridge} t={t}",
                    mean[a, b],
                    de,
                    atol=4 * se[a, b],
                    rtol=0.01,
                    why="1% finite-d allowance + 4 SE over 10 seeds",
                )
    ev.report(
        "reference N=200 ridge=0: E(t=1), E(t=10), E(t=500)",
        [de_fn(lam, 200, sch.one_minus_abar[t - 1], 0.0) for t in (1, 10, 500)],
        "spec: ~338, ~24.5, ~0.084",
    )
    return ev.verdict()


@check("merger-goldt/train-test-gap")
def check_train_test_gap(ctx: Context, n_small: int = 200, n_large: int = 1600) -> Verdict:
    ev = Evidence(source=f"{SPEC} §3 row train-test-gap (abstract P3)", seed=ctx.seed_for(1))
    d, k = 400, 1.5
    res = {
        n: ld.test_error_task(d, n, (k,), ctx.seed_for(1), (1, 10), (0.0, 0.1), mean="known")
        for n in (n_small, n_large)
    }

    def ratio(n, r, t):
        return float(res[n]["test"][0, r, t] / res[n]["train"][0, r, t])

    ev.at_least(f"N={n_small} ridge=0 t=1: E_test/E_train", ratio(n_small, 0, 0), 100.0, why="spec criterion (P3)")
    ev.at_least(f"N={n_small} ridge=0 t=10: E_test/E_train", ratio(n_small, 0, 1), 10.0, why="spec criterion (P3)")
    ev.at_most(
        f"N={n_small} ridge=0.1 t=1: E_test/E_train",
        ratio(n_small, 1, 0),
        1.05,
        why="spec criterion: ridge closes the gap",
    )
    ev.at_most(
        f"N={n_large} ridge=0 t=1: E_test/E_train", ratio(n_large, 0, 0), 1.05, why="spec criterion: small gap for N>d"
    )
    ev.at_most(
        f"N={n_large} ridge=0 t=10: E_test/E_train", ratio(n_large, 0, 1), 1.05, why="spec criterion: small gap for N>d"
    )
    ev.report("N=200 ridge=0.1 t=10 ratio", ratio(n_small, 1, 1))
    for name, val in (("test", res[n_small]["test"]), ("train", res[n_small]["train"])):
        ev.report(f"N={n_small} E_{name} [ridge][t]", val[0].tolist())
    return ev.verdict()


@check("merger-goldt/hierarchy-reduces-overfitting")
def check_hierarchy(ctx: Context, ks: tuple[float, ...] = KS5) -> Verdict:
    ev = Evidence(
        source=f"{SPEC} §3 row hierarchy-reduces-overfitting (abstract P3, v2)",
        seed={"test": _seed_list(ctx, (1, 2, 3)), "kl": _seed_list(ctx, range(10))},
    )
    res = sweep(
        ctx.executor,
        ld.test_error_task,
        [{"d": 400, "n": 200, "ks": tuple(ks), "seed": sd, "steps": (1, 10)} for sd in _seed_list(ctx, (1, 2, 3))],
    )
    errs = np.mean([r["test"][:, 0, :] for r in res], axis=0)  # (K, steps)
    for j, t in enumerate((1, 10)):
        ev.holds(
            f"E_test(t={t}) strictly decreasing in k",
            bool(np.all(np.diff(errs[:, j]) < 0)),
            measured=errs[:, j].round(4).tolist(),
            expected="strictly decreasing",
            why="seed-averaged (3 seeds), common random numbers across k",
        )
    kls = np.mean(
        sweep(
            ctx.executor,
            ld.hierarchy_kl_task,
            [{"d": 100, "n": 50, "ks": tuple(ks), "seed": sd} for sd in _seed_list(ctx, range(10))],
        ),
        axis=0,
    )
    ev.holds(
        "KL/d strictly decreasing in k",
        bool(np.all(np.diff(kls) < 0)),
        measured=kls.round(4).tolist(),
        expected="strictly decreasing",
        why="seed-averaged (10 seeds), common random numbers across k",
    )
    ev.report("KL/d per k (gen||target)", kls.tolist(), "spec reference 2.22, 2.17, 2.00, 1.69, 1.27")
    kls1 = np.mean(
        sweep(
            ctx.executor,
            ld.hierarchy_kl_task,
            [{"d": 100, "n": 50, "ks": tuple(ks), "seed": sd, "trace": 1.0} for sd in _seed_list(ctx, range(10))],
        ),
        axis=0,
    )
    ev.report(
        "variant tr(Sigma)=1: KL/d per k", kls1.tolist(), f"strictly decreasing: {bool(np.all(np.diff(kls1) < 0))}"
    )
    return ev.verdict()


# ---------------------------------------------------------------------------------------------
# Sampler
# ---------------------------------------------------------------------------------------------


@check("merger-goldt/sampler-gaussian-recursion")
def check_sampler_recursion(ctx: Context, coefficient=None, samples: int | None = None) -> Verdict:
    ev = Evidence(source=f"{SPEC} §1.6 (per-mode recursion, derived)", seed=ctx.seed_for(65))
    d, m = 10, samples or (100_000 if ctx.full else 4_000)
    lam = ld.power_law_spectrum(d, 1.0)
    mu = np.ones(d)
    sch = ld.beta_schedule(1000)
    rng = ctx.rng(65)
    variants = [(sig, fn, um) for sig in ld.SAMPLER_SIGMAS for fn in (True, False) for um in ("zero", "shifted")]
    for n in (5, 40):
        x = rng.standard_normal((n, d)) * np.sqrt(lam) + mu
        mu_hat, cov_hat = ld.empirical_moments(x)
        lam_hat, u = ld.eigen_modes(cov_hat)
        samples_v = ld.linear_sampler_variants(mu_hat, cov_hat, sch, m, [*np.atleast_1d(ctx.seed_for(65)), n], variants)
        for (sig, final_noise, u_t_mean), samp in zip(variants, samples_v):
            modes = ld.mode_recursion(lam_hat, sch, sampler_sigma=sig, final_noise=final_noise, coefficient=coefficient)
            f = modes.f
            y = samp @ u  # rotate into the eigenbasis of Sigma_hat
            cov = np.cov(y, rowvar=False)
            tag = f"N={n} {sig} final_noise={final_noise} u_T={u_t_mean}"
            # 1e-24 absolute: modes with f=0 keep float64 rounding residue (~1e-16)^2.
            z_var = np.abs(np.diag(cov) - f) / (4 * np.sqrt(2 / m) * f + 1e-24)
            ev.at_most(
                f"mode variances {tag} (units of 4 SE)",
                float(z_var.max()),
                1.0,
                why="4 SE of a sample variance, sqrt(2/M) relative",
            )
            off = np.abs(cov - np.diag(np.diag(cov)))
            # Null modes (f=0) carry a float64 residue of std <~1e-12: floor f at 1e-24.
            f_floor = f + 1e-24
            z_off = off / (4 * np.sqrt(np.outer(f_floor, f_floor) / m))
            ev.at_most(
                f"off-diagonals {tag} (units of 4 SE)",
                float(z_off.max()),
                1.0,
                why="4 SE of a sample covariance, sqrt(f_i f_j / M)",
            )
            mg = ld.generated_mean(mu_hat, u, modes.prod_a, sch, u_t_mean) @ u
            z_mean = np.abs(y.mean(0) - mg) / (4 * np.sqrt(f / m) + 1e-12)
            ev.at_most(
                f"mean {tag} (units of 4 SE)",
                float(z_mean.max()),
                1.0,
                why="4 SE of a sample mean; 1e-12 float64 floor for f=0 modes",
            )
    ev.detail("samples", m)
    return ev.verdict()


@check("merger-goldt/null-mode-variance")
def check_null_mode_variance(ctx: Context, coefficient=None) -> Verdict:
    ev = Evidence(source=f"{SPEC} §1.6 (null modes, derived)")
    ev.holds(
        "SymPy: a_t = sqrt(alpha_t)(1-abar_{t-1})/(1-abar_t) for lambda_hat=0",
        sym.null_mode_residual() == 0,
        why="exact symbolic simplification",
    )
    sch = ld.beta_schedule(1000)
    coef = coefficient or sym.sampler_coefficient()
    w0 = ld.mode_weights(np.zeros(sch.T), sch.one_minus_abar)
    a = coef(w0, sch.one_minus_abar, sch.beta)
    ev.at_most("|a_1|", abs(float(a[0])), 1e-15, why="float64; 1-abar_1 kept to full relative precision")
    closed = np.sqrt(sch.alpha) * sch.one_minus_abar_prev / sch.one_minus_abar
    ev.within(
        "a_t vs sqrt(alpha_t)(1-abar_{t-1})/(1-abar_t), all t",
        a,
        closed,
        rtol=1e-12,
        atol=1e-15,
        why="float64 evaluation of two algebraically equal forms",
    )
    for sig in ld.SAMPLER_SIGMAS:
        for final_noise in (True, False):
            f0 = float(
                ld.mode_recursion(
                    np.zeros(1), sch, sampler_sigma=sig, final_noise=final_noise, coefficient=coefficient
                ).f[0]
            )
            expected = 1.099e-4 if (sig == "beta" and final_noise) else 0.0
            ev.within(
                f"f(0) sigma^2={sig} final_noise={final_noise}",
                f0,
                expected,
                atol=1e-15,
                why="a_1 = 0 leaves only the last step's noise; float64",
            )
    for ridge in (1e-3, 1e-1):
        ev.report(
            f"f(0) with ridge {ridge}",
            float(ld.mode_recursion(np.zeros(1), sch, ridge=ridge).f[0]),
            "ridge raises the null-mode variance",
        )
    for tau in (1e2, 1e4):
        ev.report(
            f"f(0) early-stopped at eta*tau={tau:g}",
            float(ld.mode_recursion(np.zeros(1), sch, train_time=tau).f[0]),
            "early stopping raises it",
        )
    return ev.verdict()


# ---------------------------------------------------------------------------------------------
# KL divergences
# ---------------------------------------------------------------------------------------------

POP_REFERENCE = {
    ("beta", 0.5): 1.3e-7,
    ("beta", 1.0): 1.44e-6,
    ("beta", 2.0): 6.3e-5,
    ("beta_tilde", 0.0): 1.04e-5,
    ("beta_tilde", 0.5): 1.23e-5,
    ("beta_tilde", 1.0): 2.34e-5,
    ("beta_tilde", 2.0): 5.5e-4,
}


@check("merger-goldt/population-optimum-kl")
def check_population_optimum_kl(ctx: Context, beta_max: float = 1e-2) -> Verdict:
    ev = Evidence(source=f"{SPEC} §1.6 and §3 row population-optimum-kl (derived)")
    ev.holds(
        "SymPy: lambda_hat=1 gives a_t^2 + beta_t - 1 = 0",
        sym.unit_mode_residual() == 0,
        why="exact symbolic simplification",
    )
    d = 100
    for T in (1000, 500, 2000):
        sch = ld.beta_schedule(T, beta_max=beta_max)
        for sig in ld.SAMPLER_SIGMAS:
            for k in KS4:
                lam = ld.power_law_spectrum(d, k)
                kl_f = ld.population_optimum_kl(lam, sch, sig)
                kl_r = ld.population_optimum_kl(lam, sch, sig, direction="reverse")
                if T != 1000:
                    ev.report(f"T={T} {sig} k={k} KL/d (fwd, rev)", [kl_f, kl_r], "report-only T variant")
                    continue
                if sig == "beta" and k == 0:
                    ev.at_most("k=0 sigma^2=beta |KL/d|", abs(kl_f), 1e-12, why="v_t = 1 exactly; float64 rounding")
                else:
                    ev.holds(
                        f"{sig} k={k}: 0 < KL/d < 1e-3",
                        0 < kl_f < 1e-3,
                        measured=kl_f,
                        expected="(0, 1e-3)",
                        why="spec criterion",
                    )
                    ev.within(
                        f"{sig} k={k} KL/d vs reference",
                        kl_f,
                        POP_REFERENCE[(sig, k)],
                        rtol=0.02,
                        why="deterministic computation; reference quoted to 2-3 digits (spec 2%)",
                    )
                ev.report(f"{sig} k={k} reverse KL/d", kl_r)
                ev.report(
                    f"{sig} k={k} final_noise=False KL/d", ld.population_optimum_kl(lam, sch, sig, final_noise=False)
                )
    return ev.verdict()


def _population_kls(d, ks, sigmas, T=1000, final_noise=True):
    sch = ld.beta_schedule(T)
    return {
        dr: np.array(
            [
                [
                    ld.population_optimum_kl(ld.power_law_spectrum(d, k), sch, s, final_noise, dr, "total")
                    for s in sigmas
                ]
                for k in ks
            ]
        )
        for dr in ld.KL_DIRECTIONS
    }


@check("merger-goldt/kl-d-over-4n")
def check_kl_d_over_4n(ctx: Context, falsify_kl: float = 1.0, n_seeds: int = 20, variants: bool = True) -> Verdict:
    seeds = _seed_list(ctx, range(100, 100 + n_seeds))
    ev = Evidence(source=f"{SPEC} §2 (second-order KL law) and §3 row kl-d-over-4n; 'd/(4N)' is [reported]", seed=seeds)
    d = 100
    ns = (200, 400, 1000, 4000, 10000) if ctx.full else (200, 1000, 10000)
    sigmas = ld.SAMPLER_SIGMAS
    pop = _population_kls(d, KS4, sigmas)
    q = {}
    for n in ns:
        res = sweep(ctx.executor, ld.kl_task, [{"d": d, "n": n, "ks": KS4, "seed": sd} for sd in seeds])
        for key in ("forward_cov", "reverse_cov", "forward_full", "reverse_full"):
            kl = falsify_kl * np.array([r[key] for r in res])  # (seeds, K, sigmas), total KL
            excess = kl - pop[key.split("_")[0]][None]
            q[(n, key, "excess", "per_dim")] = n / d * excess / d
            q[(n, key, "raw", "per_dim")] = n / d * kl / d
            q[(n, key, "excess", "total")] = n / d * excess
    nmax = ns[-1]
    for direction in ld.KL_DIRECTIONS:
        for j, sig in enumerate(sigmas):
            for a, k in enumerate(KS4):
                vals = q[(nmax, f"{direction}_cov", "excess", "per_dim")][:, a, j]
                qm, se = float(vals.mean()), float(vals.std(ddof=1) / np.sqrt(len(vals)))
                name = f"Q(N={nmax}) {direction} sigma^2={sig} k={k}"
                if sig == "beta_tilde" and k == 2.0:
                    ev.within(
                        name, qm, 0.25, atol=0.06, why="discretisation-sensitive case (spec: 0.06, reported separately)"
                    )
                else:
                    ev.within(
                        name,
                        qm,
                        0.25,
                        atol=0.015,
                        why="finite-d offset 0.0025 + finite-N bias <~0.005 + 4 SE (~0.004 with 20 seeds)",
                    )
                ev.detail(f"SE {name}", se)
                full = float(q[(nmax, f"{direction}_full", "excess", "per_dim")][:, a, j].mean())
                if not (sig == "beta_tilde" and k == 2.0):
                    ev.within(
                        f"Q_full(N={nmax}) {direction} sigma^2={sig} k={k}",
                        full,
                        0.25 + 1 / (2 * d),
                        atol=0.015,
                        why="kl_part=full adds the mean term 1/(2d); same tolerance",
                    )
                ev.report(
                    f"raw Q(N={nmax}) {direction} {sig} k={k}",
                    float(q[(nmax, f"{direction}_cov", "raw", "per_dim")][:, a, j].mean()),
                    "kl_ref=raw, reported",
                )
                ev.report(
                    f"total (N/d)*KL_excess (N={nmax}) {direction} {sig} k={k}",
                    float(q[(nmax, f"{direction}_cov", "excess", "total")][:, a, j].mean()),
                    "kl_norm=total gives ~d/4: does not match d/(4N) as a total KL",
                )
    # Q decreasing toward 0.25 as N grows (sigma^2 = beta).
    for direction in ld.KL_DIRECTIONS:
        series = np.array([q[(n, f"{direction}_cov", "excess", "per_dim")][:, :, 0].mean(0) for n in ns])  # (N, K)
        ev.holds(
            f"Q decreasing in N, {direction}, sigma^2=beta",
            bool(np.all(np.diff(series, axis=0) < 0)),
            measured=series.round(4).tolist(),
            expected="decreasing toward 0.25",
            why="spec criterion",
        )
    # Monte Carlo check of the Gaussian KL formula, one case.
    n, k = 1000, 1.0
    lam = ld.power_law_spectrum(d, k)
    mu_hat, cov_hat = ld.empirical_moments(ld.white_samples(n, d, seeds[0]) * np.sqrt(lam))
    lam_hat, u = ld.eigen_modes(cov_hat)
    sch = ld.beta_schedule(1000)
    modes = ld.mode_recursion(lam_hat, sch)
    cov_gen = (u * modes.f) @ u.T
    mg = ld.generated_mean(mu_hat, u, modes.prod_a, sch)
    formula = falsify_kl * float(ld.kl_divergence(modes.f, u, lam, mg, None, part="full", norm="total"))
    dense = gaussian_kl(mg, cov_gen, np.zeros(d), np.diag(lam))
    ev.within(
        "eigenbasis KL vs dense Cholesky KL (theory.gaussians)",
        formula,
        dense,
        rtol=1e-9,
        why="two float64 evaluations of the same closed form",
    )
    mc, mc_se = kl_monte_carlo(mg, cov_gen, np.zeros(d), np.diag(lam), 100_000, ctx.rng(101))
    ev.within(
        "KL formula vs Monte Carlo E[ln p_g - ln p_*] (N=1000, k=1)",
        formula,
        mc,
        atol=4 * mc_se,
        why="4 SE of the MC mean, 1e5 samples",
    )
    if not variants:
        return ev.verdict()
    # Report-only variants: T and final noise at the largest N.
    for T in (500, 2000):
        popT = _population_kls(d, KS4, ("beta",), T)
        res = sweep(
            ctx.executor,
            ld.kl_task,
            [{"d": d, "n": nmax, "ks": KS4, "seed": sd, "T": T, "sampler_sigmas": ("beta",)} for sd in seeds],
        )
        qT = nmax / d * (np.array([r["forward_cov"] for r in res]) - popT["forward"][None]) / d
        ev.report(f"T={T}: Q(N={nmax}) forward beta per k", qT.mean(0)[:, 0].tolist(), "report-only T variant")
    popnf = _population_kls(d, KS4, ("beta",), final_noise=False)
    res = sweep(
        ctx.executor,
        ld.kl_task,
        [{"d": d, "n": nmax, "ks": KS4, "seed": sd, "final_noise": False, "sampler_sigmas": ("beta",)} for sd in seeds],
    )
    qnf = nmax / d * (np.array([r["forward_cov"] for r in res]) - popnf["forward"][None]) / d
    ev.report(f"final_noise=False: Q(N={nmax}) forward beta per k", qnf.mean(0)[:, 0].tolist(), "N>d law unaffected")
    ev.detail("Ns", list(ns))
    return ev.verdict()


@check("merger-goldt/kl-independent-of-sigma")
def check_kl_independent_of_sigma(ctx: Context, common_random_numbers: bool = True) -> Verdict:
    seeds = _seed_list(ctx, range(5))
    ev = Evidence(source=f"{SPEC} §2 (abstract P4; S-only dependence derived)", seed=seeds)
    d = 100
    for n in (200, 1000):
        res = np.array(
            sweep(
                ctx.executor,
                ld.crn_cov_kl_task,
                [{"d": d, "n": n, "ks": KS4, "seed": sd, "common": common_random_numbers} for sd in seeds],
            )
        )  # (seeds, K, 2)
        spread = np.abs(res - res[:, :1, :]) / np.abs(res[:, :1, :])
        ev.at_most(
            f"N={n}: max relative spread of KL(Sigma_hat, Sigma) across k (both directions)",
            float(spread.max()),
            1e-10,
            why="identical in exact arithmetic; float64 Cholesky rounding",
        )
    pop = _population_kls(d, KS4, ("beta",))
    for n in (1000,):
        res = sweep(
            ctx.executor,
            ld.kl_task,
            [{"d": d, "n": n, "ks": KS4, "seed": sd, "sampler_sigmas": ("beta",)} for sd in seeds],
        )
        for direction in ld.KL_DIRECTIONS:
            kl = np.array([r[f"{direction}_cov"][:, 0] for r in res])
            qv = (n / d * (kl - pop[direction][:, 0]) / d).mean(0)
            spread = float((qv.max() - qv.min()) / qv.mean())
            ev.at_most(
                f"N={n} Sigma_gen: relative spread of Q across k ({direction})",
                spread,
                0.10,
                why="spec criterion (<10% at N>=1000); sampler discretisation breaks exact invariance",
            )
            ev.report(f"N={n} Q per k ({direction})", qv.tolist())
    return ev.verdict()


@check("merger-goldt/kl-second-order")
def check_kl_second_order(ctx: Context, kl_factor: float = 0.25, draws: int = 2000) -> Verdict:
    ev = Evidence(source=f"{SPEC} §2 (second-order expansion, derived)", seed=ctx.seed_for(66))
    nn_, dd = sp.symbols("N d", positive=True, integer=True)
    ev.holds(
        "SymPy: E tr(S-I)^2 = d(d+1)/N",
        sp.simplify(sym.trace_moment_expr() - dd * (dd + 1) / nn_) == 0,
        why="Isserlis moments, exact",
    )
    r = sp.Symbol("r", positive=True)
    ev.holds(
        "SymPy: second-order KL term = (r-1)^2/4, both directions",
        sp.simplify(sym.kl_second_order_expr() - (r - 1) ** 2 / 4) == 0
        and sp.simplify(sym.kl_reverse_second_order_expr() - (r - 1) ** 2 / 4) == 0,
        why="exact series expansion",
    )
    d = 50
    for n in (500, 5000):
        seed = [*np.atleast_1d(ctx.seed_for(66)), n]
        if ctx.full:
            rng = np.random.default_rng(seed)
            s_mats = np.empty((draws, d, d))
            for b in range(draws):  # one white data set per draw
                z = rng.standard_normal((n, d))
                s_mats[b] = z.T @ z / n
            method = "data"
        else:
            s_mats = ld.wishart_white_covariance(d, n, draws, seed)
            method = "Bartlett (exact Wishart law)"
        dev = s_mats - np.eye(d)
        tr2 = np.einsum("bij,bij->b", dev, dev)
        ev.within(
            f"E tr(S-I)^2 N={n} ({method})",
            tr2.mean(),
            d * (d + 1) / n,
            atol=4 * tr2.std(ddof=1) / np.sqrt(draws),
            why=f"4 SE over {draws} draws",
        )
        eig = np.linalg.eigvalsh(s_mats)
        kl_f = 0.5 * np.sum(eig - 1 - np.log(eig), axis=1)
        kl_r = 0.5 * np.sum(1 / eig - 1 + np.log(eig), axis=1)
        for name, kl in (("forward", kl_f), ("reverse", kl_r)):
            ratio = float(kl.mean() / (kl_factor * d * (d + 1) / n))
            if n == 5000:
                ev.holds(
                    f"E KL / (d(d+1)/4N) at N={n} ({name})",
                    0.95 <= ratio <= 1.15,
                    measured=ratio,
                    expected="[0.95, 1.15]",
                    why="higher-order terms are O(d/N)",
                )
            else:
                ev.report(f"E KL / (d(d+1)/4N) at N={n} ({name})", ratio)
    return ev.verdict()


@check("merger-goldt/transition-at-n-equals-d")
def check_transition(ctx: Context, ratio_pair: tuple[float, float] = (0.5, 2.0)) -> Verdict:
    seeds = _seed_list(ctx, range(5))
    ev = Evidence(source=f"{SPEC} §3 row transition-at-n-equals-d (abstract P2)", seed=seeds)
    d = 100
    ratios = (0.25, 0.5, 0.75, 0.9, 1.1, 1.5, 2.0, 4.0, 10.0)
    pop = _population_kls(d, KS4, ld.SAMPLER_SIGMAS)
    kl, q = {}, {}
    counts_ok = True
    for ratio in ratios:
        n = round(ratio * d)
        res = sweep(ctx.executor, ld.kl_task, [{"d": d, "n": n, "ks": KS4, "seed": sd} for sd in seeds])
        counts_ok &= all(bool(np.all(r["null_modes"] == max(d - n + 1, 0))) for r in res)
        tot = np.array([r["forward_cov"] for r in res]).mean(0)  # (K, sigmas)
        kl[ratio] = tot / d
        q[ratio] = n / d * (tot - pop["forward"]) / d
    ev.holds("null-mode count = max(d-N+1, 0) for every set", counts_ok, why="rank of a centred sample covariance")
    lo, hi = ratio_pair
    ev.at_least(
        f"KL/d(N/d={lo}) / KL/d(N/d={hi}) per k (sigma^2=beta)",
        kl[lo][:, 0] / kl[hi][:, 0],
        5.0,
        why="spec criterion: sharp drop across N=d",
    )
    ev.at_least(
        f"Q(N/d={lo}) / Q(N/d=10) per k (sigma^2=beta)",
        q[lo][:, 0] / q[10.0][:, 0],
        2.0,
        why="spec criterion: super-linear regime below d",
    )
    ev.report("KL/d vs N/d, sigma^2=beta, rows N/d, cols k", np.array([kl[r][:, 0] for r in ratios]).tolist())
    ev.report("KL/d vs N/d, sigma^2=beta_tilde (inf below d: f(0)=0)", np.array([kl[r][:, 1] for r in ratios]).tolist())
    return ev.verdict()


RIDGES = (0.0, 1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


@check("merger-goldt/optimal-ridge")
def check_optimal_ridge(ctx: Context, n_small: int = 50, n_large: int = 1000) -> Verdict:
    ev = Evidence(source=f"{SPEC} §3 row optimal-ridge (abstract P3)", seed=ctx.seed_for(0))
    d = 100
    for k in (0.0, 1.0, 2.0):
        small, large = sweep(
            ctx.executor,
            ld.ridge_kl_task,
            [{"d": d, "n": n, "k": k, "seed": ctx.seed_for(0), "ridges": RIDGES} for n in (n_small, n_large)],
        )
        i = int(np.argmin(small))
        ev.at_most(f"k={k} N={n_small}: min KL / KL(0)", small[i] / small[0], 0.5, why="spec criterion")
        ev.holds(
            f"k={k} N={n_small}: interior minimiser",
            0 < i < len(RIDGES) - 1,
            measured=RIDGES[i],
            expected="0 < lambda* < 1",
            why="spec criterion: optimal ridge > 0",
        )
        ev.at_least(f"k={k} N={n_large}: min KL / KL(0)", large.min() / large[0], 0.8, why="spec criterion")
        ev.report(f"k={k} N={n_small}: KL/d vs ridge", small.tolist(), f"lambda* = {RIDGES[i]}")
        ev.report(f"k={k} N={n_large}: KL/d vs ridge", large.tolist())
    return ev.verdict()


TAUS = tuple(np.logspace(-2, 7, 37).tolist())


@check("merger-goldt/early-stopping")
def check_early_stopping(ctx: Context, n_small: int = 50, n_large: int = 1000) -> Verdict:
    ev = Evidence(source=f"{SPEC} §3 row early-stopping (abstract P3); GF weights of §1.3", seed=ctx.seed_for(0))
    d = 100
    for k in (0.0, 1.0, 2.0):
        small, large = sweep(
            ctx.executor,
            ld.early_stopping_task,
            [{"d": d, "n": n, "k": k, "seed": ctx.seed_for(0), "taus": TAUS} for n in (n_small, n_large)],
        )
        kl = small["kl"]
        i = int(np.argmin(kl))
        ev.holds(
            f"k={k} N={n_small}: KL argmin interior",
            0 < i < len(TAUS) - 1,
            measured=TAUS[i],
            expected="interior tau*",
            why="spec criterion",
        )
        ev.at_most(f"k={k} N={n_small}: KL(tau*)/KL(tau_max)", kl[i] / kl[-1], 0.5, why="spec criterion")
        ev.holds(
            f"k={k} N={n_small}: KL non-decreasing after tau*",
            bool(np.all(np.diff(kl[i:]) >= -1e-12 * kl[-1])),
            why="spec criterion; 1e-12 relative slack for float64 rounding on the plateau",
        )
        ev.at_least(
            f"k={k} N={n_large}: KL(tau*)/KL(tau_max)", large["kl"].min() / large["kl"][-1], 0.7, why="spec criterion"
        )
        j = int(np.argmin(small["test_t1"]))
        ev.holds(
            f"k={k} N={n_small}: test error at t=1 has an interior minimum",
            0 < j < len(TAUS) - 1,
            measured=TAUS[j],
            expected="interior tau*",
            why="spec criterion",
        )
        ev.report(f"k={k} N={n_small}: tau* (KL), KL(tau*), KL(tau_max)", [TAUS[i], kl[i], kl[-1]])
        ev.report(f"k={k} N={n_large}: KL(tau*)/KL(tau_max)", float(large["kl"].min() / large["kl"][-1]))
    return ev.verdict()


# ---------------------------------------------------------------------------------------------
# Linear vs nonlinear denoiser
# ---------------------------------------------------------------------------------------------


@check("merger-goldt/linear-vs-nonlinear")
def check_linear_vs_nonlinear(ctx: Context, steps: int | None = None) -> Verdict:
    from numerics import linear_diffusion_torch as lt

    ev = Evidence(
        source=f"{SPEC} §3 row linear-vs-nonlinear ([reported] summary; proposed protocol)", seed=ctx.seed_for(67)
    )
    for n in (10, 80):
        if n == 80 and not ctx.full:
            continue
        r = lt.linear_vs_nonlinear_run(n, ctx.seed_for(67), ctx.full, steps)
        if n == 10:
            for name in ("mlp", "linear"):
                ev.at_most(
                    f"N=10 fraction of generated variance outside mu_hat+range(Sigma_hat), {name}",
                    r[f"frac_outside_{name}"],
                    0.2,
                    why="spec criterion (memorising models stay in the span)",
                )
        else:
            for name in ("mlp", "linear"):
                ev.report(f"N={n} fraction outside range, {name}", r[f"frac_outside_{name}"])
        ev.report(f"N={n} generated eigenvalues (linear theory f)", r["f_theory"][:10].tolist())
        ev.report(f"N={n} generated eigenvalues (linear simulation)", r["eig_linear"][:10].tolist())
        ev.report(f"N={n} generated eigenvalues (MLP)", r["eig_mlp"][:10].tolist())
        ev.report(f"N={n} principal angles top-5 linear vs MLP (deg)", r["angles_top5"].tolist(), "no pass/fail")
        ev.detail(f"N={n} sizes", {"width": r["width"], "steps": r["steps"], "samples": r["samples"]})
    return ev.verdict()
