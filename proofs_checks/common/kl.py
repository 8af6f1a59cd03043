"""Judges of the ``common/gaussian-kl-*`` claims (measurements: :mod:`numerics.experiments.common.kl`); their controls' wrong forms."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.common import kl as exp
from proofs_checks.common._shared import FOUR_SE
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check
from theory.gaussians import gaussian_kl


def kl_arguments_swapped(m0, c0, m1, c1) -> float:
    """The reverse KL where the forward one is meant."""
    return gaussian_kl(m1, c1, m0, c0)


def kl_offset(m0, c0, m1, c1) -> float:
    """A KL shifted by 1e-6: never zero for equal Gaussians."""
    return abs(gaussian_kl(m0, c0, m1, c1)) + 1e-6


def kl_explicit_inverse(m0, c0, m1, c1) -> float:
    """The textbook KL with an explicit inverse and determinants in plain float64."""
    c1i = np.linalg.inv(c1)
    dm = np.asarray(m1) - np.asarray(m0)
    return 0.5 * (np.trace(c1i @ c0) - len(dm) + dm @ c1i @ dm + np.log(np.linalg.det(c1) / np.linalg.det(c0)))


@check(
    "common/gaussian-kl-closed-form",
    title="$\\mathrm{KL}(\\mathcal N_0\\|\\mathcal N_1)=\\frac12[\\operatorname{tr}(\\Sigma_1^{-1}\\Sigma_0)-d"
    "+(m_1-m_0)^\\top\\Sigma_1^{-1}(m_1-m_0)+\\ln\\frac{\\det\\Sigma_1}{\\det\\Sigma_0}]$ (Cholesky), SymPy in the diagonal case",
    tag="derived",
    kinds=("symbolic",),
    tier=exp.KL_CLOSED_FORM,
    controls={
        "arguments-swapped": Control(
            fault={"kl": kl_arguments_swapped},
            breaks="Cholesky KL vs lambdified SymPy KL*",
            why="KL(N1 || N0) in place of KL(N0 || N1)",
        )
    },
)
def check_kl_closed_form(run: RunSpec, kl=gaussian_kl) -> Verdict:
    """Cholesky KL vs the KL that SymPy integrates in the diagonal case.

    Control: the two Gaussians swapped.
    """
    m = exp.kl_closed_form(run, kl)
    num, sym = m.numeric, m.sympy
    ev = Evidence.of("KL of Gaussians; SymPy integral of the log-density ratio, diagonal case", m)
    ev.within(
        "Cholesky KL vs lambdified SymPy KL (diagonal)",
        num,
        sym,
        rtol=1e-12,
        basis="numerical",
        why="exact identity; float64 rounding",
        headline=True,
    )
    return ev.verdict()


@check(
    "common/gaussian-kl-monte-carlo",
    title="the Gaussian KL equals $\\mathbb E_{\\mathcal N_0}[\\ln p_0-\\ln p_1]$",
    tag="derived",
    kinds=("monte-carlo",),
    tier=exp.KL_MONTE_CARLO,
    controls={
        "arguments-swapped": Control(
            fault={"kl": kl_arguments_swapped}, breaks="|MC - closed form| / SE*", why="reverse KL"
        )
    },
)
def check_kl_monte_carlo(run: RunSpec, kl=gaussian_kl) -> Verdict:
    """The closed form equals :math:`\\mathbb E_{\\mathcal N_0}[\\ln p_0-\\ln p_1]` (Monte Carlo).

    Control: the two Gaussians swapped.
    """
    m = exp.kl_monte_carlo_agreement(run, kl)
    n = run.sizes(exp.KL_MONTE_CARLO).samples
    ev = Evidence.of("KL = E_{N0}[log p0 - log p1]", m)
    ev.at_most(
        "|MC - closed form| / SE per pair", m.z, 4.0, basis="statistical", why=f"{FOUR_SE}; n={n}", headline=True
    )
    ev.detail("(MC, closed form) per pair", list(zip(m.estimate.tolist(), m.closed_form.tolist())))
    return ev.verdict()


@check(
    "common/gaussian-kl-zero-iff-equal",
    title="the Gaussian KL is $\\ge 0$ and vanishes iff the two Gaussians are equal",
    tag="derived",
    kinds=("symbolic",),
    tier=exp.KL_ZERO_IFF_EQUAL,
    controls={"offset": Control(fault={"kl": kl_offset}, breaks="KL(N, N)", why="a KL that never vanishes")},
)
def check_kl_zero_iff_equal(run: RunSpec, kl=gaussian_kl) -> Verdict:
    """KL(N, N) = 0, and KL > 0 near equality, matching its second-order expansion.

    Control: a KL offset by 1e-6.
    """
    m = exp.kl_zero_iff_equal(run, kl)
    same, ratios = m.same, m.ratios
    ev = Evidence.of("KL >= 0 with equality iff N0 = N1 (Gibbs' inequality)", m)
    ev.within(
        "KL(N, N)",
        same,
        0.0,
        atol=1e-13,
        basis="numerical",
        why="exact zero; float64 rounding of d terms of size O(d) at cond 10",
        headline=True,
    )
    ev.within(
        "KL(N0, perturbed N0) / second-order expansion",
        ratios,
        1.0,
        atol=1e-2,
        basis="theory",
        why="third-order remainder O(1e-3) relative for perturbations of size 1e-3",
    )
    return ev.verdict()


EXTENDED_MANTISSA = np.finfo(np.longdouble).nmant >= 63


@check(
    "common/gaussian-kl-high-precision",
    title="float64 Cholesky KL agrees with a 50-digit mpmath evaluation on ill-conditioned pairs (condition number $10^8$)",
    tag="derived",
    kinds=("symbolic",),
    tier=exp.KL_HIGH_PRECISION,
    controls={
        "explicit-inverse": Control(
            fault={"kl": kl_explicit_inverse},
            breaks="max rel. error vs mpmath (dps 50)*",
            why="explicit inverse and determinants in plain float64 (loses ~cond·eps)",
        )
    },
)
def check_kl_high_precision(run: RunSpec, kl=gaussian_kl) -> Verdict:
    """Float64 Cholesky KL with extended-precision refinement vs a 50-digit mpmath KL at condition 1e8.

    Where ``longdouble`` has a 64-bit mantissa (x86-64 Linux) the refined solves reach
    eps_ext·cond ≈ 1e-11: the check asserts a relative error ≤ 1e-11. Elsewhere (``longdouble``
    is plain double: Windows, macOS arm64) that level is not reachable and the check asserts the
    float64 level 16·d·eps·cond instead, saying so.

    Control: the textbook KL with an explicit inverse (measured ~6e-10 on these pairs).
    """
    m = exp.kl_high_precision(run, kl)
    sz = run.sizes(exp.KL_HIGH_PRECISION)
    ev = Evidence.of("KL of Gaussians at 50 digits (mpmath) on condition-number-1e8 covariances", m)
    if EXTENDED_MANTISSA:
        bound, why = (
            1e-11,
            "refined solves with residuals in 80-bit extended precision: forward error ~ eps_ext·cond = 1.1e-11 "
            "at worst; the refinement contracts it below that on every pair drawn (measured ~1e-12)",
        )
    else:
        bound = 16 * max(sz.dims) * float(np.finfo(np.float64).eps) * sz.condition
        why = "longdouble is plain double on this platform: the 1e-11 criterion is not applicable; float64 level 16·d·eps·cond"
        ev.detail("platform", "longdouble without extended mantissa: 1e-11 criterion not applicable")
    ev.at_most(f"max rel. error vs mpmath (dps {sz.dps})", m.worst, bound, basis="numerical", why=why, headline=True)
    ev.report("max rel. error, independent pairs", float(m.rel_independent.max()))
    ev.report("max rel. error, whitened-close pairs", float(m.rel_whitened_close.max()))
    return ev.verdict()
