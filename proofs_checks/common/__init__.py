"""Shared Gaussian closed forms (W2 and KL) used by two papers: the paper record and its claims (checks in ``checks``)."""

from __future__ import annotations

from proofs_checks.claims import Paper, claim

CLAIMS = (
    claim(
        "common/gaussian-w2-closed-form",
        "Bures–Wasserstein closed form $W_2^2=\\|m_0-m_1\\|^2+\\operatorname{tr}(\\Sigma_0+\\Sigma_1"
        "-2(\\Sigma_1^{1/2}\\Sigma_0\\Sigma_1^{1/2})^{1/2})$: SymPy in the commuting case, POT in general",
        "derived",
        ("symbolic",),
    ),
    claim(
        "common/gaussian-w2-empirical-1d",
        "in 1-D the Gaussian $W_2^2$ equals the limit of the empirical OT cost of sorted samples",
        "derived",
        ("monte-carlo",),
    ),
    claim(
        "common/gaussian-kl-closed-form",
        "$\\mathrm{KL}(\\mathcal N_0\\|\\mathcal N_1)=\\frac12[\\operatorname{tr}(\\Sigma_1^{-1}\\Sigma_0)-d"
        "+(m_1-m_0)^\\top\\Sigma_1^{-1}(m_1-m_0)+\\ln\\frac{\\det\\Sigma_1}{\\det\\Sigma_0}]$ (Cholesky), SymPy in the diagonal case",
        "derived",
        ("symbolic",),
    ),
    claim(
        "common/gaussian-kl-monte-carlo",
        "the Gaussian KL equals $\\mathbb E_{\\mathcal N_0}[\\ln p_0-\\ln p_1]$",
        "derived",
        ("monte-carlo",),
    ),
    claim(
        "common/gaussian-kl-zero-iff-equal",
        "the Gaussian KL is $\\ge 0$ and vanishes iff the two Gaussians are equal",
        "derived",
        ("symbolic",),
    ),
    claim(
        "common/gaussian-kl-high-precision",
        "float64 Cholesky KL agrees with a 50-digit mpmath evaluation on ill-conditioned pairs (condition number $10^8$)",
        "derived",
        ("symbolic",),
    ),
)

PAPER = Paper(
    id="common",
    title="Shared Gaussian closed forms (W2 and KL)",
    source_note="Textbook closed forms; checked against POT, mpmath and Monte Carlo.",
    out_of_reach="",
    claims=CLAIMS,
    check_modules=("proofs_checks.common.checks",),
    order=0,
)
