r"""Judges of claim ``gao-li/cfm-minimizer-conditional-expectation``: the CFM minimiser is the conditional expectation."""

from __future__ import annotations

import numpy as np

from numerics.empirical_field import optimal_velocity
from numerics.experiments import RunSpec
from numerics.experiments.gao_li import SIGMA_MINS
from numerics.experiments.gao_li.cfm_minimizer import CFM_MINIMIZER, TEST_FUNCTIONS, cfm_minimizer
from numerics.paths import NumericPath
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import FOUR_SE, SYMPY, per_path
from proofs_checks.registry import Control, check


def uniform_weight_field(x: np.ndarray, t, data: np.ndarray, path: NumericPath) -> np.ndarray:
    """Prior weights :math:`1/N` in place of the posterior."""
    tt = np.broadcast_to(np.asarray(t, dtype=float), (x.shape[0],))
    return path.conditional_velocity(x, data.mean(axis=0), tt)


@check(
    "gao-li/cfm-minimizer-conditional-expectation",
    title="the CFM minimiser is $\\mathbb E[u_t(x\\mid x_1)\\mid x_t=x]$",
    tag="paper",
    kinds=("symbolic", "monte-carlo"),
    tier=CFM_MINIMIZER,
    controls={
        "prior-weights": Control(
            fault={"field": uniform_weight_field},
            breaks="|C_h| / SE*",
            sizes={"draws": 100_000},
            why="the field with prior weights 1/N instead of the posterior",
        )
    },
    follows_path=True,
)
def check_cfm_minimizer(run: RunSpec, field=optimal_velocity) -> Verdict:
    """Proposition D.1: the CFM minimiser is the conditional expectation.

    (i) SymPy pointwise minimisation on ``tiny``; (ii) Monte Carlo cross term
    :math:`\\mathbb E[h\\cdot(v^*-u)]=0` for three test functions. Control: prior weights.
    """
    m = cfm_minimizer(run, field)
    ev = Evidence.of("Proposition App. D.1 (CFM minimiser = conditional expectation); spec gao_li.md §3", m)
    ev.holds(
        "argmin_c sum_i p_i |c - u_i|^2 == softmax posterior mean (d=2, N=3, any alpha_t, sigma_t)",
        m.residuals_zero,
        basis="theory",
        why="exact SymPy (rational in the named exponentials)",
        measured=m.residuals,
        expected="all 0",
    )
    ev.holds(
        "Hessian = 2 sum p_i I (a minimum)", m.hessian_is_minimum, basis="theory", why=SYMPY, measured="2 sum p_i I"
    )
    ev.at_most(
        per_path(run, f"|C_h| / SE per (sigma_min, h) for sigma_min in {SIGMA_MINS}").replace(
            "on path", "|C_h| / SE per h, on path"
        )
        + f", h in {TEST_FUNCTIONS}",
        m.z.ravel(),
        4.0,
        basis="statistical",
        why=f"{FOUR_SE}; M = {run.sizes(CFM_MINIMIZER).draws} draws of (t, i, x0), t in [0, 0.99]",
        headline=True,
    )
    return ev.verdict()
