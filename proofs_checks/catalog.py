"""The catalog of every claim the suite checks (ids, titles, tags, kinds, tiers).

The paper claims are the 63 ids of the spec index (``shared/spec/README.md``), with the spec's
one-line statement as title. The ``common/`` claims are the Gaussian closed forms shared by the
couplings paper (W2) and the linear-diffusion paper (KL). Paper modules register one check per
id (:func:`proofs_checks.registry.check`) and may give a longer statement there.
"""

from __future__ import annotations

from proofs_checks.registry import KINDS, PAPERS, TAGS, TIERS, Claim, RegistryError

CLAIMS: dict[str, Claim] = {}


def _c(cid: str, title: str, tag: str, kinds: tuple[str, ...], tier: str = "fast", statement: str = "") -> None:
    paper = cid.split("/")[0]
    if paper not in PAPERS or tag not in TAGS or tier not in TIERS or not set(kinds) <= set(KINDS):
        raise RegistryError(f"bad catalog entry {cid!r}")
    if cid in CLAIMS:
        raise RegistryError(f"duplicate claim id {cid!r}")
    CLAIMS[cid] = Claim(cid, paper, title, tag, kinds, tier, statement or title)
    return CLAIMS[cid]


_ROWS: list[Claim] = [
    _c(
        "common/gaussian-w2-closed-form",
        "Bures–Wasserstein closed form $W_2^2=\\|m_0-m_1\\|^2+\\operatorname{tr}(\\Sigma_0+\\Sigma_1"
        "-2(\\Sigma_1^{1/2}\\Sigma_0\\Sigma_1^{1/2})^{1/2})$: SymPy in the commuting case, POT in general",
        "derived",
        ("symbolic",),
    ),
    _c(
        "common/gaussian-w2-empirical-1d",
        "in 1-D the Gaussian $W_2^2$ equals the limit of the empirical OT cost of sorted samples",
        "derived",
        ("monte-carlo",),
    ),
    _c(
        "common/gaussian-kl-closed-form",
        "$\\mathrm{KL}(\\mathcal N_0\\|\\mathcal N_1)=\\frac12[\\operatorname{tr}(\\Sigma_1^{-1}\\Sigma_0)-d"
        "+(m_1-m_0)^\\top\\Sigma_1^{-1}(m_1-m_0)+\\ln\\frac{\\det\\Sigma_1}{\\det\\Sigma_0}]$ (Cholesky), SymPy in the diagonal case",
        "derived",
        ("symbolic",),
    ),
    _c(
        "common/gaussian-kl-monte-carlo",
        "the Gaussian KL equals $\\mathbb E_{\\mathcal N_0}[\\ln p_0-\\ln p_1]$",
        "derived",
        ("monte-carlo",),
    ),
    _c(
        "common/gaussian-kl-zero-iff-equal",
        "the Gaussian KL is $\\ge 0$ and vanishes iff the two Gaussians are equal",
        "derived",
        ("symbolic",),
    ),
    _c(
        "common/gaussian-kl-high-precision",
        "float64 Cholesky KL agrees with a 50-digit mpmath evaluation on ill-conditioned pairs (condition number $10^8$)",
        "derived",
        ("symbolic",),
    ),
    _c(
        "gao-li/cond-ot-field",
        "OT conditional path and its field $u_t(x\\mid x_1)=(x_1-(1-\\sigma_{\\min})x)/\\sigma_t$",
        "reported",
        ("symbolic",),
    ),
    _c(
        "gao-li/cfm-minimizer-conditional-expectation",
        "the CFM minimiser is $\\mathbb E[u_t(x\\mid x_1)\\mid x_t=x]$",
        "paper",
        ("symbolic", "monte-carlo"),
    ),
    _c(
        "gao-li/optimal-velocity",
        "Theorem D.1: closed-form softmax-weighted optimal field for the empirical target (OT path)",
        "reported",
        ("symbolic",),
    ),
    _c(
        "gao-li/optimal-velocity-gaussian-path",
        "general Gaussian path: weights are the Bayes posterior incl. $\\sigma_t(x_1)^{-d}$",
        "derived",
        ("symbolic",),
    ),
    _c(
        "gao-li/continuity-equation",
        "the Gaussian-mixture path and $v^*$ satisfy the continuity equation",
        "derived",
        ("symbolic",),
    ),
    _c(
        "gao-li/marginal-path-pushforward",
        "the flow of $v^*$ has law $\\frac1N\\sum\\mathcal N(tx^{(i)},\\sigma_t^2I)$",
        "derived",
        ("high-precision-ode", "monte-carlo"),
    ),
    _c(
        "gao-li/memorization",
        "with $\\sigma_{\\min}=0$ samples end exactly on training points, at rate $O(1-t)$",
        "paper",
        ("high-precision-ode",),
    ),
    _c(
        "gao-li/terminal-law",
        "terminal law is uniform over points ($\\sigma_{\\min}=0$) or a Gaussian mixture of width $\\sigma_{\\min}$",
        "derived",
        ("high-precision-ode", "monte-carlo"),
    ),
    _c(
        "gao-li/weights-blind-off-subspace",
        "softmax weights do not depend on the component orthogonal to the data span",
        "derived",
        ("symbolic",),
    ),
    _c(
        "gao-li/velocity-orthogonal-split",
        "$P_\\perp v^*=-(1-\\sigma_{\\min})x_\\perp/\\sigma_t$; in/off-subspace dynamics decouple",
        "derived",
        ("symbolic",),
    ),
    _c(
        "gao-li/off-subspace-decay",
        "$x_\\perp(t)=\\sigma_tx_\\perp(0)$ along the exact flow",
        "derived",
        ("high-precision-ode",),
    ),
    _c(
        "gao-li/jacobian",
        "$\\nabla v^*=\\sigma_t^{-1}[t\\sigma_t^{-2}\\mathrm{Cov}_w-(1-\\sigma_{\\min})I]$",
        "derived",
        ("symbolic",),
    ),
    _c(
        "gao-li/direction-near-one",
        "as $t\\to1$, $v^*$ blows up like $1/(1-t)$ and points to the nearest point",
        "reported",
        ("symbolic",),
    ),
    _c(
        "gao-li/softmax-concentration",
        "stand-in for Theorem D.2: exact law of weight log-ratios and a union bound on $\\Pr[w_j<1-\\varepsilon]$",
        "derived",
        ("monte-carlo",),
    ),
    _c(
        "gao-li/pair-resolution-time",
        "a pair at distance $\\Delta$ is resolved at $t_{0.99}=a_*/(\\Delta+a_*(1-\\sigma_{\\min}))$",
        "derived",
        ("symbolic", "monte-carlo"),
    ),
    _c(
        "gao-li/hierarchical-refinement",
        "clustered data: cluster resolved before point; sparse data resolve early",
        "reported",
        ("high-precision-ode",),
    ),
    _c(
        "gao-li/dimension-independence",
        "in-subspace dynamics identical for $d\\in\\{20,200,2000\\}$",
        "reported",
        ("high-precision-ode",),
    ),
    _c(
        "gao-li/osdnet-exact-off-head",
        "with the closed-form off-subspace head, $\\|x_\\perp(1)\\|=\\sigma_{\\min}\\|x_\\perp(0)\\|$ for any subspace head",
        "derived",
        ("high-precision-ode",),
    ),
    _c(
        "gao-li/osdnet-off-subspace-identity",
        "variation-of-constants identity and bound for a learned off-subspace head",
        "derived",
        ("high-precision-ode", "training"),
    ),
    _c(
        "gao-li/osdnet-off-subspace-decays-in-training",
        "the off-subspace part of OSDNet samples shrinks during training",
        "paper",
        ("training",),
    ),
    _c(
        "gao-li/osdnet-generalizes-in-subspace",
        "OSDNet samples stay in the data subspace without copying points; closeness tracks the excess loss",
        "paper",
        ("training",),
    ),
    _c(
        "gao-li/generation-error-bound",
        "pathwise Grönwall bound on the learned-vs-exact sample distance; falls with the excess loss",
        "derived",
        ("training", "high-precision-ode"),
    ),
    _c(
        "mfm/condot-conditional-field",
        "CondOT conditional flow has constant velocity $x_1-(1-\\sigma_{\\min})x_0$",
        "reported",
        ("symbolic",),
    ),
    _c(
        "mfm/lemma-3.1-gradient-equivalence",
        "any marginal-preserving coupling gives the FM gradient",
        "reported",
        ("monte-carlo",),
    ),
    _c(
        "mfm/marginal-field-pushforward",
        "the coupling's marginal field transports $q_0$ to $q_1$",
        "reported",
        ("high-precision-ode",),
    ),
    _c(
        "mfm/lemma-3.2-loss-decomposition",
        "$\\mathcal L_{\\rm JCFM}=\\mathcal L_{\\rm FM}+\\mathbb E\\sigma_t^2$; optimum = conditional spread",
        "reported",
        ("symbolic", "monte-carlo"),
    ),
    _c(
        "mfm/lemma-3.2-gradient-covariance",
        "per-$(x,t)$ gradient covariance $=4J^\\top\\mathrm{Cov}(u\\mid x)J$, trace $\\le4\\|J\\|^2\\sigma_t^2$",
        "derived",
        ("monte-carlo",),
    ),
    _c("mfm/lemma-4.1-marginals", "minibatch couplings preserve both marginals", "reported", ("monte-carlo",)),
    _c(
        "mfm/batchot-permutation-optimal",
        "minibatch OT optimum is a permutation; solvers agree",
        "derived",
        ("symbolic",),
    ),
    _c("mfm/batchot-1d-sorting", "in 1-D BatchOT matches order statistics", "derived", ("symbolic",)),
    _c(
        "mfm/coupling-cost-ordering",
        "per batch, BatchOT cost ≤ every other coupling's cost",
        "derived",
        ("symbolic",),
    ),
    _c(
        "mfm/batcheot-limits",
        "entropic OT interpolates between BatchOT ($\\varepsilon\\to0$) and uniform ($\\varepsilon\\to\\infty$); excess ≤ $\\varepsilon\\ln k$",
        "derived",
        ("symbolic",),
    ),
    _c(
        "mfm/stable-matching-properties",
        "Gale–Shapley output is stable, unique, equal to global greedy",
        "derived",
        ("symbolic",),
    ),
    _c(
        "mfm/theorem-d.8-monotone-cost",
        "expected minibatch OT cost is non-increasing in $k$",
        "reported",
        ("monte-carlo",),
    ),
    _c(
        "mfm/theorem-4.2-cost-limit",
        "minibatch OT cost tends to $W_2^2$, more slowly in higher $d$",
        "reported",
        ("monte-carlo",),
    ),
    _c(
        "mfm/straightness-identity",
        "straightness (Eq. 18) equals KE minus transport cost (Eq. 19)",
        "reported",
        ("high-precision-ode",),
    ),
    _c(
        "mfm/sandwich",
        "$W_2^2\\le C(\\psi_1)\\le\\mathrm{KE}\\le$ coupling cost for exact marginal fields",
        "derived",
        ("high-precision-ode",),
    ),
    _c(
        "mfm/gaussian-condot-is-ot",
        "for Gaussian targets the independent-coupling flow map is already the OT map",
        "derived",
        ("high-precision-ode",),
    ),
    _c(
        "mfm/condot-gaussian-reference-values",
        "1-D Gaussian, independent coupling: min loss, KE, $C$, $S$ computed symbolically, by quadrature, ODE and Monte Carlo, all agreeing",
        "derived",
        ("symbolic", "monte-carlo"),
    ),
    _c(
        "mfm/theorem-4.2-variance-straightness-limit",
        "under BatchOT, variance proxy and straightness fall as $k$ grows",
        "reported",
        ("training",),
    ),
    _c(
        "mfm/gradient-variance-reduction",
        "BatchOT training has lower gradient variance than CondOT",
        "paper",
        ("training",),
    ),
    _c(
        "mfm/straighter-flows-consistency",
        "BatchOT flows are straighter; few-step samples closer to the reference",
        "paper",
        ("training",),
    ),
    _c(
        "mfm/variance-proxy-ordering",
        "variance proxy ordering BatchOT < BatchEOT < CondOT, Stable < CondOT",
        "reported",
        ("training",),
    ),
    _c(
        "mfm/lower-transport-cost-high-dim",
        "BatchOT learned maps have lower transport cost than CondOT",
        "paper",
        ("training",),
    ),
    _c(
        "merger-goldt/beta-schedule",
        "linear $\\beta_t$ schedule values, $\\bar\\alpha_T=6.2705\\times10^{-3}$ at $T=1000$",
        "reported",
        ("symbolic",),
    ),
    _c(
        "merger-goldt/loss-depends-on-moments",
        "noise-averaged loss is a closed form in $(\\hat\\mu,\\hat\\Sigma)$",
        "derived",
        ("symbolic", "monte-carlo"),
    ),
    _c(
        "merger-goldt/ridge-optimum",
        "ridge-regularised optimal linear denoiser $W^\\star=\\sqrt{1-\\bar\\alpha}(\\bar\\alpha\\hat\\Sigma+(1-\\bar\\alpha+\\lambda))^{-1}$",
        "derived",
        ("symbolic", "training"),
    ),
    _c(
        "merger-goldt/gradient-flow-solution",
        "closed-form gradient-flow / gradient-descent trajectories of $W_t$",
        "derived",
        ("high-precision-ode", "training"),
    ),
    _c(
        "merger-goldt/bayes-optimal-linear",
        "linear denoiser is Bayes-optimal for Gaussian data; Bayes error formula",
        "derived",
        ("symbolic", "monte-carlo"),
    ),
    _c(
        "merger-goldt/test-train-error-formulas",
        "closed forms of test and train denoising errors",
        "derived",
        ("monte-carlo",),
    ),
    _c(
        "merger-goldt/deterministic-equivalent",
        "random-matrix deterministic equivalent predicts the test error",
        "derived",
        ("monte-carlo",),
    ),
    _c(
        "merger-goldt/train-test-gap",
        "large train–test gap for $N<d$ at small $t$; ridge closes it; small for $N>d$",
        "paper",
        ("monte-carlo",),
    ),
    _c(
        "merger-goldt/hierarchy-reduces-overfitting",
        "faster spectral decay lowers test error and KL at fixed $N<d$",
        "paper",
        ("monte-carlo",),
    ),
    _c(
        "merger-goldt/sampler-gaussian-recursion",
        "the DDPM sampler with a linear denoiser outputs the Gaussian of the per-mode recursion",
        "derived",
        ("monte-carlo",),
    ),
    _c(
        "merger-goldt/null-mode-variance",
        "unseen directions get variance $\\sigma_1^2$ (linear memorisation)",
        "derived",
        ("symbolic",),
    ),
    _c(
        "merger-goldt/population-optimum-kl",
        "with exact moments the generated KL is small but nonzero (zero for $k=0$, $\\sigma^2=\\beta$)",
        "derived",
        ("symbolic",),
    ),
    _c(
        "merger-goldt/kl-d-over-4n",
        "for $N\\gg d$, per-dimension excess KL $\\approx d/(4N)$, for every spectrum",
        "reported",
        ("monte-carlo",),
    ),
    _c(
        "merger-goldt/kl-independent-of-sigma",
        "the sample-covariance KL depends only on the whitened sample covariance",
        "paper",
        ("symbolic",),
    ),
    _c(
        "merger-goldt/kl-second-order",
        "$\\mathbb E\\operatorname{tr}(S-I)^2=d(d+1)/N$ and KL $\\approx\\frac14$ of it",
        "derived",
        ("symbolic", "monte-carlo"),
    ),
    _c(
        "merger-goldt/transition-at-n-equals-d",
        "KL per dimension drops sharply as $N$ crosses $d$",
        "paper",
        ("monte-carlo",),
    ),
    _c(
        "merger-goldt/optimal-ridge",
        "ridge strongly reduces KL for $N<d$, barely for $N\\gg d$",
        "paper",
        ("monte-carlo",),
    ),
    _c(
        "merger-goldt/early-stopping",
        "interior optimal training time for $N<d$, little gain for $N\\gg d$",
        "paper",
        ("monte-carlo",),
    ),
    _c(
        "merger-goldt/linear-vs-nonlinear",
        "nonlinear denoiser behaves like the linear one qualitatively; leading directions compared",
        "reported",
        ("training",),
    ),
]
