"""Gao & Li 2024: the paper record and its claims (checks in ``exact_flow``, ``learned``)."""

from __future__ import annotations

from proofs_checks.claims import Paper, claim

CLAIMS = (
    claim(
        "gao-li/cond-ot-field",
        "OT conditional path and its field $u_t(x\\mid x_1)=(x_1-(1-\\sigma_{\\min})x)/\\sigma_t$",
        "reported",
        ("symbolic",),
    ),
    claim(
        "gao-li/cfm-minimizer-conditional-expectation",
        "the CFM minimiser is $\\mathbb E[u_t(x\\mid x_1)\\mid x_t=x]$",
        "paper",
        ("symbolic", "monte-carlo"),
    ),
    claim(
        "gao-li/optimal-velocity",
        "Theorem D.1: closed-form softmax-weighted optimal field for the empirical target (OT path)",
        "reported",
        ("symbolic",),
    ),
    claim(
        "gao-li/optimal-velocity-gaussian-path",
        "general Gaussian path: weights are the Bayes posterior incl. $\\sigma_t(x_1)^{-d}$",
        "derived",
        ("symbolic",),
    ),
    claim(
        "gao-li/continuity-equation",
        "the Gaussian-mixture path and $v^*$ satisfy the continuity equation",
        "derived",
        ("symbolic",),
    ),
    claim(
        "gao-li/marginal-path-pushforward",
        "the flow of $v^*$ has law $\\frac1N\\sum\\mathcal N(tx^{(i)},\\sigma_t^2I)$",
        "derived",
        ("high-precision-ode", "monte-carlo"),
    ),
    claim(
        "gao-li/memorization",
        "with $\\sigma_{\\min}=0$ samples end exactly on training points, at rate $O(1-t)$",
        "paper",
        ("high-precision-ode",),
    ),
    claim(
        "gao-li/terminal-law",
        "terminal law is uniform over points ($\\sigma_{\\min}=0$) or a Gaussian mixture of width $\\sigma_{\\min}$",
        "derived",
        ("high-precision-ode", "monte-carlo"),
    ),
    claim(
        "gao-li/weights-blind-off-subspace",
        "softmax weights do not depend on the component orthogonal to the data span",
        "derived",
        ("symbolic",),
    ),
    claim(
        "gao-li/velocity-orthogonal-split",
        "$P_\\perp v^*=-(1-\\sigma_{\\min})x_\\perp/\\sigma_t$; in/off-subspace dynamics decouple",
        "derived",
        ("symbolic",),
    ),
    claim(
        "gao-li/off-subspace-decay",
        "$x_\\perp(t)=\\sigma_tx_\\perp(0)$ along the exact flow",
        "derived",
        ("high-precision-ode",),
    ),
    claim(
        "gao-li/jacobian",
        "$\\nabla v^*=\\sigma_t^{-1}[t\\sigma_t^{-2}\\mathrm{Cov}_w-(1-\\sigma_{\\min})I]$",
        "derived",
        ("symbolic",),
    ),
    claim(
        "gao-li/direction-near-one",
        "as $t\\to1$, $v^*$ blows up like $1/(1-t)$ and points to the nearest point",
        "reported",
        ("symbolic",),
    ),
    claim(
        "gao-li/softmax-concentration",
        "stand-in for Theorem D.2: exact law of weight log-ratios and a union bound on $\\Pr[w_j<1-\\varepsilon]$",
        "derived",
        ("monte-carlo",),
    ),
    claim(
        "gao-li/pair-resolution-time",
        "a pair at distance $\\Delta$ is resolved at $t_{0.99}=a_*/(\\Delta+a_*(1-\\sigma_{\\min}))$",
        "derived",
        ("symbolic", "monte-carlo"),
    ),
    claim(
        "gao-li/hierarchical-refinement",
        "clustered data: cluster resolved before point; sparse data resolve early",
        "reported",
        ("high-precision-ode",),
    ),
    claim(
        "gao-li/memorization-any-path",
        "on every built-in path with $\\sigma_1=0$ (OT, cosine, VP) the exact flow lands on a training point "
        "and each basin has mass $1/N$",
        "derived",
        ("high-precision-ode", "monte-carlo"),
    ),
    claim(
        "gao-li/dimension-independence",
        "in-subspace dynamics identical for $d\\in\\{20,200,2000\\}$",
        "reported",
        ("high-precision-ode",),
    ),
    claim(
        "gao-li/osdnet-exact-off-head",
        "with the closed-form off-subspace head, $\\|x_\\perp(1)\\|=\\sigma_{\\min}\\|x_\\perp(0)\\|$ for any subspace head",
        "derived",
        ("high-precision-ode",),
    ),
    claim(
        "gao-li/osdnet-off-subspace-identity",
        "variation-of-constants identity and bound for a learned off-subspace head",
        "derived",
        ("high-precision-ode", "training"),
    ),
    claim(
        "gao-li/osdnet-off-subspace-decays-in-training",
        "the off-subspace part of OSDNet samples shrinks during training",
        "paper",
        ("training",),
    ),
    claim(
        "gao-li/osdnet-generalizes-in-subspace",
        "OSDNet samples stay in the data subspace without copying points; closeness tracks the excess loss",
        "paper",
        ("training",),
    ),
    claim(
        "gao-li/generation-error-bound",
        "pathwise Grönwall bound on the learned-vs-exact sample distance; falls with the excess loss",
        "derived",
        ("training", "high-precision-ode"),
    ),
)

PAPER = Paper(
    id="gao-li",
    title="Gao & Li 2024 — How Do Flow Matching Models Memorize and Generalize in Sample Data Subspaces?",
    source_note="Only the abstract and the skeleton of Appendix D of the paper are available. The formulas are "
    "reconstructed from the paper's setting in standard conditional-flow-matching notation; the OSDNet "
    "architecture, experiments and figures of the paper are not available, so the learned-model claims use a "
    "proposed architecture and synthetic data. No number of the paper is reproduced.",
    out_of_reach="No numerical result of the paper (table, metric, data-set size) is available; nothing is reproduced as a number.",
    claims=CLAIMS,
    check_modules=("proofs_checks.gao_li.exact_flow", "proofs_checks.gao_li.learned"),
    order=1,
)
