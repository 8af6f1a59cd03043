"""Checks of the ``common/`` claims: Gaussian closed forms shared by two papers.

The couplings paper compares minibatch OT costs with the Gaussian :math:`W_2^2`; the
linear-diffusion paper measures generated distributions by the Gaussian KL. Each check
compares the closed form of :mod:`theory.gaussians` with an independent computation.
Overrides (``w2=``, ``kl=``) are the injection points of the negative controls.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import ot

from numerics.gaussians import (
    expected_sorted_matching_cost,
    gaussian_kl_mp,
    kl_monte_carlo,
    random_spd,
    sorted_matching_cost,
)
from proofs_checks.registry import Context, Evidence, Verdict, check
from theory.gaussians import (
    gaussian_kl,
    gaussian_kl_diagonal,
    gaussian_w2_squared,
    gaussian_w2_squared_diagonal,
    spd_sqrt,
)

W2Fn = Callable[..., float]
KLFn = Callable[..., float]


def _random_pairs(rng: np.random.Generator, dims: tuple[int, ...], cond: float) -> list[tuple[np.ndarray, ...]]:
    return [(rng.normal(size=d), random_spd(d, rng, cond), rng.normal(size=d), random_spd(d, rng, cond)) for d in dims]


@check("common/gaussian-w2-closed-form")
def check_w2_closed_form(ctx: Context, w2: W2Fn = gaussian_w2_squared) -> Verdict:
    seed = ctx.seed_for(100)
    rng = np.random.default_rng(seed)
    ev = Evidence("Bures–Wasserstein closed form (Dowson & Landau 1982; spec mfm.md §1.5)", seed)
    pairs = _random_pairs(rng, (1, 2, 3, 5, 8, 16) * (4 if ctx.full else 2), cond=100.0)
    ours = np.array([w2(*p) for p in pairs])
    pot = np.array([ot.gaussian.bures_wasserstein_distance(m0, m1, c0, c1) ** 2 for m0, c0, m1, c1 in pairs])
    ev.within(
        "max rel. difference to POT ot.gaussian.bures_wasserstein_distance**2",
        float(np.max(np.abs(ours - pot) / pot)),
        0.0,
        atol=1e-10,
        why="two float64 evaluations of one closed form (eigen square roots, cond <= 1e2): rounding only",
    )
    diag = [
        (rng.normal(size=d), rng.uniform(0.1, 4.0, d), rng.normal(size=d), rng.uniform(0.1, 4.0, d)) for d in (1, 4, 9)
    ]
    sym = np.array([gaussian_w2_squared_diagonal(*p) for p in diag])
    num = np.array([w2(m0, np.diag(a), m1, np.diag(b)) for m0, a, m1, b in diag])
    ev.within(
        "diagonal case: general form vs SymPy-derived sum (m0-m1)^2+(sqrt a-sqrt b)^2",
        num,
        sym,
        rtol=1e-12,
        why="exact identity; float64 rounding of square roots",
    )
    return ev.verdict()


@check("common/gaussian-w2-empirical-1d")
def check_w2_empirical_1d(ctx: Context, w2: W2Fn = gaussian_w2_squared) -> Verdict:
    seed = ctx.seed_for(101)
    rng = np.random.default_rng(seed)
    n, reps = 200, 4000 if ctx.full else 2000
    ev = Evidence("1-D Gaussian W2 = quantile coupling; finite-n expectation via normal order statistics", seed)
    cases = [(0.0, 1.0, 2.0, 0.5), (1.0, 2.0, -0.5, 0.7), (0.0, 1.0, 0.0, 3.0)]
    z_scores, measured, expected = [], [], []
    for m0, s0, m1, s1 in cases:
        costs = sorted_matching_cost(rng.normal(m0, s0, (reps, n)), rng.normal(m1, s1, (reps, n)))
        # E[cost] = W2^2 + finite-sample bias 2 s0 s1 (1 - mean mu_{i:n}^2); the bias is exact,
        # the W2^2 part comes from the closed form under test.
        bias = expected_sorted_matching_cost(m0, s0, m1, s1, n) - ((m0 - m1) ** 2 + (s0 - s1) ** 2)
        exp = w2([m0], [[s0**2]], [m1], [[s1**2]]) + bias
        se = costs.std(ddof=1) / np.sqrt(reps)
        measured.append(costs.mean())
        expected.append(exp)
        z_scores.append(abs(costs.mean() - exp) / se)
    ev.at_most(
        "|mean sorted-matching cost - (W2^2 + exact bias)| / SE, per case",
        np.array(z_scores),
        4.0,
        why=f"Monte Carlo, {reps} replicates of n={n}: 4 standard errors (false alarm ~6e-5 each)",
    )
    ev.detail("mean empirical cost", measured)
    ev.detail("W2^2 + bias", expected)
    return ev.verdict()


@check("common/gaussian-kl-closed-form")
def check_kl_closed_form(ctx: Context, kl: KLFn = gaussian_kl) -> Verdict:
    seed = ctx.seed_for(102)
    rng = np.random.default_rng(seed)
    ev = Evidence("KL of Gaussians; SymPy integral of the log-density ratio, diagonal case", seed)
    cases = [
        (rng.normal(size=d), rng.uniform(0.05, 5, d), rng.normal(size=d), rng.uniform(0.05, 5, d))
        for d in (1, 3, 7, 20)
    ]
    sym = np.array([gaussian_kl_diagonal(*c) for c in cases])
    num = np.array([kl(m0, np.diag(a), m1, np.diag(b)) for m0, a, m1, b in cases])
    ev.within(
        "Cholesky KL vs lambdified SymPy KL (diagonal)",
        num,
        sym,
        rtol=1e-12,
        why="exact identity; float64 rounding",
    )
    return ev.verdict()


@check("common/gaussian-kl-monte-carlo")
def check_kl_monte_carlo(ctx: Context, kl: KLFn = gaussian_kl) -> Verdict:
    seed = ctx.seed_for(103)
    rng = np.random.default_rng(seed)
    n = 400_000 if ctx.full else 100_000
    ev = Evidence("KL = E_{N0}[log p0 - log p1]", seed)
    z, vals = [], []
    for m0, c0, m1, c1 in _random_pairs(rng, (1, 3, 6), cond=10.0):
        est, se = kl_monte_carlo(m0, c0, m1, c1, n, rng)
        exact = kl(m0, c0, m1, c1)
        z.append(abs(est - exact) / se)
        vals.append((est, exact))
    ev.at_most("|MC - closed form| / SE per pair", np.array(z), 4.0, why=f"Monte Carlo with n={n}: 4 standard errors")
    ev.detail("(MC, closed form) per pair", vals)
    return ev.verdict()


@check("common/gaussian-kl-zero-iff-equal")
def check_kl_zero_iff_equal(ctx: Context, kl: KLFn = gaussian_kl) -> Verdict:
    seed = ctx.seed_for(104)
    rng = np.random.default_rng(seed)
    ev = Evidence("KL >= 0 with equality iff N0 = N1 (Gibbs' inequality)", seed)
    pairs = _random_pairs(rng, (1, 2, 5, 10, 30), cond=10.0)
    same = np.array([kl(m0, c0, m0, c0) for m0, c0, _, _ in pairs])
    ev.within("KL(N, N)", same, 0.0, atol=1e-13, why="exact zero; float64 rounding of d terms of size O(d) at cond 10")
    # Small perturbations: KL is positive and matches its second-order expansion
    # 1/2 dm' S^-1 dm + 1/4 tr((S^-1 dS)^2), so a formula that vanishes too early fails.
    ratios = []
    for m0, c0, _, _ in pairs:
        d = m0.shape[0]
        dm = 1e-3 * rng.normal(size=d)
        e = rng.normal(size=(d, d))
        ds = 1e-3 * (e + e.T) / 2
        quad = 0.5 * dm @ np.linalg.solve(c0, dm) + 0.25 * np.trace(np.linalg.matrix_power(np.linalg.solve(c0, ds), 2))
        ratios.append(kl(m0, c0, m0 + dm, c0 + ds) / quad)
    ev.within(
        "KL(N0, perturbed N0) / second-order expansion",
        np.array(ratios),
        1.0,
        atol=1e-2,
        why="third-order remainder O(1e-3) relative for perturbations of size 1e-3",
    )
    return ev.verdict()


@check("common/gaussian-kl-high-precision")
def check_kl_high_precision(ctx: Context, kl: KLFn = gaussian_kl) -> Verdict:
    seed = ctx.seed_for(105)
    rng = np.random.default_rng(seed)
    cond = 1e8
    ev = Evidence("KL of Gaussians at 50 digits (mpmath) on condition-number-1e8 covariances", seed)
    dims = (2, 4, 6, 8) * (3 if ctx.full else 1)
    # Two families: independent covariances (KL ~ cond, dominated by the trace term) and pairs
    # close in the whitened sense, S1 = S0^{1/2} W S0^{1/2} with cond(W) = 10 (KL ~ d; the case of
    # generated vs target covariances), where the trace and log-determinant terms cancel.
    pairs = _random_pairs(rng, dims, cond=cond)
    for d in dims:
        c0 = random_spd(d, rng, cond)
        h = spd_sqrt(c0)
        c1 = h @ random_spd(d, rng, 10.0) @ h
        m0 = rng.normal(size=d)
        pairs.append((m0, c0, m0 + h @ rng.normal(size=d), (c1 + c1.T) / 2))
    rel = np.array([abs(kl(*p) - float(gaussian_kl_mp(*p, dps=50))) / float(gaussian_kl_mp(*p, dps=50)) for p in pairs])
    eps_ext = float(np.finfo(np.longdouble).eps)
    bound = 16 * max(dims) * max(eps_ext * cond, float(np.finfo(np.float64).eps))
    ev.at_most(
        "max rel. error vs mpmath (dps 50)",
        float(rel.max()),
        bound,
        why=(
            "the inputs are exact binary numbers, so the error is the working precision of the refined "
            "solves: forward error <= c·d·eps_ext·cond (eps_ext = longdouble epsilon); c = 16"
        ),
    )
    ev.report("max rel. error, independent pairs", float(rel[: len(dims)].max()), "issue target 1e-12")
    ev.report("max rel. error, whitened-close pairs", float(rel[len(dims) :].max()), "issue target 1e-12")
    ev.detail("eps_ext", eps_ext)
    return ev.verdict()
