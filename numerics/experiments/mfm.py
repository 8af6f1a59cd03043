r"""Multisample Flow Matching (Pooladian et al. 2023): the measurements the ``mfm/`` claims judge.

Each measurement is a function of a :class:`~numerics.experiments.RunSpec` (sizes from its
:class:`~numerics.experiments.Tier`, seeds from the spec or ``--seed``) returning a typed result;
the quantity under test (a field, a closed form, a coupling, a solver) is a keyword argument, so a
negative control passes a wrong one. The training claims are in :mod:`numerics.experiments.mfm_learned`.

- CondOT path and the Gaussian coupling family (spec ``mfm.md`` §1.2–§1.5): Lemma 3.1 and 3.2,
  the marginal flow, the sandwich and the 1-D reference values;
- minibatch couplings (§1.6): marginals, optimality, orderings, entropic limits, stable matching;
- the expected minibatch OT cost :math:`c_k` (Theorems D.8 and 4.2), one :func:`measured` sweep
  shared by both claims and the figure;
- :class:`FlowTrainingConfig`, the frozen description of one trained flow.

Coupling block and training batch. A training minibatch of ``batch`` pairs is split into
``batch // k`` blocks of ``k`` points and the coupling is solved inside each block. With the spec
default ``batch = k = 256`` this is one coupling per minibatch; with ``k = 1`` every block pairs a
noise with a data point independently (the CondOT baseline at the same batch size), which is what
the limit ``k = 1`` of Theorem 4.2 means.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import ot
import torch
from scipy import stats
from scipy.integrate import quad
from scipy.optimize import linear_sum_assignment
from torch import nn

from numerics.couplings import (
    COUPLINGS,
    FAULTY_COUPLINGS,
    CoupledBatchSampler,
    Coupling,
    DeferredBatchEOT,
    batch_eot_coupling,
    batch_ot_coupling,
    entropic_plan,
    gale_shapley,
    greedy_matching,
    is_permutation,
    optimal_assignment,
    pair_indices,
    pairing_cost,
    plan_from_pairing,
    squared_distances,
)
from numerics.datasets import FlowTarget, minibatch_cost_target, sample_eight_gaussians
from numerics.executor import sweep
from numerics.experiments import RunSpec, Sizes, Tier, measured
from numerics.flow_metrics import flow_metrics
from numerics.gaussian_family import GaussianCoupling
from numerics.nets import VelocityMLP
from numerics.training import (
    BatchLoss,
    Draw,
    Hyper,
    LossFn,
    StackedLoss,
    conditional_flow_matching_loss,
    conditional_flow_matching_losses,
    coupled_draws,
    coupled_objective,
)
from theory.couplings import (
    condot_field,
    condot_field_residuals,
    gaussian_1d_reference_numeric,
    gaussian_1d_reference_symbolic,
    gaussian_family_blocks_numeric,
)
from theory.gaussians import gaussian_w2_squared

SECTION = "spec mfm.md §3"
# Members (rho, phi) of the Gaussian coupling family used by the exact checks (spec §3).
FAMILY_3 = ((0.0, 0.0), (0.5, 0.0), (0.9, np.pi / 4))
SANDWICH_FAMILY = ((0.0, 0.0), (0.5, 0.0), (0.9, np.pi / 4), (1.0, 0.0), (1.0, np.pi / 3))


def _section(claim: str, extra: str = "") -> str:
    return f"{SECTION}, row {claim}" + (f"; {extra}" if extra else "")


@dataclass(frozen=True)
class MeanSE:
    """A Monte Carlo mean with its standard error."""

    mean: float
    se: float

    @classmethod
    def of(cls, samples: np.ndarray) -> MeanSE:
        a = np.asarray(samples, dtype=np.float64)
        return cls(float(a.mean()), float(a.std(ddof=1) / np.sqrt(a.size)))


# ---------------------------------------------------------------------------------------------
# mfm/condot-conditional-field
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpotSizes(Sizes):
    points: int = 4


CONDOT_FIELD = Tier.same(
    "mfm/condot-conditional-field", SpotSizes(), _section("mfm/condot-conditional-field", "SymPy + float64 spot check")
)


@dataclass(frozen=True)
class ConditionalField:
    """SymPy residuals of the CondOT identities and the float64 residual along random conditional paths."""

    residuals: dict[str, str]
    along_path: np.ndarray


def condot_conditional_field(run: RunSpec, field: Callable[..., Any] = condot_field) -> ConditionalField:
    """Residuals of :math:`u_t(\\psi_t(x_0\\mid x_1)\\mid x_1)=x_1-(1-\\sigma_{\\min})x_0` for ``field``."""
    n = run.sizes(CONDOT_FIELD).points
    res = condot_field_residuals(field)
    rng = run.rng(0)
    x0, x1, tt, sm = rng.standard_normal(n), rng.standard_normal(n), rng.random(n), 0.1 * rng.random(n)
    psi = (1 - (1 - sm) * tt) * x0 + tt * x1
    u = np.asarray(field(psi, x1, tt, sm), dtype=float)
    return ConditionalField({k: str(v) for k, v in res.items()}, u - (x1 - (1 - sm) * x0))


# ---------------------------------------------------------------------------------------------
# Gaussian coupling family: the affine marginal field at per-sample times
# ---------------------------------------------------------------------------------------------
MarginalField = Callable[[GaussianCoupling, np.ndarray, np.ndarray], np.ndarray]


def marginal_field(fam: GaussianCoupling, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    r"""The family's marginal field :math:`u_{t_n}(x_n)=\mu+\mathrm{Cov}(D,X_t)\mathrm{Cov}(X_t)^{-1}(x_n-t_n\mu)`, one time per row."""
    cov_x, cov_dx, _ = fam.blocks(np.asarray(t)[:, None, None])
    dev = x - t[:, None] * fam.mu
    return fam.mu + np.einsum("nij,nj->ni", cov_dx, np.linalg.solve(cov_x, dev[:, :, None])[:, :, 0])


def linear_features(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """:math:`\\varphi(x,t)=[1,x,t,tx]` of the linear model :math:`v=\\Theta\\varphi`."""
    tc = t[:, None]
    return np.concatenate([np.ones_like(tc), x, tc, tc * x], axis=1)


def condot_pairs(
    fam: GaussianCoupling, n: int, rng: np.random.Generator, t_range: tuple[float, float] = (0.0, 1.0)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` coupled pairs of ``fam`` and uniform times in ``t_range``: ``(t, x_t, D = x1 - x0)`` on the CondOT path."""
    x0, x1 = fam.sample(n, rng)
    t = rng.uniform(*t_range, n)
    return t, (1 - t)[:, None] * x0 + t[:, None] * x1, x1 - x0


# ---------------------------------------------------------------------------------------------
# mfm/lemma-3.1-gradient-equivalence
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradientEquivalenceSizes(Sizes):
    pairs: int = 200_000
    thetas: int = 5


LEMMA_31 = Tier.same(
    "mfm/lemma-3.1-gradient-equivalence", GradientEquivalenceSizes(), _section("mfm/lemma-3.1-gradient-equivalence")
)


@dataclass(frozen=True)
class GradientEquivalence:
    """Per family member: cross term / SE for each random Theta, and grad difference / SE per component."""

    members: tuple[tuple[float, float], ...]
    cross_z: np.ndarray
    grad_z: np.ndarray


def gradient_equivalence(run: RunSpec, field: MarginalField = marginal_field) -> GradientEquivalence:
    r"""Monte Carlo of :math:`\mathbb E[(v_\Theta-u_t)\cdot(u_t-D)]` and of :math:`\nabla_\Theta(\mathcal L_{\rm JCFM}-\mathcal L_{\rm FM})`.

    ``field(fam, x, t)`` is the FM field under test; the pairs are those of the family member.
    """
    sz = run.sizes(LEMMA_31)
    seed_theta = run.seed_list(40)
    thetas = np.random.default_rng(seed_theta).standard_normal((sz.thetas, 2, 6))
    cross_z, grad_z = [], []
    for ci, (rho, phi) in enumerate(FAMILY_3):
        fam = GaussianCoupling(rho=rho, phi=phi)
        t, xt, d = condot_pairs(fam, sz.pairs, np.random.default_rng([*seed_theta, 1, ci]), (0.01, 0.99))
        u = field(fam, xt, t)
        feats = linear_features(xt, t)
        zs = []
        for th in thetas:
            c = ((feats @ th.T - u) * (u - d)).sum(1)
            zs.append(c.mean() / (c.std(ddof=1) / np.sqrt(sz.pairs)))
        cross_z.append(zs)
        # gradient difference: 2 (u - D) phi^T per sample, independent of Theta
        gd = (2 * (u - d)[:, :, None] * feats[:, None, :]).reshape(sz.pairs, -1)
        grad_z.append(gd.mean(0) / (gd.std(0, ddof=1) / np.sqrt(sz.pairs)))
    return GradientEquivalence(FAMILY_3, np.array(cross_z), np.array(grad_z))


# ---------------------------------------------------------------------------------------------
# mfm/marginal-field-pushforward, mfm/gaussian-condot-is-ot
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PushforwardSizes(Sizes):
    times: tuple[float, ...] = (0.25, 0.5, 1.0)
    block_times: tuple[float, ...] = (0.1, 0.5, 0.9)


PUSHFORWARD = Tier.same(
    "mfm/marginal-field-pushforward",
    PushforwardSizes(),
    _section("mfm/marginal-field-pushforward", "DOP853 rtol 1e-12"),
)


@dataclass(frozen=True)
class Pushforward:
    """Per family member: max |SymPy - NumPy| of the covariance blocks, and the moment error of the flow per time."""

    members: tuple[tuple[float, float], ...]
    times: tuple[float, ...]
    blocks_gap: np.ndarray
    moment_error: np.ndarray


def marginal_pushforward(run: RunSpec, family: type[GaussianCoupling] = GaussianCoupling) -> Pushforward:
    r"""Mean and covariance of the DOP853 affine flow :math:`M(t)x_0+m(t)` of the marginal field vs those of :math:`X_t`.

    ``family`` builds the coupling whose field is integrated (a subclass with another field is
    the negative control); the moments compared are those of :class:`GaussianCoupling`.
    """
    sz = run.sizes(PUSHFORWARD)
    blocks_sym = gaussian_family_blocks_numeric(2)
    gaps, errs = [], []
    for rho, phi in FAMILY_3:
        fam = GaussianCoupling(rho=rho, phi=phi)
        el = fam.sqrt_sigma
        gaps.append(
            max(
                np.abs(a - b).max()
                for tt in sz.block_times
                for a, b in zip(blocks_sym(tt, rho, phi, el[0, 0], el[0, 1], el[1, 1]), fam.blocks(tt))
            )
        )
        mm, m = family(rho=rho, phi=phi).flow(np.array(sz.times))
        errs.append(
            [
                max(np.abs(m[n] - tt * fam.mu).max(), np.abs(mm[n] @ mm[n].T - fam.blocks(tt)[0]).max())
                for n, tt in enumerate(sz.times)
            ]
        )
    return Pushforward(FAMILY_3, sz.times, np.array(gaps), np.array(errs))


@dataclass(frozen=True)
class RhoGridSizes(Sizes):
    rhos: tuple[float, ...] = (0.0, 0.5, 0.9)


CONDOT_IS_OT = Tier.same(
    "mfm/gaussian-condot-is-ot",
    RhoGridSizes(),
    _section("mfm/gaussian-condot-is-ot", "affine flow of the pushforward row"),
)


@dataclass(frozen=True)
class FlowMapAtOne:
    """Per rho: ||M(1) - Sigma^1/2||, ||m(1) - mu|| and C(psi_1) - W2^2."""

    rhos: tuple[float, ...]
    map_error: np.ndarray
    shift_error: np.ndarray
    cost_minus_w2: np.ndarray


def flow_map_at_one(run: RunSpec, phi: float = 0.0) -> FlowMapAtOne:
    """The affine flow map at ``t = 1`` of the family members ``(rho, phi)`` against the Brenier map."""
    rhos = run.sizes(CONDOT_IS_OT).rhos
    rows = []
    for rho in rhos:
        fam = GaussianCoupling(rho=rho, phi=phi)
        mm, m = fam.flow(np.array([1.0]))
        c = float(m[0] @ m[0] + np.sum((mm[0] - np.eye(2)) ** 2))
        rows.append((np.linalg.norm(mm[0] - fam.sqrt_sigma), np.linalg.norm(m[0] - fam.mu), c - fam.w2_squared()))
    cols = np.array(rows).T
    return FlowMapAtOne(rhos, *cols)


# ---------------------------------------------------------------------------------------------
# mfm/lemma-3.2-loss-decomposition
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LossDecompositionSizes(Sizes):
    rhos: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
    pairs: int = 200_000


LEMMA_32_LOSS = Tier.same(
    "mfm/lemma-3.2-loss-decomposition", LossDecompositionSizes(), _section("mfm/lemma-3.2-loss-decomposition")
)
Spread = Callable[[GaussianCoupling, float], float]


def conditional_spread(fam: GaussianCoupling, t: float) -> float:
    """:math:`\\sigma_t^2` of the family member (trace of the conditional covariance of ``D`` given ``X_t``)."""
    return fam.spread(t)


@dataclass(frozen=True)
class LossDecomposition:
    """Per rho: quad of the spread, MC loss of the exact field, MC of L_JCFM - L_FM for a fixed Theta."""

    rhos: tuple[float, ...]
    quad: np.ndarray
    min_loss: list[MeanSE]
    jcfm_minus_fm: list[MeanSE]


def loss_decomposition(run: RunSpec, spread: Spread = conditional_spread) -> LossDecomposition:
    r""":math:`\int_0^1\sigma_t^2dt` by ``quad`` (``spread`` under test) and by Monte Carlo on ``pairs`` pairs per :math:`\rho`."""
    sz = run.sizes(LEMMA_32_LOSS)
    seed = [*run.seed_list(40), 2]
    theta = np.random.default_rng(run.seed_list(40)).standard_normal((2, 6))
    quads, losses, diffs = [], [], []
    for n, rho in enumerate(sz.rhos):
        fam = GaussianCoupling(rho=rho)
        quads.append(quad(lambda tt, fam=fam: spread(fam, tt), 0.0, 1.0, epsabs=1e-12, epsrel=1e-12, limit=200)[0])
        t, xt, d = condot_pairs(fam, sz.pairs, np.random.default_rng([*seed, n]))
        u = marginal_field(fam, xt, t)
        losses.append(MeanSE.of(((u - d) ** 2).sum(1)))
        v = linear_features(xt, t) @ theta.T
        diffs.append(MeanSE.of(((v - d) ** 2).sum(1) - ((v - u) ** 2).sum(1)))
    return LossDecomposition(sz.rhos, np.array(quads), losses, diffs)


# ---------------------------------------------------------------------------------------------
# mfm/lemma-3.2-gradient-covariance
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradientCovarianceSizes(Sizes):
    points: int = 10
    samples: int = 100_000
    dense_jacobians: int = 10
    dense_samples: int = 2000


LEMMA_32_COV = Tier.same(
    "mfm/lemma-3.2-gradient-covariance", GradientCovarianceSizes(), _section("mfm/lemma-3.2-gradient-covariance")
)
CovarianceFormula = Callable[[np.ndarray, np.ndarray], np.ndarray]


def gradient_covariance_formula(jac: np.ndarray, cond_cov: np.ndarray) -> np.ndarray:
    """:math:`\\mathrm{Cov}(g\\mid x,t)=4J^\\top\\mathrm{Cov}(u\\mid x)J` (spec §1.3, derived)."""
    return 4 * jac.T @ cond_cov @ jac


@dataclass(frozen=True)
class GradientCovariance:
    """Relative Frobenius error of the sampled Cov(g) per point, the trace ratios to the bound."""

    rel_error: np.ndarray
    formula_over_bound: np.ndarray
    sampled_over_bound: np.ndarray
    dense_over_bound: float


def gradient_covariance(run: RunSpec, formula: CovarianceFormula = gradient_covariance_formula) -> GradientCovariance:
    r"""Sampled covariance of :math:`g=2J^\top(v-u)` at fixed :math:`(x,t)` against ``formula(J, Cov(u|x))``, and the trace bound.

    Linear model :math:`v=\Theta\varphi(x,t)` at ``points`` random :math:`(x,t)` (seed 41) of the
    :math:`\rho=0.5` family member. The draws of :math:`D\mid X_t=x` come from ``samples`` pairs
    :math:`(x_0,x_1)` sampled from the coupling itself, not from the conditional covariance the formula
    uses: in this family :math:`(X_t,D)` is jointly Gaussian, so the residuals of the least-squares
    regression of :math:`D` on :math:`(1,X_t)` are independent of :math:`X_t` with law
    :math:`\mathcal N(0,\mathrm{Cov}(D\mid X_t))`, and fitted mean plus residuals are draws of
    :math:`D\mid X_t=x` (rescaled to :math:`M-3` degrees of freedom). Then ``dense_jacobians`` random
    dense :math:`J` (seed 42) with the true and a sampled covariance.
    """
    sz = run.sizes(LEMMA_32_COV)
    rng = run.rng(41)
    fam = GaussianCoupling(rho=0.5)
    theta = rng.standard_normal((2, 6))
    errs, formula_ratio, sampled_ratio = [], [], []
    for _ in range(sz.points):
        x, tt = rng.standard_normal(2) * 1.5, float(rng.uniform(0.05, 0.95))
        cond = fam.conditional_cov(tt)
        x0, x1 = fam.sample(sz.samples, rng)
        design = np.column_stack([np.ones(sz.samples), (1 - tt) * x0 + tt * x1])
        coef, *_ = np.linalg.lstsq(design, x1 - x0, rcond=None)
        resid = (x1 - x0) - design @ coef
        d = np.r_[1.0, x] @ coef + resid * np.sqrt((sz.samples - 1) / (sz.samples - 3))
        feats = linear_features(x[None], np.array([tt]))[0]
        jac = np.kron(np.eye(2), feats[None, :])  # d v / d vec(Theta), shape (2, 12), row-major Theta
        g = 2 * (theta @ feats - d) @ jac
        s = np.cov(g, rowvar=False)
        pred = formula(jac, cond)
        bound = 4 * np.linalg.norm(jac, 2) ** 2 * np.trace(cond)
        errs.append(np.linalg.norm(s - pred) / np.linalg.norm(pred))
        formula_ratio.append(np.trace(pred) / bound)
        sampled_ratio.append(np.trace(s) / bound)
    rj = run.rng(42)
    worst = 0.0
    for _ in range(sz.dense_jacobians):
        jac = rj.standard_normal((2, 50))
        tt = float(rj.uniform(0.05, 0.95))
        cond = fam.conditional_cov(tt)
        s_u = np.cov(rj.standard_normal((sz.dense_samples, 2)) @ np.linalg.cholesky(cond).T, rowvar=False)
        for c in (cond, s_u):
            worst = max(worst, np.trace(formula(jac, c)) / (4 * np.linalg.norm(jac, 2) ** 2 * np.trace(c)))
    return GradientCovariance(np.array(errs), np.array(formula_ratio), np.array(sampled_ratio), float(worst))


# ---------------------------------------------------------------------------------------------
# mfm/lemma-4.1-marginals
# ---------------------------------------------------------------------------------------------
def nearest_neighbour_pairing(x0: Any, x1: Any, rng: Any = None) -> np.ndarray:
    """Not a coupling of the marginals: each ``x0`` takes its nearest ``x1`` (with replacement)."""
    return squared_distances(x0, x1).argmin(1)


MARGINAL_COUPLINGS: dict[str, Coupling] = {
    **COUPLINGS,
    "batcheot-plan": functools.partial(batch_eot_coupling, sampling="plan"),
}
MARGINAL_TARGETS = ("gaussian", "8gaussians")


@dataclass(frozen=True)
class MarginalsSizes(Sizes):
    couplings: tuple[str, ...] = ("condot", "batchot", "batcheot", "stable", "batcheot-plan")
    k: int = 16
    batches: int = 4000


LEMMA_41 = Tier(
    "mfm/lemma-4.1-marginals",
    MarginalsSizes(couplings=("condot", "batchot", "batcheot", "stable")),
    MarginalsSizes(),
    _section("mfm/lemma-4.1-marginals", "the eot_sampling = 'plan' variant of spec §6 at spec tier"),
)


@dataclass(frozen=True)
class PooledPairs:
    """One uniformly chosen pair per minibatch (i.i.d. pairs of the induced joint) and the plan's sum error."""

    x0: np.ndarray
    x1: np.ndarray
    plan_error: float


def pooled_pairs(
    coupling: Coupling, entropic: bool, target: str, k: int, n_batches: int, seed: list[int]
) -> PooledPairs:
    """Pool one uniformly chosen pair per minibatch; plan row/column sums on the first 50 batches (picklable task)."""
    rng = np.random.default_rng(seed)
    fam = GaussianCoupling()
    x0s, x1s, plan_err = np.empty((n_batches, 2)), np.empty((n_batches, 2)), 0.0
    # BatchEOT: every batch's plan is solved in one batched call after the loop, its pairs drawn
    # from the generator's state where the loop met it (the same pairs, DeferredBatchEOT)
    deferred = DeferredBatchEOT.of(coupling, device="cpu") if entropic else None
    kept: list[tuple[np.ndarray, np.ndarray, int]] = []
    for b in range(n_batches):
        x0 = rng.standard_normal((k, 2))
        x1 = fam.sample(k, rng)[1] if target == "gaussian" else sample_eight_gaussians(k, rng)
        if deferred is not None:
            deferred.defer(x0, x1, rng)
            kept.append((x0, x1, int(rng.integers(k))))  # k pairs for either sampling
        else:
            idx = coupling(x0, x1, rng)
            i, j = pair_indices(idx, k)
            n = rng.integers(i.size)
            x0s[b], x1s[b] = x0[i[n]], x1[j[n]]
        if b < 50:
            pi = entropic_plan(x0, x1) if entropic else plan_from_pairing(idx, k)
            plan_err = max(plan_err, np.abs(pi.sum(0) - 1).max(), np.abs(pi.sum(1) - 1).max())
    if deferred is not None:
        for b, ((x0, x1, n), idx) in enumerate(zip(kept, deferred.pairings())):
            i, j = pair_indices(idx, k)
            x0s[b], x1s[b] = x0[i[n]], x1[j[n]]
    return PooledPairs(x0s, x1s, plan_err)


@dataclass(frozen=True)
class MarginalTest:
    """KS p-values on 3 projections of x0 and x1, moment z-scores, plan error and dependence z of one (coupling, target)."""

    coupling: str
    target: str
    ks_p: np.ndarray
    moment_z: dict[str, float]
    plan_error: float
    dependence_z: float


def marginal_tests(run: RunSpec, batchot: Coupling = batch_ot_coupling) -> list[MarginalTest]:
    """Lemma 4.1 on every coupling and target (spec §3): pooled pairs against the exact marginals.

    ``batchot`` is the pairing run under the name BatchOT (a non-coupling is the negative control).
    """
    sz = run.sizes(LEMMA_41)
    seed = run.seed_list(43)
    pairings = {**MARGINAL_COUPLINGS, "batchot": batchot}
    tasks = [
        dict(
            coupling=pairings[c],
            entropic=c.startswith("batcheot"),
            target=tg,
            k=sz.k,
            n_batches=sz.batches,
            seed=[*seed, ci, ti],
        )
        for ci, c in enumerate(sz.couplings)
        for ti, tg in enumerate(MARGINAL_TARGETS)
    ]
    fam = GaussianCoupling()
    eight = FlowTarget()
    dirs = (np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0]) / np.sqrt(2))
    out = []
    for (c, tg), r in zip(itertools.product(sz.couplings, MARGINAL_TARGETS), sweep(run.executor, pooled_pairs, tasks)):
        ps = []
        for u in dirs:
            ps.append(stats.kstest(r.x0 @ u, stats.norm.cdf).pvalue)
            if tg == "gaussian":
                mu_u, sd_u = fam.mu @ u, np.sqrt(u @ fam.sigma @ u)
                ps.append(stats.kstest(r.x1 @ u, lambda z, a=mu_u, s=sd_u: stats.norm.cdf(z, a, s)).pvalue)
            else:
                ps.append(stats.kstest(r.x1 @ u, lambda z, u=u: eight.cdf(z, u)).pvalue)
        mu1 = fam.mu if tg == "gaussian" else np.zeros(2)
        cov1 = fam.sigma if tg == "gaussian" else (eight.std**2 + 8.0) * np.eye(2)
        zs = {}
        for name, x, mu, cov in (("x0", r.x0, np.zeros(2), np.eye(2)), ("x1", r.x1, mu1, cov1)):
            zm = (x.mean(0) - mu) / (x.std(0, ddof=1) / np.sqrt(sz.batches))
            dev = x - mu
            prods = np.stack([dev[:, 0] ** 2, dev[:, 0] * dev[:, 1], dev[:, 1] ** 2], 1)
            target_c = np.array([cov[0, 0], cov[0, 1], cov[1, 1]])
            zc = (prods.mean(0) - target_c) / (prods.std(0, ddof=1) / np.sqrt(sz.batches))
            zs[name] = float(np.abs(np.r_[zm, zc]).max())
        dep = (r.x0 * (r.x1 - mu1)).sum(1)
        out.append(
            MarginalTest(
                c, tg, np.array(ps), zs, r.plan_error, float(dep.mean() / (dep.std(ddof=1) / np.sqrt(sz.batches)))
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# mfm/batchot-permutation-optimal, mfm/batchot-1d-sorting
# ---------------------------------------------------------------------------------------------
PermutationSolver = Callable[[np.ndarray, np.ndarray], np.ndarray]


def scipy_assignment(x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """BatchOT by SciPy's ``linear_sum_assignment`` (the solver under test)."""
    return batch_ot_coupling(x0, x1, solver="scipy")


@dataclass(frozen=True)
class PermutationOptimalSizes(Sizes):
    brute_force_ks: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)
    lp_ks: tuple[int, ...] = (16, 64, 256)
    batches: int = 100


PERMUTATION_OPTIMAL = Tier.same(
    "mfm/batchot-permutation-optimal", PermutationOptimalSizes(), _section("mfm/batchot-permutation-optimal")
)


@functools.lru_cache(maxsize=8)
def _all_permutations(k: int) -> np.ndarray:
    return np.array(list(itertools.permutations(range(k))))


@dataclass(frozen=True)
class PermutationOptimality:
    """Worst relative gaps of the solver's permutation to brute force, to POT's LP and POT's permutation; plan gap."""

    gap_brute_force: float
    gap_lp: float
    plan_gap: float
    gap_pot_permutation: float


def permutation_optimality(run: RunSpec, solver: PermutationSolver = scipy_assignment) -> PermutationOptimality:
    """Brute force over :math:`S_k` (small ``k``) and POT ``ot.emd`` (LP over plans) against ``solver``."""
    sz = run.sizes(PERMUTATION_OPTIMAL)
    rng = run.rng(44)
    worst_bf = worst_emd = worst_plan = worst_pot = 0.0
    for k in sz.brute_force_ks:
        perms = _all_permutations(k)
        for _ in range(sz.batches):
            x0, x1 = rng.standard_normal((k, 2)), rng.standard_normal((k, 2)) + 1.0
            c = squared_distances(x0, x1)
            best = c[np.arange(k), perms].sum(1).min()
            worst_bf = max(worst_bf, abs(c[np.arange(k), solver(x0, x1)].sum() - best) / best)
    for k in sz.lp_ks:
        u = np.full(k, 1.0 / k)
        for _ in range(sz.batches):
            x0, x1 = rng.standard_normal((k, 2)), rng.standard_normal((k, 2)) + 1.0
            c = squared_distances(x0, x1)
            j = solver(x0, x1)
            cost = c[np.arange(k), j].sum()
            plan = ot.emd(u, u, c)
            worst_emd = max(worst_emd, abs((plan * c).sum() * k - cost) / cost)
            perm_plan = np.zeros((k, k))
            perm_plan[np.arange(k), j] = 1.0 / k
            worst_plan = max(worst_plan, np.abs(plan - perm_plan).max())
            j2 = batch_ot_coupling(x0, x1, solver="pot")
            worst_pot = max(worst_pot, abs(c[np.arange(k), j2].sum() - cost) / cost)
    return PermutationOptimality(worst_bf, worst_emd, worst_plan, worst_pot)


@dataclass(frozen=True)
class SortingSizes(Sizes):
    ks: tuple[int, ...] = (8, 256)
    batches: int = 100


SORTING_1D = Tier.same("mfm/batchot-1d-sorting", SortingSizes(), _section("mfm/batchot-1d-sorting"))


def rank_mismatches(run: RunSpec, coupling: Coupling = batch_ot_coupling) -> dict[int, int]:
    """Per ``k``: 1-D batches whose ``coupling`` permutation differs from the rank (order-statistics) matching."""
    sz = run.sizes(SORTING_1D)
    rng = run.rng(45)
    out = {}
    for k in sz.ks:
        mismatches = 0
        for _ in range(sz.batches):
            x0, x1 = rng.standard_normal((k, 1)), 2 * rng.standard_normal((k, 1)) + 1
            rank = np.empty(k, dtype=int)
            rank[np.argsort(x0[:, 0])] = np.argsort(x1[:, 0])
            mismatches += int(not np.array_equal(coupling(x0, x1, None), rank))
        out[k] = mismatches
    return out


# ---------------------------------------------------------------------------------------------
# mfm/coupling-cost-ordering
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CostOrderingSizes(Sizes):
    batches: int = 1000
    k: int = 64


COST_ORDERING = Tier.same("mfm/coupling-cost-ordering", CostOrderingSizes(), _section("mfm/coupling-cost-ordering"))
ORDERING_CHUNKS = 5  # independent streams [seed, chunk], so a process pool can split the batches


def coupling_costs(n_batches: int, k: int, seed: list[int], batchot: Coupling) -> dict[str, np.ndarray]:
    """Per-batch mean pair cost of BatchOT (``batchot``), Stable, CondOT, a random permutation, the EOT plan (picklable task)."""
    rng = np.random.default_rng(seed)
    out = {n: np.empty(n_batches) for n in ("batchot", "stable", "condot", "random_perm", "eot_plan")}
    r = np.arange(k)
    for b in range(n_batches):
        x0, x1 = rng.standard_normal((k, 2)), sample_eight_gaussians(k, rng)
        c = squared_distances(x0, x1)
        out["batchot"][b] = c[r, batchot(x0, x1, rng)].mean()
        out["stable"][b] = c[r, gale_shapley(c)[0]].mean()
        out["condot"][b] = c[r, r].mean()
        out["random_perm"][b] = c[r, rng.permutation(k)].mean()
        out["eot_plan"][b] = (entropic_plan(x0, x1) * c).sum() / k
    return out


def cost_ordering(run: RunSpec, batchot: Coupling = batch_ot_coupling) -> dict[str, np.ndarray]:
    """Per-batch costs of every coupling on ``batches`` 8-Gaussians batches of ``k`` (seed 46, 5 streams)."""
    sz = run.sizes(COST_ORDERING)
    seed = run.seed_list(46)
    tasks = [
        dict(n_batches=sz.batches // ORDERING_CHUNKS, k=sz.k, seed=[*seed, n], batchot=batchot)
        for n in range(ORDERING_CHUNKS)
    ]
    res = sweep(run.executor, coupling_costs, tasks)
    return {n: np.concatenate([r[n] for r in res]) for n in res[0]}


# ---------------------------------------------------------------------------------------------
# mfm/batcheot-limits
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EntropicLimitsSizes(Sizes):
    k: int = 64
    batches: int = 20
    eps_rel: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 1e6)


EOT_LIMITS = Tier.same("mfm/batcheot-limits", EntropicLimitsSizes(), _section("mfm/batcheot-limits"))
EntropicPlan = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def sinkhorn_plan(x0: np.ndarray, x1: np.ndarray, eps_rel: float) -> np.ndarray:
    """The suite's log-domain Sinkhorn plan (the solver under test)."""
    return entropic_plan(x0, x1, eps_rel)


@dataclass(frozen=True)
class EntropicLimits:
    """Per batch and eps: excess cost over OT and its bound eps ln k; the OT cost; the large-eps deviation from uniform."""

    eps_rel: tuple[float, ...]
    excess: np.ndarray
    bound: np.ndarray
    ot_cost: np.ndarray
    uniform_error: np.ndarray
    uniform_bound: np.ndarray
    marginal_error: float


def entropic_limits(run: RunSpec, plan: EntropicPlan = sinkhorn_plan) -> EntropicLimits:
    r""":math:`\langle P_\varepsilon,C\rangle-\mathrm{OT}` over the :math:`\varepsilon_{\rm rel}` grid on 8-Gaussians batches (seed 47).

    At the largest :math:`\varepsilon` the deviation :math:`\max|k\pi_{ij}-1|` is set against its
    derived bound :math:`e^{2\,\mathrm{osc}(C)/\varepsilon}-1` (the potentials confine
    :math:`(f_i+g_j-C_{ij})/\varepsilon` to :math:`\pm2\,\mathrm{osc}(C)/\varepsilon`).
    """
    sz = run.sizes(EOT_LIMITS)
    rng = run.rng(47)
    k, nb, grid = sz.k, sz.batches, sz.eps_rel
    excess, bound = np.empty((nb, len(grid))), np.empty((nb, len(grid)))
    ot_cost, uniform_err, uniform_bound = np.empty(nb), np.empty(nb), np.empty(nb)
    marg_err = 0.0
    for bi in range(nb):
        x0, x1 = rng.standard_normal((k, 2)), sample_eight_gaussians(k, rng)
        c = squared_distances(x0, x1)
        ot_cost[bi] = c[np.arange(k), batch_ot_coupling(x0, x1)].mean()
        for ei, e in enumerate(grid):
            pi = plan(x0, x1, e)
            marg_err = max(marg_err, np.abs(pi.sum(0) - 1).max(), np.abs(pi.sum(1) - 1).max())
            excess[bi, ei] = (pi * c).sum() / k - ot_cost[bi]
            bound[bi, ei] = e * c.mean() * np.log(k)
            if e == max(grid):
                uniform_err[bi] = np.abs(k * pi - 1.0).max()  # pi doubly stochastic: uniform entries 1/k
                uniform_bound[bi] = np.expm1(2 * (c.max() - c.min()) / (e * c.mean()))
    return EntropicLimits(grid, excess, bound, ot_cost, uniform_err, uniform_bound, float(marg_err))


# ---------------------------------------------------------------------------------------------
# mfm/stable-matching-properties
# ---------------------------------------------------------------------------------------------
Matcher = Callable[[np.ndarray], tuple[np.ndarray, int]]


def rows_propose(cost: np.ndarray) -> tuple[np.ndarray, int]:
    """Gale–Shapley with the ``x0`` (row) side proposing (the matcher under test)."""
    return gale_shapley(cost, "rows")


def blocking_pairs(cost: np.ndarray, j: np.ndarray) -> int:
    """Number of pairs ``(i, j')`` that both prefer each other to their partners (strictly)."""
    k = cost.shape[0]
    partner_of_col = np.empty(k, dtype=int)
    partner_of_col[j] = np.arange(k)
    row_cur = cost[np.arange(k), j][:, None]
    col_cur = cost[partner_of_col, np.arange(k)][None, :]
    return int(((cost < row_cur) & (cost < col_cur)).sum())


@dataclass(frozen=True)
class StableMatchingSizes(Sizes):
    ks: tuple[int, ...] = (8, 64, 256)
    batches: int = 100


STABLE_MATCHING = Tier.same(
    "mfm/stable-matching-properties", StableMatchingSizes(), _section("mfm/stable-matching-properties")
)
STABLE_PROPERTIES = (
    "non-permutations",
    "blocking pairs",
    "!= global greedy",
    "!= cols-proposing result",
    "> k^2 proposals",
)


def stable_matching_violations(run: RunSpec, matcher: Matcher = rows_propose) -> dict[int, dict[str, int]]:
    """Per ``k``: counts over the batches of each violated property (:data:`STABLE_PROPERTIES`) of ``matcher``."""
    sz = run.sizes(STABLE_MATCHING)
    rng = run.rng(48)
    out = {}
    for k in sz.ks:
        counts = dict.fromkeys(STABLE_PROPERTIES, 0)
        for _ in range(sz.batches):
            c = squared_distances(rng.standard_normal((k, 2)), sample_eight_gaussians(k, rng))
            j, props = matcher(c)
            counts["non-permutations"] += int(not is_permutation(j))
            counts["blocking pairs"] += blocking_pairs(c, j)
            counts["!= global greedy"] += int(not np.array_equal(j, greedy_matching(c)))
            counts["!= cols-proposing result"] += int(not np.array_equal(j, gale_shapley(c, "cols")[0]))
            counts["> k^2 proposals"] += int(props > k * k)
        out[k] = counts
    return out


# ---------------------------------------------------------------------------------------------
# mfm/theorem-d.8-monotone-cost, mfm/theorem-4.2-cost-limit (and the cost-vs-batch-size figure)
# ---------------------------------------------------------------------------------------------
Matching = str  # "ot" (the claim), "identity" or "anti" (negative controls): picklable, cacheable


def minibatch_ot_costs(d: int, k: int, n_batches: int, seed: list[int], matcher: Matching = "ot") -> np.ndarray:
    """Per-batch optimal matching cost (1/k) min_sigma sum ||x0_i - x1_sigma(i)||^2 (module level, picklable).

    ``matcher``: ``"ot"`` (sorting in 1-D, exact assignment otherwise), ``"identity"``
    (independent pairs), ``"anti"`` (the cost-maximising permutation; negative controls).
    """
    rng = np.random.default_rng([*seed, d, k])
    mu, var = minibatch_cost_target(d)
    if d == 1 and matcher in ("ot", "anti"):
        # in 1-D the optimal matching is sorted, the cost-maximising one anti-sorted: vectorised
        # over batches, one draw of every batch's noise (the stream read in the order of the loop
        # below, batch by batch, x0 then x1), the same per-batch values
        z = rng.standard_normal((n_batches, 2, k))
        x0, x1 = np.sort(z[:, 0], axis=1), np.sort(mu + np.sqrt(var) * z[:, 1], axis=1)
        return ((x0 - (x1[:, ::-1] if matcher == "anti" else x1)) ** 2).mean(axis=1)
    out = np.empty(n_batches)
    for b in range(n_batches):
        x0 = rng.standard_normal((k, d))
        x1 = mu + np.sqrt(var) * rng.standard_normal((k, d))
        if matcher == "identity":
            out[b] = ((x0 - x1) ** 2).sum(1).mean()
        elif matcher == "anti":
            c = squared_distances(x0, x1)
            r, col = linear_sum_assignment(-c)
            out[b] = c[r, col].mean()
        else:
            c = squared_distances(x0, x1)
            out[b] = c[np.arange(k), optimal_assignment(c, d)].mean()
    return out


@dataclass(frozen=True)
class BatchPlan(Sizes):
    """Batch sizes :math:`k=1,2,4,\\dots,k_{\\max}` and :math:`B_k=\\max(\\text{min\\_batches},\\text{pair\\_budget}/k)` batches."""

    k_max: int = 1024
    min_batches: int = 200
    pair_budget: int = 2**17

    def ks(self) -> tuple[int, ...]:
        return tuple(2**n for n in range(self.k_max.bit_length()))

    def batches(self, k: int) -> int:
        return max(self.min_batches, self.pair_budget // k)


@dataclass(frozen=True)
class CostSweepSizes(Sizes):
    """Dimensions of the sweep; 1-D (sorting, cheap) and higher-dimensional (assignment) batch plans."""

    dims: tuple[int, ...] = (1, 2, 8, 32)
    one_d: BatchPlan = BatchPlan()
    multi_d: BatchPlan = BatchPlan()

    def plan(self, d: int) -> BatchPlan:
        return self.one_d if d == 1 else self.multi_d


_D8_SECTION = "spec mfm.md §3, rows mfm/theorem-d.8-monotone-cost and mfm/theorem-4.2-cost-limit (k <= 1024, B_k = max(200, 2^17/k))"
_D8_FAST = CostSweepSizes(multi_d=BatchPlan(k_max=256, min_batches=100, pair_budget=2**14))
THEOREM_D8 = Tier("mfm/theorem-d.8-monotone-cost", _D8_FAST, CostSweepSizes(), _D8_SECTION)
THEOREM_42_COST = Tier("mfm/theorem-4.2-cost-limit", _D8_FAST, CostSweepSizes(), _D8_SECTION)


@dataclass(frozen=True)
class CostCurve:
    r"""Mean per-point minibatch matching cost :math:`c_k` and its SE per ``k`` for one dimension, with the closed forms."""

    d: int
    ks: np.ndarray
    batches: tuple[int, ...]
    mean: np.ndarray
    se: np.ndarray
    w2: float
    c1_exact: float

    @property
    def normalised_gap(self) -> np.ndarray:
        r""":math:`g=(c_k-W_2^2)/(c_1-W_2^2)` with the exact :math:`c_1`."""
        return (self.mean - self.w2) / (self.c1_exact - self.w2)


def cost_curve(run: RunSpec, d: int, plan: BatchPlan, matcher: Matching = "ot") -> CostCurve:
    """:math:`c_k` for ``k`` in ``plan`` in dimension ``d`` (seed 49), once per process and disk cache (:func:`measured`)."""
    seed = run.seed_list(49)
    ks = plan.ks()
    nbs = tuple(plan.batches(k) for k in ks)

    def compute() -> CostCurve:
        tasks = [dict(d=d, k=k, n_batches=nb, seed=seed, matcher=matcher) for k, nb in zip(ks, nbs)]
        rs = sweep(run.executor, minibatch_ot_costs, tasks)
        mu, var = minibatch_cost_target(d)
        return CostCurve(
            d,
            np.array(ks),
            nbs,
            np.array([r.mean() for r in rs]),
            np.array([r.std(ddof=1) / np.sqrt(r.size) for r in rs]),
            gaussian_w2_squared(np.zeros(d), np.eye(d), mu, np.diag(var)),
            float(mu @ mu + d + var.sum()),
        )

    params = {"d": d, "plan": plan.as_dict(), "seed": seed, "matcher": matcher}
    return measured(run, "mfm-minibatch-ot-cost", params, compute)


def cost_sweep(run: RunSpec, tier: Tier[CostSweepSizes], matcher: Matching = "ot") -> dict[int, CostCurve]:
    """The :func:`cost_curve` of every dimension of ``tier`` (Theorems D.8 and 4.2 share it)."""
    sz = run.sizes(tier)
    return {d: cost_curve(run, d, sz.plan(d), matcher) for d in sz.dims}


# ---------------------------------------------------------------------------------------------
# mfm/sandwich (and the Gaussian-family figure)
# ---------------------------------------------------------------------------------------------
W2Form = Callable[[GaussianCoupling], float]


def bures_w2(fam: GaussianCoupling) -> float:
    """:math:`W_2^2(q_0,q_1)` by the Bures closed form (the formula under test)."""
    return fam.w2_squared()


@dataclass(frozen=True)
class FamilySizes(Sizes):
    members: tuple[tuple[float, float], ...] = SANDWICH_FAMILY


SANDWICH = Tier.same("mfm/sandwich", FamilySizes(), _section("mfm/sandwich", "DOP853 and quad, no sampling"))


@dataclass(frozen=True)
class FamilyValues:
    r"""Per member :math:`(\rho,\phi)`: :math:`W_2^2`, :math:`C(\psi_1)`, KE, :math:`c(q)` and :math:`\min\mathcal L_{\rm JCFM}`."""

    members: tuple[tuple[float, float], ...]
    w2: np.ndarray
    transport_cost: np.ndarray
    kinetic_energy: np.ndarray
    coupling_cost: np.ndarray
    min_loss: np.ndarray

    @property
    def straightness(self) -> np.ndarray:
        return self.kinetic_energy - self.transport_cost


def family_values(members: tuple[tuple[float, float], ...], w2: W2Form = bures_w2) -> FamilyValues:
    """The sandwich quantities of each family member: DOP853 affine flow, ``quad`` and closed forms."""
    rows = []
    for rho, phi in members:
        fam = GaussianCoupling(rho=rho, phi=phi)
        rows.append((w2(fam), fam.transport_cost(), fam.kinetic_energy(), fam.coupling_cost(), fam.expected_spread()))
    return FamilyValues(tuple(members), *np.array(rows).T)


def sandwich(run: RunSpec, w2: W2Form = bures_w2) -> FamilyValues:
    """:func:`family_values` of the spec's five members."""
    return family_values(run.sizes(SANDWICH).members, w2)


# ---------------------------------------------------------------------------------------------
# mfm/condot-gaussian-reference-values
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClosedForms:
    """Closed-form 1-D reference values of the independent coupling for :math:`q_1=\\mathcal N(m,s^2)`."""

    kinetic_energy: float
    min_loss: float
    transport_cost: float
    coupling_cost: float


ClosedFormFn = Callable[[float, float], ClosedForms]


def symbolic_closed_forms(m: float, s: float) -> ClosedForms:
    r"""SymPy's :math:`t`-integrals for :math:`\rho=0` (KE, :math:`\min\mathcal L`), :math:`C=m^2+(s-1)^2` (Brenier map :math:`x\mapsto m+sx`), :math:`c(q)=m^2+1+s^2`."""
    num = gaussian_1d_reference_numeric()
    return ClosedForms(
        float(num["ke_rho0"](m, s)),
        float(num["loss_rho0"](m, s)),
        float(num["transport_cost"](m, s)),
        float(num["coupling_cost"](m, s, 0.0)),
    )


@dataclass(frozen=True)
class ReferenceSizes(Sizes):
    cases: tuple[tuple[float, float], ...] = ((0.0, 1.0), (0.0, 2.0), (2.0, 0.5))
    starts: int = 100_000
    pairs: int = 100_000
    rk4_steps: int = 100


REFERENCE_VALUES = Tier.same(
    "mfm/condot-gaussian-reference-values", ReferenceSizes(), _section("mfm/condot-gaussian-reference-values")
)


@dataclass(frozen=True)
class ReferenceCase:
    """One case ``(m, s)``: closed forms, the SymPy integrands by ``quad``, the NumPy-block routes and Monte Carlo."""

    m: float
    s: float
    closed: ClosedForms
    w2: float
    quad_kinetic_energy: float
    quad_min_loss: float
    flow_transport_cost: float
    blocks_kinetic_energy: float
    blocks_min_loss: float
    ode: dict[str, MeanSE]
    loss: MeanSE


def reference_values(
    run: RunSpec, field_rho: float = 0.0, closed_forms: ClosedFormFn = symbolic_closed_forms
) -> list[ReferenceCase]:
    r"""The 1-D independent-coupling values four ways (spec §3): closed forms, ``quad`` of the SymPy
    integrands, the NumPy covariance blocks (DOP853 affine flow for :math:`C`, ``quad`` of
    :math:`\sigma_t^2` and of the KE integrand), and Monte Carlo (RK4 flow from ``starts`` noises;
    the JCFM loss on ``pairs`` independent pairs).

    ``field_rho`` selects the family member whose marginal field is integrated and evaluated (0:
    the independent coupling; another value is the wrong-field control); ``closed_forms`` the
    closed forms under test.
    """
    sz = run.sizes(REFERENCE_VALUES)
    num = gaussian_1d_reference_numeric()
    seed = run.seed_list(51)
    out = []
    for ci, (m, s) in enumerate(sz.cases):
        fam = GaussianCoupling(mu=[m], sigma=[[s * s]], rho=field_rho)
        rng = np.random.default_rng([*seed, ci])
        x0 = rng.standard_normal((sz.starts, 1))
        fm = flow_metrics(fam.velocity, x0, sz.rk4_steps, error_estimate=False, return_samples=True)
        ode = {key: MeanSE.of(fm["samples"][key]) for key in ("kinetic_energy", "transport_cost", "straightness")}
        t, xt, d = condot_pairs(GaussianCoupling(mu=[m], sigma=[[s * s]]), sz.pairs, rng)
        u = num["A"](t, m, s, field_rho)[:, None] * xt + num["b"](t, m, s, field_rho)[:, None]
        out.append(
            ReferenceCase(
                m,
                s,
                closed_forms(m, s),
                gaussian_w2_squared([0.0], [[1.0]], [m], [[s * s]]),
                _quad01(lambda tt, m=m, s=s: num["ke_integrand"](tt, m, s, field_rho)),
                _quad01(lambda tt, m=m, s=s: num["spread"](tt, m, s, field_rho)),
                fam.transport_cost(),
                fam.kinetic_energy(),
                fam.expected_spread(),
                ode,
                MeanSE.of(((u - d) ** 2).sum(1)),
            )
        )
    return out


def _quad01(f: Callable[[float], float]) -> float:
    return float(quad(f, 0, 1, epsabs=1e-13, epsrel=1e-12)[0])


@functools.cache
def reference_closed_form_text() -> dict[str, str]:
    """SymPy's closed forms of KE and min L for the independent coupling (for the report)."""
    sym = gaussian_1d_reference_symbolic()
    return {"KE (rho = 0)": str(sym["ke_rho0"]), "min L_JCFM (rho = 0)": str(sym["loss_rho0"])}


# ---------------------------------------------------------------------------------------------
# One paired minibatch per coupling (figure mfm/fig-coupling-pairs)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CouplingExample:
    """One batch of noise and 8-Gaussians data and the pairs ``(i, j)`` and mean pair cost of each coupling."""

    x0: np.ndarray
    x1: np.ndarray
    pairs: dict[str, tuple[np.ndarray, np.ndarray]]
    cost: dict[str, float]


def coupling_example(run: RunSpec, k: int = 64) -> CouplingExample:
    """``k`` noise and data points (seed 46) paired by every coupling of :data:`numerics.couplings.COUPLINGS`."""
    seed = run.seed_list(46)
    rng = np.random.default_rng(seed)
    x0, x1 = rng.standard_normal((k, 2)), sample_eight_gaussians(k, rng)
    pairs, cost = {}, {}
    for name, coupling in COUPLINGS.items():
        idx = coupling(x0, x1, np.random.default_rng([*seed, 1]))
        pairs[name] = pair_indices(idx, k)
        cost[name] = pairing_cost(x0, x1, idx)
    return CouplingExample(x0, x1, pairs, cost)


# ---------------------------------------------------------------------------------------------
# Trained flows (spec §3 training defaults)
# ---------------------------------------------------------------------------------------------
# Separate seeded streams of one training run (spec: data, noise and initialisation each from
# their own generator); the loop's own generator draws the times t.
STREAM_DATA, STREAM_NOISE, STREAM_COUPLING, STREAM_INIT, STREAM_TIME = 1, 2, 3, 4, 5
EOT_AHEAD = 32  # minibatches coupled per batched entropic solve (the pairs do not depend on it)


@dataclass(frozen=True)
class FlowTrainingConfig:
    """Everything that defines one trained flow model (hashable: the cache key).

    Defaults are the spec's training defaults (``mfm.md`` §3): 8-Gaussians, ``k = batch = 256``,
    MLP with 3 hidden layers of 256 (SiLU), Adam 1e-3, 10,000 steps, seed 0, ``sigma_min = 0``.
    ``n_checkpoints`` evenly spaced checkpoints (step 0 included) are stored for the
    gradient-variance-vs-step measurements.
    """

    coupling: str = "batchot"
    k: int = 256
    batch: int = 256
    target: str = "8gaussians"
    dim: int = 2
    width: int = 256
    depth: int = 3
    steps: int = 10_000
    lr: float = 1e-3
    sigma_min: float = 0.0
    seed: int | tuple[int, ...] = 0
    eot_eps_rel: float = 0.05
    eot_sampling: str = "row"
    n_checkpoints: int = 20

    def __post_init__(self) -> None:
        if isinstance(self.seed, list | tuple):  # a --seed pair: hashable, one record
            object.__setattr__(self, "seed", tuple(int(s) for s in self.seed))
        FlowTarget(self.target, self.dim)  # validates target and dim
        if self.coupling not in COUPLINGS and self.coupling not in FAULTY_COUPLINGS:
            raise ValueError(f"unknown coupling {self.coupling!r}; choose from {tuple(COUPLINGS)}")
        for name in ("k", "batch", "width", "depth", "steps", "n_checkpoints"):
            v = getattr(self, name)
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.batch % self.k:
            raise ValueError(f"coupling block k={self.k} must divide the batch size {self.batch}")
        if not (0.0 <= self.sigma_min < 1.0):
            raise ValueError(f"sigma_min must lie in [0, 1), got {self.sigma_min!r}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if self.eot_sampling not in ("row", "plan"):
            raise ValueError(f"eot_sampling must be 'row' or 'plan', got {self.eot_sampling!r}")

    @property
    def flow_target(self) -> FlowTarget:
        return FlowTarget(self.target, self.dim)

    def canonical(self) -> FlowTrainingConfig:
        """The same model under one name: ``k = 1`` is the independent coupling, and the
        independent coupling ignores ``k`` and the entropic parameters."""
        cfg = self
        if cfg.k == 1 or cfg.coupling == "condot":
            cfg = dataclasses.replace(cfg, coupling="condot", k=1)
        if cfg.coupling != "batcheot":
            cfg = dataclasses.replace(cfg, eot_eps_rel=0.05, eot_sampling="row")
        return cfg

    def coupling_kwargs(self) -> dict[str, Any]:
        if self.coupling == "batcheot":
            return {"eps_rel": self.eot_eps_rel, "sampling": self.eot_sampling}
        return {}

    def checkpoint_steps(self) -> list[int]:
        return sorted({round(i * self.steps / self.n_checkpoints) for i in range(self.n_checkpoints + 1)})

    def seeds(self) -> list[int]:
        """The run's seed as a list (an ``int`` seed, or a ``--seed`` pair)."""
        return [int(s) for s in np.atleast_1d(self.seed)]

    def stream(self, which: int) -> list[int]:
        """Seed of one of the run's independent random streams."""
        return [*self.seeds(), int(which)]

    def sampler(self, seed: int | list[int] | None = None) -> CoupledBatchSampler:
        """Paired minibatches of this run's coupling (its own seeded streams, or ``seed``'s).

        BatchEOT couples :data:`EOT_AHEAD` minibatches at once (one batched entropic solve; the
        same pairs, drawn from the same streams, as one minibatch at a time).
        """
        return CoupledBatchSampler(
            self.flow_target,
            self.batch,
            self.coupling,
            self.k,
            self.seeds() if seed is None else seed,
            self.coupling_kwargs(),
            ahead=EOT_AHEAD if self.coupling == "batcheot" else 1,
        )

    def build_model(self) -> nn.Module:
        """A :class:`~numerics.nets.VelocityMLP` initialised from the run's own seeded stream."""
        return VelocityMLP(self.dim, width=self.width, depth=self.depth, init_seed=self.stream(STREAM_INIT))

    def objective(self) -> LossFn:
        """The joint CFM objective on this run's coupled minibatches."""
        return coupled_objective(self.sampler(), self.sigma_min)

    def draw(self) -> Draw:
        """The minibatches :meth:`objective` draws, as tensors (for seed ensembles)."""
        return coupled_draws(self.sampler())

    def batch_loss(self) -> BatchLoss:
        """The loss :meth:`objective` evaluates on one drawn minibatch."""
        return functools.partial(conditional_flow_matching_loss, sigma_min=self.sigma_min)

    def stacked_batch_loss(self) -> StackedLoss:
        """:meth:`batch_loss` of the members of a seed ensemble at once, from their stacked parameters."""
        skeleton = self.build_model()
        sigma_min = self.sigma_min

        def losses(params: dict[str, torch.Tensor], x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor):
            return conditional_flow_matching_losses(
                lambda x, tt: skeleton.stacked_forward(params, x, tt), x0, x1, t, sigma_min
            )

        return losses

    def ensemble_key(self) -> FlowTrainingConfig:
        """What the runs of one seed ensemble share: everything but the seed."""
        return dataclasses.replace(self, seed=0)

    def hyper(self) -> Hyper:
        return Hyper(
            steps=self.steps,
            lr=self.lr,
            optimizer="adam",
            seed=tuple(self.stream(STREAM_TIME)),
            checkpoints=tuple(self.checkpoint_steps()),
        )
