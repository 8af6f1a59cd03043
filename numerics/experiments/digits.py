r"""Real digits (extensions beyond the three papers): the measurements of the ``digits/`` claims and figures.

The data set is :func:`numerics.digits.digits` (scikit-learn's bundled 8×8 digits: 61 pixels,
dequantised, standardised, 1500 training / 297 test points). A training set of size :math:`N`
is the first :math:`N` rows of a seeded permutation of the 1500 training points
(:func:`training_subset`): the sets are nested, so a larger set contains every smaller one.

- ``digits/exact-flow-memorizes``: the exact flow of :math:`N` digits (Gao & Li's setting) sends
  every sample onto a training point, each with probability :math:`1/N`.
- ``digits/trained-memorization-falls-with-n``: seed ensembles of one :class:`~numerics.nets.VelocityMLP`
  width trained by conditional flow matching; the memorization ratio of their samples against
  :math:`N`.
- ``digits/kl-d-over-4n`` and ``digits/transition-at-n-equals-d``: the linear diffusion model of
  Merger & Goldt with the 1797 digits as the population (mean 0, covariance known exactly),
  training sets of :math:`N` i.i.d. draws from it.
- ``digits/bridge``: on the same training sets, the memorization ratio and the off-span variance
  of the exact flow, of the linear denoiser's DDPM sampler and of the trained MLPs, against
  :math:`N/d`.

No size here comes from a paper: the sizes are this project's (each :class:`Tier` says so).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import nn

from numerics import linear_diffusion as ld
from numerics.digits import digits
from numerics.empirical_field import integrate_flow
from numerics.experiments import RunSpec, Sizes, Tier, measured
from numerics.experiments.merger_goldt import EmpiricalModes, SamplerSetting, generated_law, population_kl
from numerics.memorization import COPY_RATIO, MemorizationRatio, memorization_ratio
from numerics.meters import OffSpan, nearest_distances, off_span_fraction, sample_model
from numerics.nets import VelocityMLP, as_float64
from numerics.training import (
    BatchLoss,
    Draw,
    Hyper,
    LossFn,
    StackedLoss,
    conditional_draws,
    conditional_flow_matching_loss,
    conditional_flow_matching_losses,
    conditional_objective,
    train_ensembles,
)

SECTION = "extension beyond the three papers (issue 24): no spec section; sizes of this project"
SUBSET_SEED = 24
# Separate seeded streams of one training run: initialisation, data indices, noise; the loop's
# own generator draws the times. Sampling noise of the trained models: its own stream.
STREAM_INIT, STREAM_DATA, STREAM_NOISE, STREAM_TIME = 1, 2, 3, 4
SEED_TRAIN, SEED_SAMPLES, SEED_EXACT, SEED_BOOT, SEED_KL, SEED_LINEAR = 0, 11, 12, 13, 14, 15


def training_subset(n: int) -> np.ndarray:
    """The first ``n`` of the 1500 training digits in a fixed seeded order (nested in ``n``)."""
    train = digits().train
    if not 2 <= n <= train.shape[0]:
        raise ValueError(f"n must lie in [2, {train.shape[0]}], got {n}")
    return train[_subset_order()[:n]]


@functools.cache
def _subset_order() -> np.ndarray:
    return np.random.default_rng(SUBSET_SEED).permutation(digits().train.shape[0])


# =============================================================================================
# Trained velocity models
# =============================================================================================
@dataclass(frozen=True)
class DigitsFlowConfig:
    """One conditional-flow-matching run of a :class:`~numerics.nets.VelocityMLP` on ``n`` digits (a cache key).

    OT path with :math:`\\sigma_{\\min}=0`, Adam, independent minibatches of ``batch`` pairs.
    """

    n: int
    width: int = 256
    depth: int = 3
    batch: int = 256
    steps: int = 4000
    lr: float = 1e-3
    seed: tuple[int, ...] = (SEED_TRAIN,)

    def __post_init__(self) -> None:
        if isinstance(self.seed, int | list):
            object.__setattr__(self, "seed", tuple(int(s) for s in np.atleast_1d(self.seed)))

    def stream(self, which: int) -> list[int]:
        return [*self.seed, which]

    def points(self) -> np.ndarray:
        return training_subset(self.n)

    def build_model(self) -> nn.Module:
        return VelocityMLP(digits().dim, width=self.width, depth=self.depth, init_seed=self.stream(STREAM_INIT))

    def objective(self) -> LossFn:
        return conditional_objective(
            self.points(), 0.0, self.batch, self.stream(STREAM_DATA), self.stream(STREAM_NOISE)
        )

    def draw(self) -> Draw:
        return conditional_draws(self.points(), self.batch, self.stream(STREAM_DATA), self.stream(STREAM_NOISE))

    def batch_loss(self) -> BatchLoss:
        return functools.partial(conditional_flow_matching_loss, sigma_min=0.0)

    def stacked_batch_loss(self) -> StackedLoss:
        skeleton = self.build_model()

        def losses(params: dict[str, torch.Tensor], x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor):
            return conditional_flow_matching_losses(lambda x, tt: skeleton.stacked_forward(params, x, tt), x0, x1, t)

        return losses

    def ensemble_key(self) -> DigitsFlowConfig:
        return dataclasses.replace(self, seed=(0,))

    def hyper(self) -> Hyper:
        return Hyper(steps=self.steps, lr=self.lr, seed=tuple(self.stream(STREAM_TIME)))


@dataclass(frozen=True)
class TrainedSizes(Sizes):
    """Seed ensembles of one width at every ``N`` of ``ns``; ``samples`` RK4 samples per member."""

    ns: tuple[int, ...] = (8, 16, 32, 64, 256, 1024)
    seeds: int = 5
    width: int = 256
    depth: int = 3
    batch: int = 256
    steps: int = 4000
    lr: float = 1e-3
    samples: int = 1000
    rk4_steps: int = 100


def ensemble_configs(run: RunSpec, sz: TrainedSizes, n: int) -> list[DigitsFlowConfig]:
    """The seed ensemble at ``n`` (seeds 0..seeds-1, or streams derived from ``--seed``)."""
    return [
        DigitsFlowConfig(n, sz.width, sz.depth, sz.batch, sz.steps, sz.lr, seed=tuple(run.seed_list(s)))
        for s in range(sz.seeds)
    ]


def trained_samples(run: RunSpec, sz: TrainedSizes) -> np.ndarray:
    """Samples of every member at every ``N``: ``(len(ns), seeds, samples, d)`` (memoised).

    Every member starts from the same prior noise (common random numbers across ``N`` and seeds).
    """

    def compute() -> np.ndarray:
        groups = [ensemble_configs(run, sz, n) for n in sz.ns]
        results = train_ensembles(groups, run.executor, run.cache)
        out = np.empty((len(sz.ns), sz.seeds, sz.samples, digits().dim))
        for a, (cfgs, rs) in enumerate(zip(groups, results)):
            for s, r in enumerate(rs):
                model = as_float64(r.model)
                out[a, s] = sample_model(
                    model, sz.samples, cfgs[s].points(), steps=sz.rk4_steps, seed=run.seed_for(SEED_SAMPLES)
                )
        return out

    return measured(run, "digits/trained-samples", {"sizes": sz, "seed": run.seed_for(SEED_TRAIN)}, compute)


@dataclass(frozen=True)
class TrainedMemorization:
    """Memorization ratio and affine off-span fraction of every member's samples, ``(len(ns), seeds)``."""

    ns: tuple[int, ...]
    ratio: np.ndarray
    off_span: np.ndarray
    threshold: float


TRAINED_MEMORIZATION = Tier(
    "digits/trained-memorization-falls-with-n",
    fast=TrainedSizes(ns=(8, 256), width=128, batch=128, steps=1000, lr=3e-3, samples=256, rk4_steps=40),
    spec=TrainedSizes(),
    section=SECTION,
)


def trained_memorization(run: RunSpec, threshold: float = COPY_RATIO) -> TrainedMemorization:
    """The ratio (copy criterion ``threshold``, the injection point) and off-span fraction of every member."""
    sz = run.sizes(TRAINED_MEMORIZATION)
    x = trained_samples(run, sz)
    ratio = np.empty(x.shape[:2])
    off = np.empty(x.shape[:2])
    for a, n in enumerate(sz.ns):
        y = training_subset(n)
        for s in range(sz.seeds):
            ratio[a, s] = _ratio(x[a, s], y, threshold, run).fraction
            off[a, s] = off_span_fraction(x[a, s], y, kind="affine").fraction
    return TrainedMemorization(tuple(sz.ns), ratio, off, threshold)


def _ratio(x: np.ndarray, y: np.ndarray, threshold: float, run: RunSpec) -> MemorizationRatio:
    return memorization_ratio(x, y, threshold=threshold, seed=run.seed_for(SEED_BOOT))


# =============================================================================================
# The linear diffusion model with the digits as the population (Merger & Goldt's setting)
# =============================================================================================
@dataclass(frozen=True)
class Population:
    r"""The 1797 digits in the eigenbasis of their covariance: points, eigenvalues, fourth-moment factor.

    ``points`` :math:`=XV` (mean 0, covariance :math:`\mathrm{diag}(\lambda)` exactly);
    ``kappa`` :math:`=(\mathbb E\|z\|^4-d)/(d(d+1))` of the whitened points
    :math:`z=\Lambda^{-1/2}V^\top x`: 1 for Gaussian data, the factor by which the second-order
    KL law :math:`\mathbb E\operatorname{tr}(S-I)^2=(\mathbb E\|z\|^4-d)/N` departs from the
    Gaussian :math:`d(d+1)/N`.
    """

    points: np.ndarray
    lam: np.ndarray
    kappa: float

    @property
    def dim(self) -> int:
        return int(self.lam.size)


@functools.cache
def population() -> Population:
    """The digits population (:func:`numerics.digits.digits`, all 1797) in its eigenbasis."""
    data = digits()
    lam, v = np.linalg.eigh(data.covariance)
    lam, v = lam[::-1].copy(), v[:, ::-1]
    rotated = (data.points - data.points.mean(axis=0)) @ v
    z2 = np.sum(rotated**2 / lam, axis=1)
    d = lam.size
    return Population(rotated, lam, float((np.mean(z2**2) - d) / (d * (d + 1))))


def population_draws(n: int, seed: Any) -> np.ndarray:
    """Row indices of ``n`` i.i.d. draws (with replacement) from the 1797 population points."""
    return np.random.default_rng(seed).integers(0, population().points.shape[0], n)


def population_modes_task(n: int, seeds: list[Any], mean: str = "estimated") -> EmpiricalModes:
    """Empirical moments of ``n`` i.i.d. draws (with replacement) from the population, one set per seed (a sweep task)."""
    pop = population()
    mu_hat, lam_hat, u = [], [], []
    for seed in seeds:
        x = pop.points[population_draws(n, seed)]
        mu, cov = ld.empirical_moments(x, mean)
        lh, uu = ld.eigen_modes(cov)
        mu_hat.append(mu[None])
        lam_hat.append(lh[None])
        u.append(uu[None])
    return EmpiricalModes(n, pop.lam[None], np.stack(mu_hat), np.stack(lam_hat), np.stack(u))


def population_modes(
    run: RunSpec, ns: tuple[int, ...], seeds: list[Any], mean: str = "estimated"
) -> list[EmpiricalModes]:
    """:func:`population_modes_task` for every ``N`` (memoised)."""
    from numerics.executor import sweep

    tasks = [{"n": int(n), "seeds": seeds, "mean": mean} for n in ns]
    return measured(
        run,
        "digits/population-modes",
        {"ns": [int(n) for n in ns], "seeds": seeds, "mean": mean},
        lambda: sweep(run.executor, population_modes_task, tasks),
    )


@dataclass(frozen=True)
class KLLawSizes(Sizes):
    ns: tuple[int, ...] = (610, 1220, 6100, 30500, 61000)
    seeds: int = 200


DIGITS_KL_LAW = Tier(
    "digits/kl-d-over-4n", fast=KLLawSizes(ns=(610, 6100, 30500), seeds=60), spec=KLLawSizes(), section=SECTION
)


@dataclass(frozen=True)
class DigitsKLLaw:
    r""":math:`Q=\frac Nd(\frac{D_{\rm KL}}d-\frac{D^{\rm pop}_{\rm KL}}d)` of the linear sampler (σ² = β, covariance part), ``(N, seeds, direction)``.

    ``kappa``: the population's fourth-moment factor (:class:`Population`); ``d`` the dimension.
    """

    d: int
    ns: tuple[int, ...]
    q: np.ndarray
    kappa: float

    def q_mean(self) -> tuple[np.ndarray, np.ndarray]:
        """Seed mean and standard error of Q, ``(N, direction)`` each."""
        return self.q.mean(axis=1), self.q.std(axis=1, ddof=1) / np.sqrt(self.q.shape[1])


def digits_kl_law(run: RunSpec) -> DigitsKLLaw:
    """KL of the generated law for ``N`` i.i.d. digits, seeds 0..seeds-1 (stream ``SEED_KL``), both directions."""
    sz = run.sizes(DIGITS_KL_LAW)
    seeds = [[*run.seed_list(SEED_KL), s] for s in range(sz.seeds)]
    modes = population_modes(run, sz.ns, seeds)
    pop = population()
    kl_pop = population_kl(pop.lam)[:, 0]  # (direction,)
    q = np.empty((len(sz.ns), sz.seeds, len(ld.KL_DIRECTIONS)))
    for a, m in enumerate(modes):
        g = generated_law(m)
        for i, direction in enumerate(ld.KL_DIRECTIONS):
            q[a, :, i] = m.n / pop.dim * (g.kl(direction=direction)[:, 0] - kl_pop[i])
    return DigitsKLLaw(pop.dim, tuple(sz.ns), q, pop.kappa)


@dataclass(frozen=True)
class TransitionSizes(Sizes):
    ratios: tuple[float, ...] = (0.25, 0.5, 0.75, 0.9, 1.1, 1.5, 2.0, 4.0, 10.0)
    seeds: int = 5


DIGITS_TRANSITION = Tier.same("digits/transition-at-n-equals-d", TransitionSizes(), SECTION)


@dataclass(frozen=True)
class DigitsTransition:
    """Null-mode counts and distinct points drawn ``(ratio, seeds)``, the seed-mean KL/d ``(ratio,)`` (forward, σ² = β), population KL/d.

    Draws with replacement repeat points (at :math:`N=55`, a repeat in most sets): a set of
    :math:`n` distinct points has covariance rank :math:`n-1`.
    """

    d: int
    ratios: tuple[float, ...]
    null_modes: np.ndarray
    distinct: np.ndarray
    kl: np.ndarray
    population: float

    @property
    def ns(self) -> np.ndarray:
        return np.array([round(r * self.d) for r in self.ratios])

    def at(self, ratio: float) -> int:
        return self.ratios.index(ratio)


def digits_transition(run: RunSpec, mean: str = "estimated") -> DigitsTransition:
    """KL/d of the linear sampler against N/d on the digits spectrum (``mean``: the centring under test)."""
    sz = run.sizes(DIGITS_TRANSITION)
    pop = population()
    seeds = [[*run.seed_list(SEED_KL), 100 + s] for s in range(sz.seeds)]
    ns = tuple(round(r * pop.dim) for r in sz.ratios)
    modes = population_modes(run, ns, seeds, mean)
    kl = np.array([generated_law(m).kl()[:, 0].mean() for m in modes])
    null = np.array([m.null_modes[:, 0] for m in modes])
    distinct = np.array([[np.unique(population_draws(n, s)).size for s in seeds] for n in ns])
    return DigitsTransition(pop.dim, tuple(sz.ratios), null, distinct, kl, float(population_kl(pop.lam)[0, 0]))


# =============================================================================================
# The exact flow of N digits
# =============================================================================================
@dataclass(frozen=True)
class ExactFlowSizes(Sizes):
    n: int = 1500
    samples: int = 15_000


EXACT_FLOW = Tier(
    "digits/exact-flow-memorizes", fast=ExactFlowSizes(n=100, samples=1000), spec=ExactFlowSizes(), section=SECTION
)


def exact_flow_samples(run: RunSpec, y: np.ndarray, samples: int, t_end: float = 1.0) -> np.ndarray:
    """End points of the exact flow of the points ``y`` (OT path, :math:`\\sigma_{\\min}=0`) from seeded noise (memoised)."""

    def compute() -> np.ndarray:
        x0 = run.rng(SEED_EXACT).standard_normal((samples, y.shape[1]))
        return integrate_flow(x0, y, t_end=t_end)

    key = {"points": y, "samples": samples, "t_end": t_end, "seed": run.seed_for(SEED_EXACT)}
    return measured(run, "digits/exact-flow-samples", key, compute)


@dataclass(frozen=True)
class ExactFlowMemorization:
    """Memorization ratio of the exact flow's samples and the count of samples per basin (nearest training point).

    ``chi2``, ``p_value``: Pearson's test of the counts against equal masses :math:`1/N` over the
    ``n`` distinct training points; ``max_nearest``: the largest sample-to-nearest-point distance.
    """

    n: int
    ratio: MemorizationRatio
    counts: np.ndarray
    chi2: float
    p_value: float
    max_nearest: float
    flow_points: int


def exact_flow_memorization(run: RunSpec, repeats: int = 1, t_end: float = 1.0) -> ExactFlowMemorization:
    """The exact flow of ``n`` digits, metered against the distinct points.

    Injection points: ``repeats`` > 1 hands the flow the first half of the points that many times
    (duplicates not removed from the flow's data); ``t_end`` < 1 stops the flow early.
    """
    sz = run.sizes(EXACT_FLOW)
    y = training_subset(sz.n)
    flow_points = np.concatenate([np.repeat(y[: sz.n // 2], repeats, axis=0), y[sz.n // 2 :]])
    x = exact_flow_samples(run, flow_points, sz.samples, t_end)
    nn = nearest_distances(x, y)
    counts = np.bincount(nn.index, minlength=sz.n)
    chi = stats.chisquare(counts)
    ratio = _ratio(x, y, COPY_RATIO, run)
    return ExactFlowMemorization(
        sz.n, ratio, counts, float(chi.statistic), float(chi.pvalue), float(nn.first.max()), flow_points.shape[0]
    )


# =============================================================================================
# The bridge: exact flow, linear denoiser, trained MLPs on the same training sets
# =============================================================================================
@dataclass(frozen=True)
class BridgeSizes(Sizes):
    """``N`` of the exact flow and the linear denoiser (the MLPs run at the trained claim's ``ns``)."""

    ns: tuple[int, ...] = (8, 16, 32, 48, 61, 64, 128, 256, 1024)
    samples: int = 2000


BRIDGE = Tier(
    "digits/bridge", fast=BridgeSizes(ns=(8, 16, 32, 48, 64, 256), samples=300), spec=BridgeSizes(), section=SECTION
)

OffSpanLaw = Callable[[EmpiricalModes, Any], float]


def linear_off_span(modes: EmpiricalModes, law: Any) -> float:
    r"""Closed form of the linear sampler's off-span fraction about the training mean.

    With the generated law :math:`\mathcal N(\mu_{\rm gen},U\mathrm{diag}(f)U^\top)` and
    :math:`c=U^\top(\mu_{\rm gen}-\hat\mu)`:
    :math:`\sum_{\nu\,\rm null}(f_\nu+c_\nu^2)/\sum_\nu(f_\nu+c_\nu^2)`, the null modes being
    the zero eigenvalues of :math:`\hat\Sigma` (the complement of the affine hull).
    """
    f, lam_hat = law.f[0, 0], modes.lam_hat[0, 0]
    c = modes.u[0, 0].T @ (law.mean_gen[0, 0] - modes.mu_hat[0, 0])
    per_mode = f + c * c
    return float(per_mode[lam_hat == 0].sum() / per_mode.sum())


@dataclass(frozen=True)
class Bridge:
    """Memorization ratio and affine off-span fraction against ``N`` for the three models.

    ``exact_*``, ``linear_*``: ``(len(ns),)``; ``linear_off_se`` the delta-method SE of the
    measured fraction, ``linear_off_closed`` its closed form; ``mlp_*``: ``(len(mlp_ns), seeds)``.
    """

    d: int
    ns: tuple[int, ...]
    exact_ratio: np.ndarray
    exact_off: np.ndarray
    linear_ratio: np.ndarray
    linear_off: np.ndarray
    linear_off_se: np.ndarray
    linear_off_closed: np.ndarray
    mlp_ns: tuple[int, ...]
    mlp_ratio: np.ndarray
    mlp_off: np.ndarray


def _linear_samples(run: RunSpec, y: np.ndarray, samples: int) -> np.ndarray:
    def compute() -> np.ndarray:
        mu_hat, cov_hat = ld.empirical_moments(y)
        eps = ld.linear_eps_fn(mu_hat, cov_hat, ld.beta_schedule(1000))
        return ld.ddpm_sample(eps, ld.beta_schedule(1000), samples, y.shape[1], run.seed_for(SEED_LINEAR))

    key = {"points": y, "samples": samples, "seed": run.seed_for(SEED_LINEAR)}
    return measured(run, "digits/linear-samples", key, compute)


def _training_modes(y: np.ndarray) -> EmpiricalModes:
    mu_hat, cov_hat = ld.empirical_moments(y)
    lam_hat, u = ld.eigen_modes(cov_hat)
    return EmpiricalModes(y.shape[0], population().lam[None], mu_hat[None, None], lam_hat[None, None], u[None, None])


def bridge(run: RunSpec, off_span_law: OffSpanLaw = linear_off_span) -> Bridge:
    """The three models on the nested training sets (``off_span_law``: the linear closed form under test)."""
    sz = run.sizes(BRIDGE)
    rows: list[tuple[float, ...]] = []
    for n in sz.ns:
        y = training_subset(n)
        xe = exact_flow_samples(run, y, sz.samples)
        xl = _linear_samples(run, y, sz.samples)
        modes = _training_modes(y)
        off_l: OffSpan = off_span_fraction(xl, y, kind="affine")
        rows.append(
            (
                _ratio(xe, y, COPY_RATIO, run).fraction,
                off_span_fraction(xe, y, kind="affine").fraction,
                _ratio(xl, y, COPY_RATIO, run).fraction,
                off_l.fraction,
                off_l.se,
                off_span_law(modes, generated_law(modes, SamplerSetting())),
            )
        )
    cols = np.array(rows).T
    mlp = trained_memorization(run)
    return Bridge(digits().dim, tuple(sz.ns), *cols, mlp.ns, mlp.ratio, mlp.off_span)
