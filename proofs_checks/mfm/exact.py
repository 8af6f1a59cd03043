"""Checks of the `mfm/` claims that need no training (couplings, Gaussian family, flow metrics).

The learned-flow claims are in :mod:`proofs_checks.mfm_learned`. Sizes follow spec ``mfm.md`` §3;
where the fast tier uses smaller sizes the verdict's details say which were used.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import stats

from numerics.couplings import (
    COUPLINGS,
    batch_eot_coupling,
    batch_ot_coupling,
    d8_target,
    entropic_plan,
    gale_shapley,
    greedy_matching,
    is_permutation,
    minibatch_ot_costs,
    pair_indices,
    plan_from_pairing,
    squared_distances,
)
from numerics.executor import sweep
from numerics.flow_metrics import flow_metrics
from numerics.gaussian_family import GaussianCoupling
from proofs_checks.registry import Context, Evidence, Verdict, check
from theory.couplings import (
    condot_field,
    condot_field_residuals,
    gaussian_1d_reference_numeric,
    gaussian_1d_reference_symbolic,
    gaussian_family_blocks_numeric,
)
from theory.gaussians import gaussian_w2_squared

FOUR_SE = "4 standard errors of the Monte Carlo mean (false-alarm rate ~6e-5 per comparison)"
FAMILY_3 = ((0.0, 0.0), (0.5, 0.0), (0.9, np.pi / 4))


def _seed_list(ctx: Context, default: int) -> list[int]:
    return [int(s) for s in np.atleast_1d(ctx.seed_for(default))]


# ----------------------------------------------------------------------------------------------
# data sets
# ----------------------------------------------------------------------------------------------


def eight_gaussians(n: int, rng: np.random.Generator, radius: float = 4.0, std: float = 0.4) -> np.ndarray:
    """Spec §3 8-Gaussians: means ``radius (cos 2πj/8, sin 2πj/8)``, isotropic ``std``."""
    j = rng.integers(0, 8, size=n)
    ang = 2 * np.pi * j / 8
    return radius * np.stack([np.cos(ang), np.sin(ang)], 1) + std * rng.standard_normal((n, 2))


def _eight_gaussians_cdf(u: np.ndarray, direction: np.ndarray, radius: float = 4.0, std: float = 0.4) -> np.ndarray:
    ang = 2 * np.pi * np.arange(8) / 8
    means = radius * np.stack([np.cos(ang), np.sin(ang)], 1) @ direction
    return stats.norm.cdf((np.asarray(u)[:, None] - means[None]) / std).mean(1)


# ----------------------------------------------------------------------------------------------
# mfm/condot-conditional-field
# ----------------------------------------------------------------------------------------------


@check("mfm/condot-conditional-field")
def check_condot_conditional_field(ctx: Context, field: Callable | None = None) -> Verdict:
    """SymPy: the CondOT conditional velocity is constant along the conditional path."""
    ev = Evidence(source="spec mfm.md §1.2 (CondOT conditional flow and field, Lipman et al. 2023)")
    res = condot_field_residuals(field or condot_field)
    for name, expr in res.items():
        ev.holds(
            f"simplify({name} residual) == 0",
            expr == 0,
            measured=str(expr),
            expected="0",
            why="exact: SymPy simplification",
        )
    # float64 spot check of the field along the path at random (x0, x1, t, sigma_min)
    rng = ctx.rng(0)
    x0, x1, tt, sm = rng.standard_normal(4), rng.standard_normal(4), rng.random(4), 0.1 * rng.random(4)
    psi = (1 - (1 - sm) * tt) * x0 + tt * x1
    u = (field or condot_field)(psi, x1, tt, sm)
    ev.within(
        "u_t(psi_t) - (x1 - (1 - s) x0), float64",
        np.asarray(u, float) - (x1 - (1 - sm) * x0),
        0.0,
        atol=1e-12,
        why="float64 rounding of a few operations",
    )
    return ev.verdict()


# ----------------------------------------------------------------------------------------------
# mfm/lemma-3.1-gradient-equivalence
# ----------------------------------------------------------------------------------------------


def _features(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """phi(x, t) = [1, x, t, t x] for the linear model v = Theta phi."""
    tc = t[:, None]
    return np.concatenate([np.ones_like(tc), x, tc, tc * x], axis=1)


def _affine_field_batch(fam: GaussianCoupling, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """u_t(x) of the family at per-sample times (vectorised over a time grid by bins)."""
    out = np.empty_like(x)
    for n, (xi, ti) in enumerate(zip(x, t)):
        a, b = fam.field_coefficients(float(ti))
        out[n] = a @ xi + b
    return out


def _affine_field_fast(fam: GaussianCoupling, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """u_t(x) for many times at once: batched 2x2 / dxd solves of the covariance blocks."""
    d = fam.d
    eye = np.eye(d)
    k = fam.cross
    tt = t[:, None, None]
    cov_x = (1 - tt) ** 2 * eye + tt**2 * fam.sigma + tt * (1 - tt) * (k + k.T)
    cov_dx = (1 - tt) * k + tt * fam.sigma - (1 - tt) * eye - tt * k.T
    dev = x - t[:, None] * fam.mu
    return fam.mu + np.einsum("nij,nj->ni", cov_dx, np.linalg.solve(cov_x, dev[:, :, None])[:, :, 0])


@check("mfm/lemma-3.1-gradient-equivalence")
def check_lemma_31(
    ctx: Context, field_family: tuple[float, float] | None = None, n_pairs: int | None = None
) -> Verdict:
    """MC: the JCFM - FM cross term vanishes and the gradients agree, for marginal-preserving couplings.

    ``field_family=(rho, phi)`` computes the FM field of another member of the family (a wrong
    marginal field): the negative control.
    """
    seed_theta, seed_mc = _seed_list(ctx, 40), [*_seed_list(ctx, 40), 1]
    ev = Evidence(source="Lemma 3.1 (reported), spec mfm.md §1.3 and §3", seed={"theta": seed_theta, "mc": seed_mc})
    m = n_pairs or 200_000
    thetas = np.random.default_rng(seed_theta).standard_normal((5, 2, 6))
    for ci, (rho, phi) in enumerate(FAMILY_3):
        fam = GaussianCoupling(rho=rho, phi=phi)
        field_fam = fam if field_family is None else GaussianCoupling(rho=field_family[0], phi=field_family[1])
        rng = np.random.default_rng([*seed_mc, ci])
        x0, x1 = fam.sample(m, rng)
        t = rng.uniform(0.01, 0.99, m)
        xt = (1 - t)[:, None] * x0 + t[:, None] * x1
        d = x1 - x0
        u = _affine_field_fast(field_fam, xt, t)
        feats = _features(xt, t)
        cross = []
        for th in thetas:
            v = feats @ th.T
            c = ((v - u) * (u - d)).sum(1)
            cross.append((c.mean(), c.std(ddof=1) / np.sqrt(m)))
        cross = np.array(cross)
        ev.at_most(
            f"rho={rho}, phi={phi:.3f}: max |cross term| / SE over 5 Theta",
            np.abs(cross[:, 0] / cross[:, 1]).max(),
            4.0,
            why=FOUR_SE,
        )
        # gradient difference: 2 (u - D) phi^T per sample, independent of Theta
        gd = 2 * (u - d)[:, :, None] * feats[:, None, :]
        gd = gd.reshape(m, -1)
        z = gd.mean(0) / (gd.std(0, ddof=1) / np.sqrt(m))
        ev.at_most(
            f"rho={rho}, phi={phi:.3f}: max |grad JCFM - grad FM| / SE (12 components)",
            np.abs(z).max(),
            4.0,
            why=FOUR_SE + " (common random numbers, paired difference)",
        )
    ev.detail("n_pairs", m)
    return ev.verdict()


# ----------------------------------------------------------------------------------------------
# mfm/marginal-field-pushforward, mfm/gaussian-condot-is-ot
# ----------------------------------------------------------------------------------------------


@check("mfm/marginal-field-pushforward")
def check_marginal_pushforward(ctx: Context, field_scale: float = 1.0) -> Verdict:
    """DOP853 affine flow of the marginal field reproduces the mean/covariance of X_t.

    ``field_scale != 1`` scales the field (negative control).
    """
    ev = Evidence(source="Lemma 3.1 (reported), spec mfm.md §1.5 and §3 (affine flow, DOP853 rtol 1e-12)")
    ts = np.array([0.25, 0.5, 1.0])
    blocks_sym = gaussian_family_blocks_numeric(2)
    for rho, phi in FAMILY_3:
        fam = GaussianCoupling(rho=rho, phi=phi)
        el = fam.sqrt_sigma
        gap = max(
            np.abs(a - b).max()
            for tt in (0.1, 0.5, 0.9)
            for a, b in zip(blocks_sym(tt, rho, phi, el[0, 0], el[0, 1], el[1, 1]), fam.blocks(tt))
        )
        ev.at_most(f"rho={rho}, phi={phi:.3f}: SymPy vs NumPy covariance blocks", gap, 1e-12, why="float64 rounding")
        if field_scale != 1.0:
            base = fam.field_coefficients

            def scaled(tt, base=base):
                a, b = base(tt)
                return field_scale * a, field_scale * b

            object.__setattr__(fam, "field_coefficients", scaled)
        mm, m = fam.flow(ts)
        for n, tt in enumerate(ts):
            cov_x = fam.blocks(tt)[0]
            err = max(np.abs(m[n] - tt * fam.mu).max(), np.abs(mm[n] @ mm[n].T - cov_x).max())
            ev.at_most(
                f"rho={rho}, phi={phi:.3f}, t={tt}: max |moment error|",
                err,
                1e-9,
                why="DOP853 rtol 1e-12 on a smooth affine ODE",
            )
    return ev.verdict()


@check("mfm/gaussian-condot-is-ot")
def check_gaussian_condot_is_ot(ctx: Context, phi: float = 0.0) -> Verdict:
    """For phi = 0 the flow map of the marginal field is x -> mu + Sigma^{1/2} x (Brenier map)."""
    ev = Evidence(source="spec mfm.md §2 (derived: commuting covariance blocks), §3")
    for rho in (0.0, 0.5, 0.9):
        fam = GaussianCoupling(rho=rho, phi=phi)
        mm, m = fam.flow(np.array([1.0]))
        ev.at_most(
            f"rho={rho}: ||M(1) - Sigma^1/2||", np.linalg.norm(mm[0] - fam.sqrt_sigma), 1e-9, why="DOP853 rtol 1e-12"
        )
        ev.at_most(f"rho={rho}: ||m(1) - mu||", np.linalg.norm(m[0] - fam.mu), 1e-9, why="DOP853 rtol 1e-12")
        c = float(m[0] @ m[0] + np.sum((mm[0] - np.eye(2)) ** 2))
        ev.report(f"rho={rho}: C(psi_1) - W2^2", c - fam.w2_squared())
    ev.detail("phi", phi)
    return ev.verdict()


# ----------------------------------------------------------------------------------------------
# mfm/lemma-3.2-loss-decomposition
# ----------------------------------------------------------------------------------------------


@check("mfm/lemma-3.2-loss-decomposition")
def check_lemma_32_loss(
    ctx: Context, spread: Callable[[GaussianCoupling, float], float] | None = None, n_pairs: int | None = None
) -> Verdict:
    """min L_JCFM = E_t sigma_t^2 (quad vs MC), L_JCFM = L_FM + E sigma^2, decreasing in rho.

    ``spread(fam, t)`` replaces the conditional spread formula (negative control).
    """
    seed = [*_seed_list(ctx, 40), 2]
    ev = Evidence(source="Lemma 3.2 (reported content, derived form), spec mfm.md §1.3, §1.5, §3", seed=seed)
    m = n_pairs or 200_000
    spread_fn = spread or (lambda fam, tt: fam.spread(tt))
    from scipy.integrate import quad

    rhos = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
    quads = []
    theta = np.random.default_rng(_seed_list(ctx, 40)).standard_normal((2, 6))
    for n, rho in enumerate(rhos):
        fam = GaussianCoupling(rho=rho)
        q = quad(lambda tt, fam=fam: spread_fn(fam, tt), 0.0, 1.0, epsabs=1e-12, epsrel=1e-12, limit=200)[0]
        quads.append(q)
        rng = np.random.default_rng([*seed, n])
        x0, x1 = fam.sample(m, rng)
        t = rng.random(m)
        xt = (1 - t)[:, None] * x0 + t[:, None] * x1
        d = x1 - x0
        u = _affine_field_fast(fam, xt, t)
        loss = ((u - d) ** 2).sum(1)
        se = loss.std(ddof=1) / np.sqrt(m)
        if rho < 1.0:
            ev.within(f"rho={rho}: MC min L_JCFM vs quad E sigma^2", loss.mean(), q, atol=4 * se + 1e-12, why=FOUR_SE)
            v = _features(xt, t) @ theta.T
            diff = ((v - d) ** 2).sum(1) - ((v - u) ** 2).sum(1)
            ev.within(
                f"rho={rho}: L_JCFM(theta) - L_FM(theta) vs E sigma^2",
                diff.mean(),
                q,
                atol=4 * diff.std(ddof=1) / np.sqrt(m),
                why=FOUR_SE + " (paired difference)",
            )
        else:
            ev.at_most("rho=1: E sigma^2 (quad)", abs(q), 1e-10, why="deterministic coupling; float64 rounding")
            ev.at_most("rho=1: MC loss of the exact field", loss.mean(), 1e-10, why="float64 rounding")
    ev.holds(
        "E sigma^2 strictly decreasing in rho",
        bool(np.all(np.diff(quads) < 0)),
        measured=np.round(quads, 10),
        expected="strictly decreasing",
        why="exact (quad to 1e-12)",
    )
    ev.detail("E_sigma2_by_rho", dict(zip(map(str, rhos), quads)))
    return ev.verdict()


# ----------------------------------------------------------------------------------------------
# mfm/lemma-3.2-gradient-covariance
# ----------------------------------------------------------------------------------------------


@check("mfm/lemma-3.2-gradient-covariance")
def check_lemma_32_covariance(
    ctx: Context, cov_formula: Callable | None = None, n_samples: int | None = None
) -> Verdict:
    """Cov(g | x, t) = 4 J^T Cov(u | x) J and tr Cov(g) <= 4 ||J||^2 sigma_t^2.

    ``cov_formula(J, C)`` replaces the predicted covariance (negative control).
    """
    seed_pts, seed_j = _seed_list(ctx, 41), _seed_list(ctx, 42)
    ev = Evidence(
        source="Lemma 3.2 (reported content, derived form), spec mfm.md §1.3, §3",
        seed={"points": seed_pts, "dense_J": seed_j},
    )
    m = n_samples or 100_000
    formula = cov_formula or (lambda J, C: 4 * J.T @ C @ J)
    rng = np.random.default_rng(seed_pts)
    fam = GaussianCoupling(rho=0.5)
    theta = rng.standard_normal((2, 6))
    errs, ratios = [], []
    for n in range(10):
        x, tt = rng.standard_normal(2) * 1.5, float(rng.uniform(0.05, 0.95))
        cond = fam.conditional_cov(tt)
        u = fam.velocity(x[None], tt)[0]
        d = u + rng.standard_normal((m, 2)) @ np.linalg.cholesky(cond + 1e-300 * np.eye(2)).T
        feats = _features(x[None], np.array([tt]))[0]
        jac = np.kron(np.eye(2), feats[None, :])  # d v / d vec(Theta), shape (2, 12), row-major Theta
        v = theta @ feats
        g = 2 * (v - d) @ jac
        s = np.cov(g, rowvar=False)
        pred = formula(jac, cond)
        errs.append(np.linalg.norm(s - pred) / np.linalg.norm(pred))
        bound = 4 * np.linalg.norm(jac, 2) ** 2 * np.trace(cond)
        ratios.append(np.trace(s) / bound)
        ev.at_most(
            f"point {n}: tr 4J^T C J / (4||J||^2 sigma^2) (phi-linear: equality)",
            np.trace(pred) / bound,
            1 + 1e-12,
            why="exact inequality; float64 rounding",
        )
    tol = 4 * np.sqrt(2 / m)
    ev.at_most(
        "max relative Frobenius error of Cov(g) over 10 points",
        max(errs),
        tol,
        why=f"4 SE of a sample covariance, 4 sqrt(2/M) with M={m}",
    )
    # random dense J: the inequality for a generic Jacobian, with the true and the sampled covariance
    rj = np.random.default_rng(seed_j)
    worst = 0.0
    for _ in range(10):
        jac = rj.standard_normal((2, 50))
        tt = float(rj.uniform(0.05, 0.95))
        cond = fam.conditional_cov(tt)
        dev = rj.standard_normal((2000, 2)) @ np.linalg.cholesky(cond).T
        s_u = np.cov(dev, rowvar=False)
        for c in (cond, s_u):
            worst = max(worst, np.trace(formula(jac, c)) / (4 * np.linalg.norm(jac, 2) ** 2 * np.trace(c)))
    ev.at_most("dense J: max tr Cov(g) / (4 ||J||_op^2 sigma^2)", worst, 1 + 1e-12, why="exact inequality")
    ev.report("sampled tr Cov(g) / bound (phi-linear model)", np.array(ratios))
    ev.detail("n_samples", m)
    return ev.verdict()


# ----------------------------------------------------------------------------------------------
# mfm/lemma-4.1-marginals
# ----------------------------------------------------------------------------------------------


def _marginal_task(coupling: str, target: str, k: int, n_batches: int, seed: list[int]) -> dict[str, Any]:
    """Pool one uniformly chosen pair per minibatch; plan row/column sums (module level: picklable)."""
    rng = np.random.default_rng(seed)
    fn = _MARGINAL_COUPLINGS[coupling]
    fam = GaussianCoupling()
    x0s, x1s, plan_err = np.empty((n_batches, 2)), np.empty((n_batches, 2)), 0.0
    for b in range(n_batches):
        x0 = rng.standard_normal((k, 2))
        x1 = fam.sample(k, rng)[1] if target == "gaussian" else eight_gaussians(k, rng)
        idx = fn(x0, x1, rng)
        i, j = pair_indices(idx, k)
        n = rng.integers(i.size)
        x0s[b], x1s[b] = x0[i[n]], x1[j[n]]
        if b < 50:  # plan check on the first batches
            pi = entropic_plan(x0, x1) if coupling.startswith("batcheot") else plan_from_pairing(idx, k)
            plan_err = max(plan_err, np.abs(pi.sum(0) - 1).max(), np.abs(pi.sum(1) - 1).max())
    return {"x0": x0s, "x1": x1s, "plan_err": plan_err}


def _nearest_neighbour(x0: Any, x1: Any, rng: Any = None) -> np.ndarray:
    """Not a coupling of the marginals: each x0 takes its nearest x1 (with replacement)."""
    return squared_distances(x0, x1).argmin(1)


_MARGINAL_COUPLINGS: dict[str, Callable] = {
    **COUPLINGS,
    "batcheot-plan": functools.partial(batch_eot_coupling, sampling="plan"),
    "nearest": _nearest_neighbour,
}


@check("mfm/lemma-4.1-marginals")
def check_lemma_41(ctx: Context, couplings: tuple[str, ...] | None = None, n_batches: int | None = None) -> Verdict:
    """KS tests on projections, moments, plan sums and dependence for every minibatch coupling.

    Default couplings: CondOT, BatchOT, BatchEOT (row sampling), Stable; under ``--full`` also
    the BatchEOT variant ``eot_sampling="plan"``. ``couplings=("nearest",)`` runs a pairing that
    breaks the marginals (negative control).
    """
    seed = _seed_list(ctx, 43)
    ev = Evidence(source="Lemma 4.1 (reported), spec mfm.md §1.6, §2, §3", seed=seed)
    if couplings is None:
        couplings = ("condot", "batchot", "batcheot", "stable") + (("batcheot-plan",) if ctx.full else ())
    k, b = 16, n_batches or 4000
    targets = ("gaussian", "8gaussians")
    tasks = [
        dict(coupling=c, target=tg, k=k, n_batches=b, seed=[*seed, ci, ti])
        for ci, c in enumerate(couplings)
        for ti, tg in enumerate(targets)
    ]
    results = sweep(ctx.executor, _marginal_task, tasks)
    fam = GaussianCoupling()
    dirs = (np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0]) / np.sqrt(2))
    for task, r in zip(tasks, results):
        c, tg = task["coupling"], task["target"]
        ps = []
        for u in dirs:
            ps.append(stats.kstest(r["x0"] @ u, stats.norm.cdf).pvalue)
            if tg == "gaussian":
                mu_u, sd_u = fam.mu @ u, np.sqrt(u @ fam.sigma @ u)
                ps.append(stats.kstest(r["x1"] @ u, lambda z, a=mu_u, s=sd_u: stats.norm.cdf(z, a, s)).pvalue)
            else:
                ps.append(stats.kstest(r["x1"] @ u, lambda z, u=u: _eight_gaussians_cdf(z, u)).pvalue)
        ev.p_value(
            f"{c}/{tg}: min KS p over 6 projections",
            min(ps),
            alpha=0.01 / 6,
            why="KS at a fixed seed, Bonferroni over 6 tests",
        )
        mu1 = fam.mu if tg == "gaussian" else np.zeros(2)
        cov1 = fam.sigma if tg == "gaussian" else (8.0 + 0.16) * np.eye(2)
        for name, x, mu, cov in (("x0", r["x0"], np.zeros(2), np.eye(2)), ("x1", r["x1"], mu1, cov1)):
            zm = (x.mean(0) - mu) / (x.std(0, ddof=1) / np.sqrt(b))
            dev = x - mu
            prods = np.stack([dev[:, 0] ** 2, dev[:, 0] * dev[:, 1], dev[:, 1] ** 2], 1)
            target_c = np.array([cov[0, 0], cov[0, 1], cov[1, 1]])
            zc = (prods.mean(0) - target_c) / (prods.std(0, ddof=1) / np.sqrt(b))
            ev.at_most(f"{c}/{tg}: {name} max |mean, cov error| / SE", np.abs(np.r_[zm, zc]).max(), 4.0, why=FOUR_SE)
        tol = 1e-9 if c.startswith("batcheot") else 1e-12
        ev.at_most(
            f"{c}/{tg}: plan row/col sum error",
            r["plan_err"],
            tol,
            why="permutation (exact)" if tol == 1e-12 else "Sinkhorn tolerance 1e-10 on marginals",
        )
        dep = (r["x0"] * (r["x1"] - mu1)).sum(1)
        z = dep.mean() / (dep.std(ddof=1) / np.sqrt(b))
        if c == "condot":
            ev.at_most(f"{c}/{tg}: |E x0.(x1-mu)| / SE (independent)", abs(z), 4.0, why=FOUR_SE)
        elif c in ("batchot", "batcheot", "batcheot-plan", "stable"):
            ev.at_least(f"{c}/{tg}: E x0.(x1-mu) / SE (positive dependence)", z, 4.0, why=FOUR_SE)
        else:
            ev.report(f"{c}/{tg}: E x0.(x1-mu) / SE", z)
    ev.detail("k", k)
    ev.detail("n_batches", b)
    return ev.verdict()


# ----------------------------------------------------------------------------------------------
# mfm/batchot-permutation-optimal, mfm/batchot-1d-sorting
# ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _all_perms(k: int) -> np.ndarray:
    return np.array(list(itertools.permutations(range(k))))


@check("mfm/batchot-permutation-optimal")
def check_batchot_permutation_optimal(ctx: Context, solver: Callable | None = None) -> Verdict:
    """Brute force over S_k (k <= 8) and POT ot.emd (LP over plans) agree with the assignment solver.

    ``solver(x0, x1) -> j`` replaces BatchOT (negative control).
    """
    import ot

    seed = _seed_list(ctx, 44)
    ev = Evidence(source="spec mfm.md §1.6 (Birkhoff–von Neumann), §3", seed=seed)
    solve = solver or (lambda a, b: batch_ot_coupling(a, b, solver="scipy"))
    rng = np.random.default_rng(seed)
    worst_bf, worst_emd, worst_plan, worst_auto = 0.0, 0.0, 0.0, 0.0
    for k in range(2, 9):
        perms = _all_perms(k)
        for _ in range(100):
            x0, x1 = rng.standard_normal((k, 2)), rng.standard_normal((k, 2)) + 1.0
            c = squared_distances(x0, x1)
            best = c[np.arange(k), perms].sum(1).min()
            j = solve(x0, x1)
            worst_bf = max(worst_bf, abs(c[np.arange(k), j].sum() - best) / best)
    for k in (16, 64, 256):
        u = np.full(k, 1.0 / k)
        for _ in range(100):
            x0, x1 = rng.standard_normal((k, 2)), rng.standard_normal((k, 2)) + 1.0
            c = squared_distances(x0, x1)
            j = solve(x0, x1)
            cost = c[np.arange(k), j].sum()
            plan = ot.emd(u, u, c)
            worst_emd = max(worst_emd, abs((plan * c).sum() * k - cost) / cost)
            perm_plan = np.zeros((k, k))
            perm_plan[np.arange(k), j] = 1.0 / k
            worst_plan = max(worst_plan, np.abs(plan - perm_plan).max())
            j2 = batch_ot_coupling(x0, x1, solver="pot")
            worst_auto = max(worst_auto, abs(c[np.arange(k), j2].sum() - cost) / cost)
    ev.at_most(
        "k=2..8: max relative gap to the brute-force optimum over S_k",
        worst_bf,
        1e-9,
        why="float64 rounding of sums of k terms",
    )
    ev.at_most(
        "k=16,64,256: max relative gap to POT ot.emd (LP over doubly stochastic plans)",
        worst_emd,
        1e-9,
        why="float64 rounding (two exact solvers)",
    )
    ev.at_most(
        "k=16,64,256: max |ot.emd plan - P_sigma / k|",
        worst_plan,
        1e-12,
        why="generic data: the LP optimum is unique and is the permutation vertex",
    )
    ev.at_most(
        "k=16,64,256: POT network-simplex permutation vs SciPy, relative cost gap",
        worst_auto,
        1e-9,
        why="float64 rounding",
    )
    return ev.verdict()


@check("mfm/batchot-1d-sorting")
def check_batchot_1d_sorting(ctx: Context, coupling: Callable | None = None) -> Verdict:
    """In 1-D the BatchOT permutation matches order statistics."""
    seed = _seed_list(ctx, 45)
    ev = Evidence(source="spec mfm.md §2 (derived: monotone rearrangement is optimal for convex cost)", seed=seed)
    fn = coupling or batch_ot_coupling
    rng = np.random.default_rng(seed)
    for k in (8, 256):
        mismatches = 0
        for _ in range(100):
            x0, x1 = rng.standard_normal((k, 1)), 2 * rng.standard_normal((k, 1)) + 1
            j = fn(x0, x1, None)
            rank = np.empty(k, dtype=int)
            rank[np.argsort(x0[:, 0])] = np.argsort(x1[:, 0])
            mismatches += int(not np.array_equal(j, rank))
        ev.holds(
            f"k={k}: batches whose permutation != rank matching",
            mismatches == 0,
            measured=mismatches,
            expected=0,
            why="exact (continuous data, no ties)",
        )
    return ev.verdict()


# ----------------------------------------------------------------------------------------------
# mfm/coupling-cost-ordering
# ----------------------------------------------------------------------------------------------


def _ordering_task(n_batches: int, k: int, seed: list[int], ot_name: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ot_fn = _MARGINAL_COUPLINGS[ot_name]
    out = {n: np.empty(n_batches) for n in ("batchot", "stable", "condot", "random_perm", "eot_plan")}
    for b in range(n_batches):
        x0, x1 = rng.standard_normal((k, 2)), eight_gaussians(k, rng)
        c = squared_distances(x0, x1)
        r = np.arange(k)
        out["batchot"][b] = c[r, ot_fn(x0, x1, rng)].mean()
        out["stable"][b] = c[r, gale_shapley(c)[0]].mean()
        out["condot"][b] = c[r, r].mean()
        out["random_perm"][b] = c[r, rng.permutation(k)].mean()
        out["eot_plan"][b] = (entropic_plan(x0, x1) * c).sum() / k
    return out


@check("mfm/coupling-cost-ordering")
def check_cost_ordering(ctx: Context, ot_coupling: str = "batchot", n_batches: int | None = None) -> Verdict:
    """On every batch BatchOT's cost is at most that of Stable, CondOT, a random permutation and the EOT plan.

    ``ot_coupling="stable"`` substitutes another coupling for BatchOT (negative control).
    """
    seed = _seed_list(ctx, 46)
    ev = Evidence(source="spec mfm.md §1.6, §3 (derived: BatchOT minimises over B_k)", seed=seed)
    b = n_batches or 1000
    chunks = 5
    res = sweep(
        ctx.executor,
        _ordering_task,
        [dict(n_batches=b // chunks, k=64, seed=[*seed, n], ot_name=ot_coupling) for n in range(chunks)],
    )
    costs = {n: np.concatenate([r[n] for r in res]) for n in res[0]}
    for other in ("stable", "condot", "random_perm", "eot_plan"):
        gap = (costs["batchot"] - costs[other]).max()
        ev.at_most(f"max over batches of c(BatchOT) - c({other})", gap, 1e-12, why="exact inequality; slack 1e-12")
    for n, c in costs.items():
        ev.report(f"mean cost {n}", float(c.mean()))
    ev.detail("n_batches", costs["batchot"].size)
    ev.detail("tier_note", "spec size B=1000 in both tiers")
    return ev.verdict()


# ----------------------------------------------------------------------------------------------
# mfm/batcheot-limits
# ----------------------------------------------------------------------------------------------


@check("mfm/batcheot-limits")
def check_batcheot_limits(ctx: Context, plan_fn: Callable | None = None) -> Verdict:
    """Entropic plans interpolate between BatchOT (eps -> 0) and the uniform plan (eps -> inf).

    ``plan_fn(x0, x1, eps_rel) -> pi`` replaces the entropic solver (negative control).
    """
    seed = _seed_list(ctx, 47)
    ev = Evidence(source="spec mfm.md §1.6, §3 (derived: entropy bounds H(P) <= 2 ln k, H(perm) = ln k)", seed=seed)
    plan = plan_fn or (lambda a, b, e: entropic_plan(a, b, e))
    rng = np.random.default_rng(seed)
    k = 64
    grid = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 1e6)
    excess = np.empty((20, len(grid)))
    bound = np.empty_like(excess)
    ot_cost = np.empty(20)
    uniform_err = np.empty(20)
    uniform_bound = np.empty(20)
    marg_err = 0.0
    for bi in range(20):
        x0, x1 = rng.standard_normal((k, 2)), eight_gaussians(k, rng)
        c = squared_distances(x0, x1)
        ot_cost[bi] = c[np.arange(k), batch_ot_coupling(x0, x1)].mean()
        for ei, e in enumerate(grid):
            pi = plan(x0, x1, e)
            marg_err = max(marg_err, np.abs(pi.sum(0) - 1).max(), np.abs(pi.sum(1) - 1).max())
            excess[bi, ei] = (pi * c).sum() / k - ot_cost[bi]
            bound[bi, ei] = e * c.mean() * np.log(k)
            if e == 1e6:
                uniform_err[bi] = np.abs(k * pi - 1.0).max()  # pi doubly stochastic: uniform entries 1/k
                uniform_bound[bi] = np.expm1(2 * (c.max() - c.min()) / (e * c.mean()))
    ev.at_least("min excess <P_eps, C> - OT", excess.min(), -1e-8, why="OT is the minimum over plans; Sinkhorn tol")
    ev.at_most("max of excess - eps ln k", (excess - bound).max(), 1e-8, why="exact entropy bound; slack 1e-8")
    ev.at_most("eps_rel=1e-4: max relative gap to OT", (excess[:, 0] / ot_cost).max(), 1e-3, why="spec §3 criterion")
    ev.at_most(
        "eps_rel=1e6: max over batches of |k pi_ij - 1| / (e^{2 osc(C)/eps} - 1)",
        (uniform_err / uniform_bound).max(),
        1.0,
        why="derived bound: the Sinkhorn potentials confine (f_i + g_j - C_ij)/eps to [-2 osc C/eps, 2 osc C/eps]",
    )
    ev.report(
        "eps_rel=1e6: max |k pi_ij - 1| (spec tolerance 1e-6 is below the exact plan's first-order"
        " deviation for this data; see the derived bound)",
        float(uniform_err.max()),
    )
    ev.at_most("plan row/col sum error", marg_err, 1e-9, why="Sinkhorn tolerance 1e-10")
    mean_excess = excess.mean(0)
    ev.holds(
        "expected cost non-decreasing in eps",
        bool(np.all(np.diff(mean_excess) >= -1e-9)),
        measured=mean_excess,
        expected="non-decreasing",
        why="derived monotonicity; Sinkhorn slack 1e-9",
    )
    ev.detail("eps_rel_grid", list(grid))
    return ev.verdict()


# ----------------------------------------------------------------------------------------------
# mfm/stable-matching-properties
# ----------------------------------------------------------------------------------------------


def blocking_pairs(cost: np.ndarray, j: np.ndarray) -> int:
    """Number of pairs (i, j') that both prefer each other to their partners (strictly)."""
    k = cost.shape[0]
    partner_of_col = np.empty(k, dtype=int)
    partner_of_col[j] = np.arange(k)
    row_cur = cost[np.arange(k), j][:, None]
    col_cur = cost[partner_of_col, np.arange(k)][None, :]
    return int(((cost < row_cur) & (cost < col_cur)).sum())


@check("mfm/stable-matching-properties")
def check_stable_matching(ctx: Context, matcher: Callable | None = None) -> Verdict:
    """Gale–Shapley: permutation, no blocking pair, equals global greedy, proposer side irrelevant, <= k^2 proposals.

    ``matcher(cost) -> (j, proposals)`` replaces Gale–Shapley (negative control).
    """
    seed = _seed_list(ctx, 48)
    ev = Evidence(source="spec mfm.md §1.6 (Gale–Shapley; derived uniqueness = greedy)", seed=seed)
    match = matcher or (lambda c: gale_shapley(c, "rows"))
    rng = np.random.default_rng(seed)
    for k in (8, 64, 256):
        bad_perm = blocking = not_greedy = side = too_many = 0
        for _ in range(100):
            c = squared_distances(rng.standard_normal((k, 2)), eight_gaussians(k, rng))
            j, props = match(c)
            bad_perm += int(not is_permutation(j))
            blocking += blocking_pairs(c, j)
            not_greedy += int(not np.array_equal(j, greedy_matching(c)))
            side += int(not np.array_equal(j, gale_shapley(c, "cols")[0]))
            too_many += int(props > k * k)
        for name, val in (
            ("non-permutations", bad_perm),
            ("blocking pairs", blocking),
            ("!= global greedy", not_greedy),
            ("!= cols-proposing result", side),
            ("> k^2 proposals", too_many),
        ):
            ev.holds(f"k={k}: {name} over 100 batches", val == 0, measured=val, expected=0, why="exact")
    return ev.verdict()


# ----------------------------------------------------------------------------------------------
# mfm/theorem-d.8-monotone-cost, mfm/theorem-4.2-cost-limit
# ----------------------------------------------------------------------------------------------


def d8_plan(full: bool, dims: tuple[int, ...] = (1, 2, 8, 32)) -> dict[int, tuple[tuple[int, ...], list[int]]]:
    """Per dimension: the batch sizes k and the number of batches per k.

    Spec sizes (k <= 1024, B = max(200, 2^17/k)) under ``full``, and always for d = 1 (exact
    matching is sorting there, so it is cheap). The fast tier uses k <= 256 and
    B = max(100, 2^14/k) for d >= 2.
    """
    spec_ks = tuple(2**n for n in range(11))
    out = {}
    for d in dims:
        if full or d == 1:
            out[d] = (spec_ks, [max(200, 2**17 // k) for k in spec_ks])
        else:
            ks = spec_ks[:9]
            out[d] = (ks, [max(100, 2**14 // k) for k in ks])
    return out


def d8_sweep(ctx: Any, matcher: str = "ot", dims: tuple[int, ...] = (1, 2, 8, 32)) -> dict[str, Any]:
    """c_k means and SEs per (d, k) through the executor (shared by Thm D.8, Thm 4.2 and the figure)."""
    seed = _seed_list(ctx, 49)
    key = (tuple(seed), ctx.full, matcher, tuple(dims))
    if key in _D8_MEMO:
        return _D8_MEMO[key]
    plan = d8_plan(ctx.full, tuple(dims))
    tasks = [dict(d=d, k=k, n_batches=nb, seed=seed, matcher=matcher) for d in dims for k, nb in zip(*plan[d])]
    res = iter(sweep(ctx.executor, minibatch_ot_costs, tasks))
    per_d = {}
    for d in dims:
        ks, nbs = plan[d]
        rs = [next(res) for _ in ks]
        mu, var = d8_target(d)
        per_d[d] = {
            "ks": np.array(ks),
            "batches": nbs,
            "mean": np.array([r.mean() for r in rs]),
            "se": np.array([r.std(ddof=1) / np.sqrt(r.size) for r in rs]),
            "w2": gaussian_w2_squared(np.zeros(d), np.eye(d), mu, np.diag(var)),
            "c1_exact": float(mu @ mu + d + var.sum()),
        }
    out = {"dims": tuple(dims), "per_d": per_d, "seed": seed}
    _D8_MEMO[key] = out
    return out


_D8_MEMO: dict[tuple, dict[str, Any]] = {}


def _d8_tier_note(full: bool) -> str:
    return (
        "spec sizes: k <= 1024, B = max(200, 2^17/k)"
        if full
        else "fast tier: d=1 spec sizes (sorting); d>=2 k <= 256, B = max(100, 2^14/k); spec sizes under --full"
    )


@check("mfm/theorem-d.8-monotone-cost")
def check_theorem_d8(ctx: Context, matcher: str = "ot") -> Verdict:
    """c_k non-increasing in k (one-sided 4 SE) and c_1 = ||mu||^2 + d + tr Sigma.

    ``matcher="anti"`` uses the cost-maximising permutation (negative control).
    """
    r = d8_sweep(ctx, matcher)
    ev = Evidence(source="Theorem D.8 (reported), spec mfm.md §2, §3", seed=r["seed"])
    for d in r["dims"]:
        q = r["per_d"][d]
        m, se = q["mean"], q["se"]
        ev.within(f"d={d}: c_1 vs ||mu||^2 + d + tr Sigma", m[0], q["c1_exact"], atol=4 * se[0], why=FOUR_SE)
        z = (m[1:] - m[:-1]) / np.sqrt(se[1:] ** 2 + se[:-1] ** 2)
        ev.at_most(
            f"d={d}: max (c_2k - c_k) / SE_diff",
            z.max(),
            4.0,
            why="one-sided 4 SE per consecutive pair (family-wise false alarm ~0.1%)",
        )
        ev.report(f"d={d}: c_k for k={list(q['ks'])}", m)
    ev.detail("tier", _d8_tier_note(ctx.full))
    return ev.verdict()


@check("mfm/theorem-4.2-cost-limit")
def check_theorem_42_cost(ctx: Context, matcher: str = "ot") -> Verdict:
    """c_k >= W2^2 - 4 SE, c_k -> W2^2 in 1-D, normalised gap grows with d.

    ``matcher="identity"`` (independent pairs) is the negative control.
    """
    r = d8_sweep(ctx, matcher)
    ev = Evidence(source="Theorem 4.2 (reported), spec mfm.md §2 (derived route), §3", seed=r["seed"])
    g, g_se, kmax = {}, {}, {}
    for d in r["dims"]:
        q = r["per_d"][d]
        m, se, w2 = q["mean"], q["se"], q["w2"]
        ev.at_least(f"d={d}: min_k (c_k - W2^2) / SE", ((m - w2) / se).min(), -4.0, why=FOUR_SE)
        g[d] = (m[-1] - w2) / (q["c1_exact"] - w2)
        g_se[d] = se[-1] / (q["c1_exact"] - w2)
        kmax[d] = int(q["ks"][-1])
    q1 = r["per_d"][1]
    ev.at_most(
        f"d=1: |c_{kmax[1]} - W2^2| / W2^2",
        abs(q1["mean"][-1] - q1["w2"]) / q1["w2"],
        0.02,
        why="spec §3 criterion (reference excess ~0.4% at k=1024)",
    )
    ev.at_most(f"g_1 (normalised gap, d=1, k={kmax[1]})", g[1], 0.02, why="spec §3 criterion")
    for a, b in itertools.pairwise((2, 8, 32)):
        z = (g[b] - g[a]) / np.sqrt(g_se[a] ** 2 + g_se[b] ** 2)
        ev.at_least(f"(g_{b} - g_{a}) / SE at k={kmax[b]}", z, 4.0, why=FOUR_SE + "; slower convergence in higher d")
    ev.report("g_1 vs g_2 (both within sampling error of 0)", [g[1], g[2]])
    ev.report("normalised gaps g_d", {str(d): g[d] for d in r["dims"]})
    ev.detail("k_max", kmax)
    ev.detail("tier", _d8_tier_note(ctx.full))
    return ev.verdict()


# ----------------------------------------------------------------------------------------------
# mfm/straightness-identity, mfm/sandwich
# ----------------------------------------------------------------------------------------------

SANDWICH_FAMILY = ((0.0, 0.0), (0.5, 0.0), (0.9, np.pi / 4), (1.0, 0.0), (1.0, np.pi / 3))


@check("mfm/straightness-identity")
def check_straightness_identity(ctx: Context, steps: int = 1000, n_starts: int | None = None) -> Verdict:
    """Eq. 18 form of S (Simpson on the RK4 grid) equals KE - C (KE carried by RK4).

    Part (i): exact affine fields of the Gaussian family. Part (ii), trained CondOT/BatchOT
    MLPs, runs under ``--full`` only. ``steps`` too small to resolve the integrals (e.g. 4) is
    the negative control.
    """
    seed = _seed_list(ctx, 50)
    ev = Evidence(source="Eqs. 18–19 (reported existence; derived form), spec mfm.md §1.4, §3", seed=seed)
    m = n_starts or 2000
    x0 = np.random.default_rng(seed).standard_normal((m, 2))
    fields: list[tuple[str, Any]] = [
        (f"exact rho={r}, phi={p:.3f}", GaussianCoupling(rho=r, phi=p).velocity) for r, p in SANDWICH_FAMILY[:3]
    ]
    if ctx.full:
        from proofs_checks.mfm_learned import comparison_models

        fields += [(f"trained {n}", mdl) for n, mdl in comparison_models(ctx).items()]
    for name, v in fields:
        fm = flow_metrics(v, x0, steps, error_estimate=False)
        rel = fm["quadrature_gap"] / fm["kinetic_energy"]
        ev.at_most(
            f"{name}: |S_18 - (KE - C)| / KE", rel, 1e-6, why="quadrature consistency (RK4 + Simpson, 4th order)"
        )
        ev.report(f"{name}: S, KE, C", [fm["straightness"], fm["kinetic_energy"], fm["transport_cost"]])
    ev.detail("steps", steps)
    ev.detail(
        "parts", "(i) exact fields" + (" + (ii) trained MLPs" if ctx.full else "; (ii) trained MLPs under --full")
    )
    return ev.verdict()


@check("mfm/sandwich")
def check_sandwich(ctx: Context, w2_fn: Callable | None = None) -> Verdict:
    """W2^2 <= C(psi_1) <= KE <= c(q) for exact marginal fields; equalities at the deterministic couplings.

    ``w2_fn(fam)`` replaces the W2 closed form (negative control).
    """
    ev = Evidence(source="spec mfm.md §1.4 sandwich (derived), §1.5 closed forms, §3")
    w2f = w2_fn or (lambda fam: fam.w2_squared())
    for rho, phi in SANDWICH_FAMILY:
        fam = GaussianCoupling(rho=rho, phi=phi)
        w2, c, ke, cq = w2f(fam), fam.transport_cost(), fam.kinetic_energy(), fam.coupling_cost()
        tag = f"rho={rho}, phi={phi:.3f}"
        chain = np.array([c - w2, ke - c, cq - ke])
        ev.at_least(f"{tag}: (C - W2^2, KE - C, c(q) - KE)", chain, -1e-9, why="DOP853 rtol 1e-12, quad 1e-13")
        ev.within(f"{tag}: min L_JCFM = c(q) - KE", fam.expected_spread(), cq - ke, atol=1e-9, why="quad tolerances")
        if (rho, phi) == (1.0, 0.0):
            ev.within(f"{tag}: W2^2 = C = KE = c(q)", [c, ke, cq], w2, atol=1e-9, why="deterministic OT coupling")
        if (rho, phi) == (1.0, np.pi / 3):
            ev.within(f"{tag}: C = KE = c(q)", [c, ke], cq, atol=1e-9, why="straight non-crossing lines")
            ev.at_least(f"{tag}: c(q) - W2^2", cq - w2, 1e-3, why="not the OT map (rotation)")
        ev.report(f"{tag}: W2^2, C, KE, c(q)", [w2, c, ke, cq])
    return ev.verdict()


# ----------------------------------------------------------------------------------------------
# mfm/condot-gaussian-reference-values
# ----------------------------------------------------------------------------------------------


@check("mfm/condot-gaussian-reference-values")
def check_gaussian_reference_values(ctx: Context, field_rho: float = 0.0, n: int | None = None) -> Verdict:
    """1-D independent coupling: min L_JCFM, KE, C, S by SymPy, quad, ODE + MC and loss MC.

    ``field_rho != 0`` integrates the field of another coupling (negative control).
    """
    from scipy.integrate import quad

    seed = _seed_list(ctx, 51)
    ev = Evidence(source="spec mfm.md §1.5, §3 (derived closed forms)", seed=seed)
    m_mc = n or 100_000
    num = gaussian_1d_reference_numeric()
    sym = gaussian_1d_reference_symbolic()
    ev.detail("closed_form_KE_rho0", str(sym["ke_rho0"]))
    ev.detail("closed_form_minloss_rho0", str(sym["loss_rho0"]))
    for ci, (mm, s) in enumerate(((0.0, 1.0), (0.0, 2.0), (2.0, 0.5))):
        tag = f"(m,s)=({mm},{s})"
        ke_q = quad(lambda t, mm=mm, s=s: num["ke_integrand"](t, mm, s, 0.0), 0, 1, epsabs=1e-13, epsrel=1e-12)[0]
        loss_q = quad(lambda t, mm=mm, s=s: num["spread"](t, mm, s, 0.0), 0, 1, epsabs=1e-13, epsrel=1e-12)[0]
        ke_s, loss_s = float(num["ke_rho0"](mm, s)), float(num["loss_rho0"](mm, s))
        c_s = float(num["transport_cost"](mm, s))
        ev.within(f"{tag}: KE symbolic vs quad", ke_s, ke_q, atol=1e-9, why="quad rtol 1e-12")
        ev.within(f"{tag}: min L symbolic vs quad", loss_s, loss_q, atol=1e-9, why="quad rtol 1e-12")
        ev.within(
            f"{tag}: C = W2^2", c_s, gaussian_w2_squared([0.0], [[1.0]], [mm], [[s * s]]), atol=1e-12, why="float64"
        )
        ev.within(
            f"{tag}: c(q) = KE + min L",
            float(num["coupling_cost"](mm, s, 0.0)),
            ke_s + loss_s,
            atol=1e-9,
            why="symbolic identity; float64",
        )
        fam = GaussianCoupling(mu=[mm], sigma=[[s * s]], rho=field_rho)
        rng = np.random.default_rng([*seed, ci])
        x0 = rng.standard_normal((m_mc, 1))
        fm = flow_metrics(fam.velocity, x0, 100, error_estimate=False, return_samples=True)
        sp_ = fm["samples"]
        for key, ref in (("kinetic_energy", ke_s), ("transport_cost", c_s), ("straightness", ke_s - c_s)):
            se = sp_[key].std(ddof=1) / np.sqrt(m_mc)
            ev.within(
                f"{tag}: ODE+MC {key}",
                fm[key],
                ref,
                atol=4 * se + 1e-8,
                why=FOUR_SE + " (+1e-8 for RK4 with 100 steps, error O(h^4))",
            )
        x0p, x1p = GaussianCoupling(mu=[mm], sigma=[[s * s]], rho=0.0).sample(m_mc, rng)
        t = rng.random(m_mc)
        xt = (1 - t)[:, None] * x0p + t[:, None] * x1p
        u = num["A"](t, mm, s, field_rho)[:, None] * xt + num["b"](t, mm, s, field_rho)[:, None]
        loss = ((u - (x1p - x0p)) ** 2).sum(1)
        ev.within(
            f"{tag}: MC JCFM loss of the exact field vs min L",
            loss.mean(),
            loss_s,
            atol=4 * loss.std(ddof=1) / np.sqrt(m_mc),
            why=FOUR_SE,
        )
        ev.report(f"{tag}: minL, KE, C, S", [loss_s, ke_s, c_s, ke_s - c_s])
    return ev.verdict()
