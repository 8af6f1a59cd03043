"""Judge of ``merger-goldt/ridge-optimum`` (measurement: :mod:`numerics.experiments.merger_goldt.ridge_optimum`); its controls' wrong forms."""

from __future__ import annotations

import numpy as np
import sympy as sp

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import ridge_optimum as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check
from theory import linear_diffusion as sym


def weights_without_ridge(cov_hat: np.ndarray, schedule: ld.Schedule, t: int, ridge: float) -> np.ndarray:
    """:math:`W^\\star` that ignores the ridge."""
    return ld.linear_denoiser_weights(cov_hat, schedule, t, 0.0)


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
    ev = Evidence.of("spec merger_goldt.md §1.3 (ridge optimum, derived)", m)
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
