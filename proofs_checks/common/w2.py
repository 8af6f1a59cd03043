"""Judges of ``common/gaussian-w2-closed-form`` and ``common/gaussian-w2-empirical-1d`` (measurements: :mod:`numerics.experiments.common.w2`); their controls' wrong forms."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.common import w2 as exp
from proofs_checks.common._shared import FOUR_SE
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check
from theory.gaussians import gaussian_w2_squared


# -------------------------------------------------------------------------- wrong forms (controls)
def w2_cross_term_halved(m0, c0, m1, c1) -> float:
    """W2 with the cross term :math:`2\\operatorname{tr}(\\cdot)^{1/2}` taken once: a plausible transcription error."""
    w2 = gaussian_w2_squared(m0, c0, m1, c1)
    mean2 = float(np.sum((np.atleast_1d(m0) - np.atleast_1d(m1)) ** 2))
    traces = float(np.trace(np.atleast_2d(c0)) + np.trace(np.atleast_2d(c1)))
    cross = (mean2 + traces - w2) / 2  # tr (S1^1/2 S0 S1^1/2)^1/2
    return w2 + cross


def w2_without_mean_term(m0, c0, m1, c1) -> float:
    """W2 that forgets :math:`\\|m_0-m_1\\|^2`."""
    return gaussian_w2_squared(np.zeros_like(np.atleast_1d(m0)), c0, np.zeros_like(np.atleast_1d(m1)), c1)


# -------------------------------------------------------------------------- checks
@check(
    "common/gaussian-w2-closed-form",
    title="Bures–Wasserstein closed form $W_2^2=\\|m_0-m_1\\|^2+\\operatorname{tr}(\\Sigma_0+\\Sigma_1"
    "-2(\\Sigma_1^{1/2}\\Sigma_0\\Sigma_1^{1/2})^{1/2})$: SymPy in the commuting case, POT in general",
    tag="derived",
    kinds=("symbolic",),
    tier=exp.W2_CLOSED_FORM,
    controls={
        "cross-term-halved": Control(
            fault={"w2": w2_cross_term_halved},
            breaks="max rel. difference to POT*",
            why="the Bures cross term 2 tr((S1^1/2 S0 S1^1/2)^1/2) taken once",
        ),
        "no-mean-term": Control(
            fault={"w2": w2_without_mean_term}, breaks="max rel. difference to POT*", why="|m0 - m1|^2 forgotten"
        ),
    },
)
def check_w2_closed_form(run: RunSpec, w2=gaussian_w2_squared) -> Verdict:
    """Bures–Wasserstein closed form vs POT (general pairs, cond 100) and vs the SymPy diagonal form.

    Controls: the cross term taken once; the mean term forgotten.
    """
    m = exp.w2_closed_form(run, w2)
    ev = Evidence.of("Bures–Wasserstein closed form (Dowson & Landau 1982; spec mfm.md §1.5)", m)
    ev.within(
        "max rel. difference to POT ot.gaussian.bures_wasserstein_distance**2",
        float(np.max(np.abs(m.ours - m.pot) / m.pot)),
        0.0,
        atol=1e-10,
        basis="numerical",
        why="two float64 evaluations of one closed form (eigen square roots, cond <= 1e2): rounding only",
        headline=True,
    )
    ev.within(
        "diagonal case: general form vs SymPy-derived sum (m0-m1)^2+(sqrt a-sqrt b)^2",
        m.diagonal_general,
        m.diagonal_sympy,
        rtol=1e-12,
        basis="numerical",
        why="exact identity; float64 rounding of square roots",
    )
    return ev.verdict()


@check(
    "common/gaussian-w2-empirical-1d",
    title="in 1-D the Gaussian $W_2^2$ equals the limit of the empirical OT cost of sorted samples",
    tag="derived",
    kinds=("monte-carlo",),
    tier=exp.W2_EMPIRICAL_1D,
    controls={
        "no-mean-term": Control(
            fault={"w2": w2_without_mean_term},
            breaks="|mean sorted-matching cost - (W2^2 + exact bias)| / SE*",
            why="|m0 - m1|^2 forgotten",
        )
    },
)
def check_w2_empirical_1d(run: RunSpec, w2=gaussian_w2_squared) -> Verdict:
    """In 1-D the mean sorted-matching cost of n samples is W2^2 plus an exact finite-n bias.

    Control: the closed form without its mean term.
    """
    m = exp.w2_empirical_1d(run, w2)
    sz = run.sizes(exp.W2_EMPIRICAL_1D)
    ev = Evidence.of("1-D Gaussian W2 = quantile coupling; finite-n expectation via normal order statistics", m)
    ev.at_most(
        "|mean sorted-matching cost - (W2^2 + exact bias)| / SE, per case",
        m.z,
        4.0,
        basis="statistical",
        why=f"{FOUR_SE}; {sz.replicates} replicates of n={sz.n}",
        headline=True,
    )
    ev.detail("mean empirical cost", m.mean_cost)
    ev.detail("W2^2 + bias", m.expected)
    return ev.verdict()
