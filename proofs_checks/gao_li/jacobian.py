r"""Judges of claim ``gao-li/jacobian``: the Jacobian of the optimal field."""

from __future__ import annotations

import numpy as np

from numerics.empirical_field import sigma_t
from numerics.experiments import RunSpec
from numerics.experiments.gao_li import SIGMA_MINS
from numerics.experiments.gao_li.jacobian import JACOBIAN, jacobian, jacobian_formula
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import SYMPY
from proofs_checks.registry import Control, check


def jacobian_without_t(w: np.ndarray, data: np.ndarray, t: float, sigma_min: float) -> np.ndarray:
    """Fact (d) without the factor ``t`` in front of the weighted covariance."""
    sig = sigma_t(t, sigma_min)
    cov = np.cov(data.T, aweights=w, bias=True)
    return (cov / sig**2 - (1.0 - sigma_min) * np.eye(data.shape[1])) / sig


@check(
    "gao-li/jacobian",
    title="$\\nabla v^*=\\sigma_t^{-1}[t\\sigma_t^{-2}\\mathrm{Cov}_w-(1-\\sigma_{\\min})I]$",
    tag="derived",
    kinds=("symbolic",),
    tier=JACOBIAN,
    controls={
        "without-t": Control(
            fault={"formula": jacobian_without_t},
            breaks="max relative Frobenius error autograd vs formula*",
            sizes={"points": 20},
            why="the covariance term without its factor t",
        )
    },
)
def check_jacobian(run: RunSpec, formula=jacobian_formula) -> Verdict:
    """Fact (d): autograd Jacobian of the float64 torch field vs :math:`\\sigma_t^{-1}[t\\sigma_t^{-2}\\mathrm{Cov}_w-(1-\\sigma_{\\min})I]`.

    Control: the formula without the factor ``t``.
    """
    m = jacobian(run, formula)
    ev = Evidence.of("fact (d), spec gao_li.md §2 (derived)", m)
    ev.holds(
        "symbolic Jacobian - formula == 0 (d=2, N=2)", m.symbolic_zero, basis="theory", why=SYMPY, measured="residual 0"
    )
    per = f"per sigma_min in {SIGMA_MINS}"
    ev.at_most(
        f"max relative Frobenius error autograd vs formula, {per}",
        m.rel_error,
        1e-10,
        basis="numerical",
        why="float64 autograd vs closed form (spec: 1e-10)",
        headline=True,
    )
    ev.at_most(
        f"max |J - J^T|_F / |J|_F, {per}", m.asymmetry, 1e-12, basis="numerical", why="float64 rounding (spec: 1e-12)"
    )
    ev.at_most(
        f"max |U_perp^T J U_perp + (1-s)/sigma I| * sigma, {per}",
        m.off_restriction,
        1e-12,
        basis="numerical",
        why="restriction to S_perp is -(1-s)/sigma_t I; float64 rounding",
    )
    return ev.verdict()
