"""Judge of ``mfm/lemma-3.2-gradient-covariance``: Lemma 3.2, the gradient covariance."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.mfm import gradient_covariance as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


def half_gradient_covariance(jac: np.ndarray, cond_cov: np.ndarray) -> np.ndarray:
    """:math:`2J^\\top\\mathrm{Cov}J`: the factor 4 of :math:`\\nabla\\|v-u\\|^2=2J^\\top(v-u)` halved."""
    return 2 * jac.T @ cond_cov @ jac


@check(
    "mfm/lemma-3.2-gradient-covariance",
    title="per-$(x,t)$ gradient covariance $=4J^\\top\\mathrm{Cov}(u\\mid x)J$, trace $\\le4\\|J\\|^2\\sigma_t^2$",
    tag="derived",
    kinds=("monte-carlo",),
    tier=exp.LEMMA_32_COV,
    controls={
        "half-covariance": Control(
            fault={"formula": half_gradient_covariance},
            breaks="max relative Frobenius error of Cov(g) over the points",
            why="2 J^T C J: the factor 2 of the gradient not squared",
        )
    },
)
def check_lemma_32_covariance(run: RunSpec, formula=exp.gradient_covariance_formula) -> Verdict:
    """:math:`\\mathrm{Cov}(g\\mid x,t)=4J^\\top\\mathrm{Cov}(u\\mid x)J` and :math:`\\operatorname{tr}\\mathrm{Cov}(g)\\le4\\|J\\|^2\\sigma_t^2`.

    Control: the covariance formula with factor 2.
    """
    m = exp.gradient_covariance(run, formula)
    n = run.sizes(exp.LEMMA_32_COV).samples
    ev = Evidence.of("Lemma 3.2 (reported content, derived form), spec mfm.md §1.3, §3", m)
    ev.at_most(
        "max relative Frobenius error of Cov(g) over the points",
        m.rel_error.max(),
        4 * np.sqrt(2 / n),
        basis="statistical",
        why=f"4 SE of a sample covariance, 4 sqrt(2/M) with M={n}; D given x_t from sampled coupling pairs",
        headline=True,
    )
    ev.within(
        "tr 4J^T C J / (4||J||^2 sigma^2) per point (phi-linear: equality)",
        m.formula_over_bound,
        1.0,
        atol=1e-12,
        basis="numerical",
        why="exact for phi-linear models; float64 rounding",
    )
    ev.at_most(
        "dense J: max tr Cov(g) / (4 ||J||_op^2 sigma^2)",
        m.dense_over_bound,
        1 + 1e-12,
        basis="theory",
        why="exact inequality",
    )
    ev.report("sampled tr Cov(g) / bound (phi-linear model)", m.sampled_over_bound)
    return ev.verdict()
