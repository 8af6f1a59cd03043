r"""Judges of claim ``gao-li/optimal-velocity-gaussian-path``: the optimal field of a general Gaussian path as a softmax."""

from __future__ import annotations

from numerics.experiments import RunSpec
from numerics.experiments.gao_li.gaussian_path import GAUSSIAN_PATH, gaussian_path_posterior
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import SYMPY
from proofs_checks.registry import Control, check


@check(
    "gao-li/optimal-velocity-gaussian-path",
    title="general Gaussian path: weights are the Bayes posterior incl. $\\sigma_t(x_1)^{-d}$",
    tag="derived",
    kinds=("symbolic",),
    tier=GAUSSIAN_PATH,
    controls={
        "no-log-term": Control(
            fault={"log_term": False},
            breaks="max |posterior - softmax form* (30 digits, general path)",
            why="the softmax without -d ln sigma_t(x_i), wrong when sigma_t depends on x_1",
        )
    },
)
def check_gaussian_path(run: RunSpec, log_term: bool = True) -> Verdict:
    """General Gaussian path: the Bayes posterior is the softmax including :math:`-d\\ln\\sigma_t(x^{(i)})`.

    SymPy on ``tiny`` and a 30-digit evaluation of the softmax form under test. Control: the form
    without the log term.
    """
    m = gaussian_path_posterior(run, log_term)
    sz = run.sizes(GAUSSIAN_PATH)
    ev = Evidence.of("Theorem D.1 (general Gaussian path, spec gao_li.md §2); derived", m)
    ev.holds(
        "posterior == softmax(-|x - mu_i|^2/(2 sigma_i^2) - d ln sigma_i) (general path, symbolic)",
        m.general_zero,
        basis="theory",
        why=SYMPY,
        measured=m.general_residuals,
        expected="all 0",
    )
    ev.holds(
        "posterior == softmax(-|x - t x_i|^2/(2 sigma_t^2)) (OT path: sigma^-d cancels)",
        m.ot_residuals_zero,
        basis="theory",
        why=SYMPY,
        measured="residuals simplify to 0" if m.ot_residuals_zero else "nonzero residual",
    )
    form = "with" if log_term else "without"
    ev.at_most(
        f"max |posterior - softmax form {form} log term| at {sz.points} random points ({sz.digits} digits, general path)",
        m.max_gap,
        1e-25,
        basis="numerical",
        why=f"{sz.digits}-digit evaluation of an exact identity",
        headline=True,
    )
    ev.report(
        "|posterior - softmax without log term| at a sample point (general path)",
        m.gap_without_log_term,
        "nonzero: the -d ln sigma_t(x_i) term is needed when sigma depends on x_1",
    )
    return ev.verdict()
