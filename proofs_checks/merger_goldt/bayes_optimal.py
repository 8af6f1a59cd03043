"""Judge of ``merger-goldt/bayes-optimal-linear`` (measurement: :mod:`numerics.experiments.merger_goldt.bayes_optimal`); its controls' wrong forms."""

from __future__ import annotations

import numpy as np
import sympy as sp

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import bayes_optimal as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.merger_goldt._shared import within_four_se
from proofs_checks.registry import Control, check
from theory import linear_diffusion as sym


def bayes_error_without_abar(lam: np.ndarray, s: float) -> float:
    """Bayes error :math:`\\frac1d\\sum\\lambda/(\\lambda+1-\\bar\\alpha)` with the :math:`\\bar\\alpha` factors dropped."""
    return float(np.mean(lam / (lam + s)))


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
    ev = Evidence.of("spec merger_goldt.md §1.4 (Bayes error, derived)", m)
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
