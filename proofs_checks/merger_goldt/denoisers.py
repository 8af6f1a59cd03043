"""Judges of the ``merger-goldt/`` claims on the schedule, the loss and the trained linear denoiser.

Each check reads a measurement of :mod:`numerics.experiments.merger_goldt` and judges it against
the spec (``merger_goldt.md`` §1.1, §1.3–§1.5, §3). The closed form under test is the injection
point of the negative controls: each control passes one wrong schedule, loss, weight law or error
formula, defined here.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments import merger_goldt as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check
from theory import linear_diffusion as sym

FOUR_SE = "Monte Carlo: 4 standard errors (false-alarm rate ~6e-5 per comparison)"


def within_four_se(ev: Evidence, name: str, z, note: str, headline: bool = False) -> bool:
    """``|MC - closed form| / SE <= 4`` for every entry of ``z``; ``note`` names the Monte Carlo sizes."""
    return ev.at_most(name, z, 4.0, basis="statistical", why=f"{FOUR_SE}; {note}", headline=headline)


# -------------------------------------------------------------------------- wrong forms (controls)
def ho_schedule(T: int) -> ld.Schedule:
    """Ho et al.'s schedule, :math:`\\beta_{\\max}=0.02`, in place of the paper's :math:`10^{-2}`."""
    return ld.beta_schedule(T, beta_max=0.02)


def schedule_indexed_from_zero(T: int) -> ld.Schedule:
    """:math:`\\beta_t` evaluated at :math:`t-1` (an off-by-one in the step index)."""
    delta = (1e-2 - 1e-4) / T
    return ld.beta_schedule(T, beta_min=1e-4 - delta, beta_max=1e-2 - delta)


def loss_without_bias_term(w: np.ndarray, c: np.ndarray, cov_hat: np.ndarray, s: float) -> float:
    """The closed-form loss with the bias term :math:`\\|c\\|^2` dropped."""
    return exp.noise_averaged_loss(w, np.zeros_like(c), cov_hat, s)


def weights_without_ridge(cov_hat: np.ndarray, schedule: ld.Schedule, t: int, ridge: float) -> np.ndarray:
    """:math:`W^\\star` that ignores the ridge."""
    return ld.linear_denoiser_weights(cov_hat, schedule, t, 0.0)


def flow_at_half_rate(cov_hat: np.ndarray, s: float, eta_tau: float) -> np.ndarray:
    """Gradient flow relaxing at rate :math:`\\eta` instead of :math:`2\\eta` (a loss with a factor 1/2)."""
    return exp.gradient_flow_weights(cov_hat, s, eta_tau / 2)


def descent_one_step_short(cov_hat: np.ndarray, s: float, lr: float, n: int) -> np.ndarray:
    """The discrete gradient-descent formula with :math:`n-1` steps for :math:`n`."""
    return exp.gradient_descent_weights(cov_hat, s, lr, n - 1)


def bayes_error_without_abar(lam: np.ndarray, s: float) -> float:
    """Bayes error :math:`\\frac1d\\sum\\lambda/(\\lambda+1-\\bar\\alpha)` with the :math:`\\bar\\alpha` factors dropped."""
    return float(np.mean(lam / (lam + s)))


def e_test_without_mean_term(w, u, lam, s, mean_offset=None) -> np.ndarray:
    """:math:`E^{\\rm test}` without the mean term :math:`\\bar\\alpha_t\\|W(\\mu-\\hat\\mu)\\|^2`."""
    return ld.denoising_error(w, u, lam, s)


def det_equiv_without_fluctuation_term(lam: np.ndarray, n: int, s: float, ridge: float = 0.0) -> float:
    """Deterministic equivalent that keeps :math:`\\kappa` but drops the :math:`\\mathrm{df}_2` term of :math:`\\operatorname{tr}GCG`."""
    ab = 1 - s
    z = (s + ridge) / ab
    kappa = ld.effective_regularisation(lam, n, z)
    r = 1 / (lam + kappa)
    tr_g = kappa / (z * ab) * r.sum()
    tr_gcg = kappa**2 / (z * ab) ** 2 * np.sum((ab * lam + s) * r**2)
    return float((lam.size - 2 * s * tr_g + s * tr_gcg) / lam.size)


def weights_null_modes_dropped(lam_hat: np.ndarray, s: float, ridge: float = 0.0) -> np.ndarray:
    """Optimal per-mode weights set to 0 on the null modes (a pseudo-inverse in place of the inverse)."""
    return np.where(np.asarray(lam_hat) > 0, ld.mode_weights(lam_hat, s, ridge), 0.0)


def mode_weights_without_ridge(lam_hat: np.ndarray, s: float, ridge: float = 0.0) -> np.ndarray:
    """Per-mode weights that ignore the ridge."""
    return ld.mode_weights(lam_hat, s, 0.0)


# -------------------------------------------------------------------------- checks
@check(
    "merger-goldt/beta-schedule",
    title="linear $\\beta_t$ schedule values, $\\bar\\alpha_T=6.2705\\times10^{-3}$ at $T=1000$",
    tag="reported",
    kinds=("symbolic",),
    tier=exp.BETA_SCHEDULE,
    controls={
        "ho-schedule": Control(fault={"schedule": ho_schedule}, breaks="beta_T", why="beta_max = 0.02 (Ho et al.)"),
        "step-index-from-zero": Control(
            fault={"schedule": schedule_indexed_from_zero}, breaks="beta_1", why="beta_t evaluated at t - 1"
        ),
    },
)
def check_beta_schedule(run: RunSpec, schedule=ld.beta_schedule) -> Verdict:
    """Linear schedule values at T = 1000 (spec §1.1), float64 against a 30-digit mpmath product.

    Controls: Ho et al.'s schedule; the step index off by one.
    """
    m = exp.schedule_values(run, schedule)
    ev = Evidence("spec merger_goldt.md §1.1 (linear schedule, slides) and §3 row beta-schedule")
    ev.within("beta_1", m.beta[0], 1.099e-4, atol=1e-15, basis="numerical", why="exact decimal value; float64 rounding")
    ev.within("beta_T", m.beta[-1], 1e-2, atol=1e-15, basis="numerical", why="exact decimal value; float64 rounding")
    ev.within(
        "alpha_bar_T",
        m.abar_T,
        6.2705e-3,
        atol=5e-8,
        basis="numerical",
        why="reference quoted to 5 significant digits (half a unit of the 5th digit)",
        headline=True,
    )
    ev.within(
        "sum_t beta_t",
        m.beta.sum(),
        5.05495,
        atol=1e-12,
        basis="numerical",
        why="exact sum of the arithmetic series; float64",
    )
    ev.at_most(
        "alpha_bar_T float64 vs mpmath of the spec's formula (rel)",
        m.rel_mp,
        1e-12,
        basis="numerical",
        why="T = 1000 products of float64 factors against mp.dps = 30",
    )
    for T, abar in m.abar_T_other:
        ev.report(f"alpha_bar_T at T={T}", abar, "report-only T variant (spec §6)")
    return ev.verdict()


@check(
    "merger-goldt/loss-depends-on-moments",
    title="noise-averaged loss is a closed form in $(\\hat\\mu,\\hat\\Sigma)$",
    tag="derived",
    kinds=("symbolic", "monte-carlo"),
    tier=exp.LOSS_MOMENTS,
    controls={
        "bias-term-dropped": Control(
            fault={"loss": loss_without_bias_term}, breaks="|MC loss - closed form| / SE*", why="||c||^2 forgotten"
        )
    },
)
def check_loss_depends_on_moments(run: RunSpec, loss=exp.noise_averaged_loss) -> Verdict:
    """The noise-averaged loss is the closed form of §1.3 in (mu_hat, Sigma_hat): SymPy (d = 2) and Monte Carlo.

    Control: the closed form without the bias term.
    """
    m = exp.loss_moments(run, loss)
    sz = run.sizes(exp.LOSS_MOMENTS)
    ev = Evidence("spec merger_goldt.md §1.3 (noise-averaged loss, derived)", run.seed_for(61))
    residual = sym.loss_moment_residual()
    ev.holds(
        "SymPy: E_eps[loss] - closed form (d=2, two data points)",
        residual == 0,
        measured=str(residual),
        expected="0",
        basis="theory",
        why="exact Gaussian moments",
    )
    within_four_se(
        ev,
        f"|MC loss - closed form| / SE, {', '.join(m.labels)}",
        m.z,
        f"{sz.noises} noises per training point, N = {sz.n}",
        headline=True,
    )
    ev.report("MC loss per t", m.mc.tolist())
    ev.report("closed form per t", m.closed_form.tolist())
    return ev.verdict()


@check(
    "merger-goldt/ridge-optimum",
    title="ridge-regularised optimal linear denoiser $W^\\star=\\sqrt{1-\\bar\\alpha}(\\bar\\alpha\\hat\\Sigma+(1-\\bar\\alpha+\\lambda))^{-1}$",
    tag="derived",
    kinds=("symbolic", "training"),
    tier=exp.RIDGE_OPTIMUM,
    controls={
        "ridge-ignored": Control(
            fault={"w_star": weights_without_ridge}, breaks="max|W_GD - W*|*", why="W* computed with lambda = 0"
        )
    },
)
def check_ridge_optimum(run: RunSpec, w_star=ld.linear_denoiser_weights) -> Verdict:
    """W* of §1.3 minimises the ridge loss: SymPy gradient, float64 gradient descent, Adam on the sampled loss.

    Control: the closed form without the ridge.
    """
    m = exp.ridge_optimum(run, w_star)
    sz = run.sizes(exp.RIDGE_OPTIMUM)
    ev = Evidence("spec merger_goldt.md §1.3 (ridge optimum, derived)", run.seed_for(62))
    grad = sym.ridge_gradient_residual()
    ev.holds(
        "SymPy: gradient at W* (d=2)",
        grad == sp.zeros(2, 2),
        measured=str(grad),
        expected="0",
        basis="theory",
        why="exact simplification",
    )
    ev.at_most(
        "max GD gradient norm over cases", m.grad_norm.max(), sz.grad_tol, basis="spec", why="stopping rule of the spec"
    )
    ev.at_most(
        "max|W_GD - W*| over cases (N, ridge, t)",
        m.gd_error.max(),
        1e-8,
        basis="theory",
        why="gradient norm < 1e-12 over the smallest Hessian eigenvalue (>= 2(1 - alpha_bar_10) ~ 3e-3) bounds it by 3e-10",
        headline=True,
    )
    n, ridge, t = m.cases[-1]
    ev.at_most(
        f"Adam relative Frobenius error (ridge {ridge}, t={t}, N={n})",
        m.adam_error,
        0.02,
        basis="spec",
        why="stochastic optimisation noise of Adam on a well-conditioned quadratic (spec 2%)",
    )
    ev.report("max|W_GD - W*| per case", m.gd_error.tolist(), f"cases (N, ridge, t): {list(m.cases)}")
    ev.detail("gd_method", m.gd_method)
    return ev.verdict()


@check(
    "merger-goldt/gradient-flow-solution",
    title="closed-form gradient-flow / gradient-descent trajectories of $W_t$",
    tag="derived",
    kinds=("high-precision-ode", "training"),
    tier=exp.GRADIENT_FLOW,
    controls={
        "half-rate": Control(
            fault={"flow": flow_at_half_rate},
            breaks="DOP853 ODE vs per-mode closed form W(tau)*",
            why="rate eta instead of 2 eta (loss with a factor 1/2)",
        ),
        "gd-one-step-short": Control(
            fault={"descent": descent_one_step_short},
            breaks="PyTorch GD vs discrete closed form*",
            why="(I - 2 eta C)^(n-1) for n steps",
        ),
    },
)
def check_gradient_flow_solution(
    run: RunSpec, flow=exp.gradient_flow_weights, descent=exp.gradient_descent_weights
) -> Verdict:
    """Gradient-flow and gradient-descent trajectories of W_t (§1.3) against DOP853, expm and PyTorch GD.

    Controls: the flow at half rate; the discrete formula one step short.
    """
    m = exp.gradient_flow(run, flow, descent)
    ev = Evidence("spec merger_goldt.md §1.3 (gradient flow / descent, derived)", run.seed_for(62))
    res = sym.gradient_flow_residuals()
    ev.holds(
        "SymPy: per-mode GF ODE, w(0) and GD-step residuals",
        res == (0, 0, 0),
        measured=str(res),
        expected="(0, 0, 0)",
        basis="theory",
        why="exact simplification",
    )
    ev.at_most(
        f"DOP853 ODE vs per-mode closed form W(tau), max abs over t x tau = {list(m.steps)} x {list(m.taus)}",
        m.ode_error.max(),
        1e-8,
        basis="numerical",
        why="DOP853 at rtol 1e-12 / atol 1e-14 (spec 1e-8)",
        headline=True,
    )
    ev.at_most(
        "scipy expm formula vs per-mode closed form W(tau), max abs",
        m.expm_error.max(),
        1e-10,
        basis="numerical",
        why="two float64 evaluations of one matrix function (Pade expm, eigen-decomposition): rounding ~1e-13",
    )
    ev.at_most(
        "GD stability 2 eta lambda_max(C_t) per t",
        m.stability,
        2.0,
        basis="theory",
        why="gradient descent on a quadratic is stable iff the step times the Hessian is < 2",
    )
    ev.at_most(
        "PyTorch GD vs discrete closed form, max abs per t",
        m.gd_error,
        1e-10,
        basis="numerical",
        why="1000 float64 steps of a contraction: rounding ~1e-12",
    )
    return ev.verdict()


@check(
    "merger-goldt/bayes-optimal-linear",
    title="linear denoiser is Bayes-optimal for Gaussian data; Bayes error formula",
    tag="derived",
    kinds=("symbolic", "monte-carlo"),
    tier=exp.BAYES_OPTIMAL,
    controls={
        "abar-dropped": Control(
            fault={"bayes_error": bayes_error_without_abar},
            breaks="|MC error - Bayes error| / SE*",
            why="Bayes error without the alpha_bar factors",
        )
    },
)
def check_bayes_optimal_linear(run: RunSpec, bayes_error=ld.bayes_error) -> Verdict:
    """With population moments the linear denoiser is Bayes-optimal (SymPy) and its error is the Bayes error (MC).

    Control: the Bayes-error formula without the alpha_bar factors.
    """
    m = exp.bayes_optimal(run, bayes_error)
    sz = run.sizes(exp.BAYES_OPTIMAL)
    ev = Evidence("spec merger_goldt.md §1.4 (Bayes error, derived)", run.seed_for(63))
    res = sym.bayes_conditioning_residual()
    ev.holds(
        "SymPy: Gaussian conditioning gives W* and the Bayes error (d=2)",
        res == sp.zeros(3, 2),
        measured=str(res.tolist()),
        expected="0",
        basis="theory",
        why="exact simplification",
    )
    within_four_se(
        ev, f"|MC error - Bayes error| / SE, {', '.join(m.labels)}", m.z, f"{sz.samples} fresh (x, eps) per t", True
    )
    ev.report("MC error per t", m.mc.tolist())
    return ev.verdict()


@check(
    "merger-goldt/test-train-error-formulas",
    title="closed forms of test and train denoising errors",
    tag="derived",
    kinds=("monte-carlo",),
    tier=exp.ERROR_FORMULAS,
    controls={
        "mean-term-dropped": Control(
            fault={"test_error": e_test_without_mean_term},
            breaks="max over cases (N, ridge, t) of |MC - E_test| / SE",
            why="E_test without alpha_bar ||W (mu - mu_hat)||^2",
        )
    },
)
def check_test_train_error_formulas(run: RunSpec, test_error=ld.denoising_error, train_error=ld.train_error) -> Verdict:
    """Closed forms of E_test (mean term included) and E_train (§1.4) against Monte Carlo.

    Control: E_test without its mean term.
    """
    m = exp.error_formulas(run, test_error, train_error)
    sz = run.sizes(exp.ERROR_FORMULAS)
    ev = Evidence("spec merger_goldt.md §1.4 (test/train errors, derived)", run.seed_for(64))
    within_four_se(
        ev,
        "max over cases (N, ridge, t) of |MC - E_test| / SE",
        m.test.z.max(),
        f"{sz.test_samples} fresh samples",
        True,
    )
    within_four_se(
        ev,
        "max over cases (N, ridge, t) of |MC - E_train| / SE",
        m.train.z.max(),
        f"all N training points x {sz.train_noises} noises (one noise draw shared by the points)",
    )
    ev.detail("cases (N, ridge, t)", m.cases)
    ev.report("|MC - E_test| / SE per case", m.test.z.tolist())
    ev.report("|MC - E_train| / SE per case", m.train.z.tolist())
    ev.report("E_test closed form per case", m.test.closed_form.tolist())
    ev.report("E_train closed form per case", m.train.closed_form.tolist())
    return ev.verdict()


@check(
    "merger-goldt/deterministic-equivalent",
    title="random-matrix deterministic equivalent predicts the test error",
    tag="derived",
    kinds=("monte-carlo",),
    tier=exp.DETERMINISTIC_EQUIVALENT,
    controls={
        "fluctuation-term-dropped": Control(
            fault={"de": det_equiv_without_fluctuation_term},
            breaks="max over cases (N, ridge, t) of |E_sim - E_DE|*",
            why="tr(GCG) without its df_2 term",
        )
    },
)
def check_deterministic_equivalent(run: RunSpec, de=ld.deterministic_equivalent_test_error) -> Verdict:
    """The deterministic equivalent of §1.5 predicts the seed-averaged test error (known mean, d = 400).

    Control: the deterministic equivalent without its fluctuation term.
    """
    m = exp.deterministic_equivalent(run, de)
    sz = run.sizes(exp.DETERMINISTIC_EQUIVALENT)
    ev = Evidence(
        "spec merger_goldt.md §1.5 (deterministic equivalent, derived; stands in for the replica formulas)",
        exp.seed_list(run, range(1, 1 + sz.seeds)),
    )
    ev.at_most(
        "max over cases (N, ridge, t) of |E_sim - E_DE| / (0.01 E_DE + 4 SE)",
        m.excess.max(),
        1.0,
        basis="spec",
        why=f"spec: 1% finite-d allowance plus 4 SE over {sz.seeds} seeds",
        headline=True,
    )
    ev.detail("cases (N, ridge, t)", [(n, r, t) for n in m.ns for r in m.ridges for t in m.steps])
    ev.report("E_sim per case", m.mean.ravel().tolist())
    ev.report("E_DE per case", m.de.ravel().tolist())
    i = m.ns.index(200) if 200 in m.ns else 0
    ref = [m.de[i, 0, m.steps.index(t)] for t in (1, 10, 500) if t in m.steps]
    ev.report("E_DE at N=200, ridge 0, t = 1, 10, 500", ref, "spec orders of magnitude: ~338, ~24.5, ~0.084")
    return ev.verdict()


@check(
    "merger-goldt/train-test-gap",
    title="large train–test gap for $N<d$ at small $t$; ridge closes it; small for $N>d$",
    tag="paper",
    kinds=("monte-carlo",),
    tier=exp.TRAIN_TEST_GAP,
    controls={
        "null-modes-dropped": Control(
            fault={"weights": weights_null_modes_dropped},
            breaks="N=200 ridge=0 t=1: E_test/E_train",
            why="w = 0 on the null modes (pseudo-inverse)",
        ),
        "ridge-ignored": Control(
            fault={"weights": mode_weights_without_ridge},
            breaks="N=200 ridge=0.1 t=1: E_test/E_train",
            why="weights computed with lambda = 0",
        ),
    },
)
def check_train_test_gap(run: RunSpec, weights=ld.mode_weights) -> Verdict:
    """(P3) A large train-test gap for N < d at small t, closed by ridge, small for N > d (d = 400, k = 1.5).

    Controls: weights without the null modes; weights without the ridge.
    """
    m = exp.train_test_gap(run, weights)
    small, large = min(m.ns), max(m.ns)
    ev = Evidence("spec merger_goldt.md §3 row train-test-gap (abstract P3)", run.seed_for(1))
    why = "spec criterion (P3)"
    ev.at_least(
        f"N={small} ridge=0 t=1: E_test/E_train", m.ratio(small, 0.0, 1), 100.0, basis="spec", why=why, headline=True
    )
    ev.at_least(f"N={small} ridge=0 t=10: E_test/E_train", m.ratio(small, 0.0, 10), 10.0, basis="spec", why=why)
    ev.at_most(
        f"N={small} ridge=0.1 t=1: E_test/E_train",
        m.ratio(small, 0.1, 1),
        1.05,
        basis="spec",
        why=why + ": ridge closes the gap",
    )
    for t in (1, 10):
        ev.at_most(
            f"N={large} ridge=0 t={t}: E_test/E_train",
            m.ratio(large, 0.0, t),
            1.05,
            basis="spec",
            why=why + ": small for N > d",
        )
    ev.report(f"N={small} ridge=0.1 t=10: E_test/E_train", m.ratio(small, 0.1, 10))
    ev.report(f"N={small} E_test [ridge][t]", m.test[m.ns.index(small)].tolist())
    ev.report(f"N={small} E_train [ridge][t]", m.train[m.ns.index(small)].tolist())
    return ev.verdict()
