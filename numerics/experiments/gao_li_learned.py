r"""Learned velocity fields of Gao & Li (OSDNet and plain MLPs): the training runs and their measurements.

One training run of OSDNet (spec ``gao_li.md`` §2: ``sparse-d20``, learned off-subspace head,
conditional flow matching, :math:`\sigma_{\min}=0.01`, width 256, 5000 steps, checkpoints
``{0,250,500,1000,2000,3000,5000}``) is shared by the five learned-model claims ("same run" in the
claims table). A run is a frozen :class:`LearnedFieldConfig`; :func:`numerics.training.trained`
trains it once per process and once per disk cache.

Sizes. Every claim has a :class:`~numerics.experiments.Tier`: the spec's sizes (§3 claims table)
and the fast tier's, which trains width 64 for 2000 steps (checkpoints ``{0,250,500,1000,1500,
2000}``: every step a criterion names, 250 and 1000, is a checkpoint in both tiers) and uses fewer
starts, so the fast verdicts are ``verified-reduced``.

Measurements (typed results; shared by checks and figures through
:func:`~numerics.experiments.measured`):

- :func:`exact_off_head_runs`: off-subspace endpoints of OSDNets with the closed-form off head;
- :func:`off_subspace_identity_run`: the variation-of-constants identity along the final model's paths;
- :func:`checkpoint_trend`: per checkpoint, samples, off-subspace decay, closeness, diversity and
  the excess loss (:func:`checkpoint_samples`, :func:`checkpoint_excess`);
- :func:`checkpoint_bounds`: per checkpoint, the learned-vs-exact error and the Grönwall bound;
- :func:`off_subspace_paths_by_dimension`: off-subspace norms along paths of OSDNets and plain MLPs
  for the same data embedded in :math:`d\in\{20,200,2000\}` (a figure's measurement).

Every checkpoint of a run is evaluated at once (a stack, :func:`numerics.nets.stack_checkpoints`)
in float64 on the training device (:func:`numerics.training.default_device`).

Faults (negative controls) enter as arguments: the field a run is evaluated with
(:func:`off_head_frozen_at_init`, :func:`exact_field_at_every_checkpoint`), the σmin of a closed-form
head, the kernel of the identity, the one-sided rate of the bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from torch import nn

from numerics.datasets import dataset, embedded_dataset
from numerics.experiments import RunSpec, Sizes, Tier, measured
from numerics.learned_field import (
    ExactField,
    ExcessLoss,
    OffSubspaceIdentity,
    excess_loss,
    generate,
    generate_in_tau,
    generation_error_bound,
    median_data_gap,
    off_subspace_identity,
    off_subspace_norm_path,
    sample_metrics,
)
from numerics.memorization import memorization_ratio
from numerics.nets import OFF_HEADS, OSDNet, VelocityMLP, seeded_init_, stack_checkpoints, with_exact_off_head
from numerics.subspace import DataSubspace, proper_subspace, subspace_basis
from numerics.training import (
    Hyper,
    LossFn,
    TrainResult,
    conditional_objective,
    default_device,
    teacher_objective,
    train_many,
    trained,
)

TARGETS = ("conditional", "teacher")
ARCHITECTURES = ("osdnet", "mlp")

# Separate seeded streams of one run: initialisation of each head, data indices, noise; the
# training loop's own generator draws the times.
STREAM_INIT_F, STREAM_INIT_G, STREAM_DATA, STREAM_NOISE, STREAM_TIME = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class LearnedFieldConfig:
    """One learned-field training run (hashable: the key of the in-process and disk caches).

    ``data`` is a name of :data:`numerics.datasets.DATASETS` or ``"embedded-d<D>"`` (the
    5-point, 5-dimensional coordinates of spec fact (e) embedded in :math:`\\mathbb R^D`).
    ``checkpoints`` are steps in ``[0, steps]``. Spec defaults (§2): width 256, depth 3, Adam,
    lr :math:`10^{-3}`, batch 256, :math:`\\sigma_{\\min}=0.01`, 5000 steps, seed 0. ``optimizer``
    (``"adam"``/``"adamw"``), ``ema`` and ``clip`` are passed to the shared loop.
    """

    data: str = "sparse-d20"
    architecture: str = "osdnet"
    off_head: str = "learned"
    target: str = "conditional"
    sigma_min: float = 0.01
    width: int = 256
    depth: int = 3
    time_embedding: int = 0
    batch: int = 256
    lr: float = 1e-3
    optimizer: str = "adam"
    ema: float | None = None
    clip: float | None = None
    steps: int = 5000
    checkpoints: tuple[int, ...] = (0, 250, 500, 1000, 2000, 3000, 5000)
    seed: int | tuple[int, ...] = 0
    basis_method: str = "qr"

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.off_head not in OFF_HEADS:
            raise ValueError(f"off_head must be one of {OFF_HEADS}, got {self.off_head!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {self.target!r}")
        if not 0.0 < self.sigma_min < 1.0:
            # sigma_min = 0 makes the terminal field singular: RK4 in t cannot reach t = 1.
            raise ValueError(f"learned-field runs need sigma_min in (0, 1), got {self.sigma_min}")
        if min(self.width, self.depth, self.batch) < 1 or self.steps < 0 or not self.lr > 0:
            raise ValueError("width, depth, batch must be >= 1, steps >= 0 and lr > 0")
        if any(s < 0 or s > self.steps for s in self.checkpoints):
            raise ValueError(f"checkpoints must lie in [0, {self.steps}], got {self.checkpoints}")
        object.__setattr__(self, "checkpoints", tuple(sorted(set(int(s) for s in self.checkpoints))))
        if isinstance(self.seed, list):
            object.__setattr__(self, "seed", tuple(int(s) for s in self.seed))

    def points(self) -> np.ndarray:
        """The training points ``(N, d)``."""
        if self.data.startswith("embedded-d"):
            return embedded_dataset(int(self.data.removeprefix("embedded-d")))[0]
        return dataset(self.data)

    def subspace(self) -> DataSubspace:
        return proper_subspace(self.points(), method=self.basis_method)

    def stream(self, which: int) -> list[int]:
        """Seed of one stream of the run (``seed`` may be a ``--seed`` pair)."""
        base = [int(s) for s in self.seed] if isinstance(self.seed, tuple) else [int(self.seed)]
        return [*base, which]

    def build_model(self) -> nn.Module:
        """The untrained model, each head initialised from its own seeded stream."""
        sub = self.subspace()
        if self.architecture == "mlp":
            model = VelocityMLP(sub.dim, self.width, self.depth, self.time_embedding)
            return seeded_init_(model, self.stream(STREAM_INIT_G))
        model = OSDNet(sub.basis, self.sigma_min, self.width, self.depth, self.time_embedding, self.off_head)
        seeded_init_(model.f, self.stream(STREAM_INIT_F))
        if model.g is not None:
            seeded_init_(model.g, self.stream(STREAM_INIT_G))
        return model

    def objective(self) -> LossFn:
        """Conditional flow matching or teacher–student regression on the closed-form field."""
        data = self.points()
        seeds = (self.stream(STREAM_DATA), self.stream(STREAM_NOISE))
        if self.target == "teacher":
            return teacher_objective(data, self.subspace().basis, self.sigma_min, self.batch, *seeds)
        return conditional_objective(data, self.sigma_min, self.batch, *seeds)

    def hyper(self) -> Hyper:
        return Hyper(
            steps=self.steps,
            lr=self.lr,
            optimizer=self.optimizer,
            ema=self.ema,
            clip=self.clip,
            seed=tuple(self.stream(STREAM_TIME)),
            checkpoints=self.checkpoints,
        )


SIGMA_MIN = 0.01
DATA = "sparse-d20"
SPEC_CHECKPOINTS = (0, 250, 500, 1000, 2000, 3000, 5000)
FAST_CHECKPOINTS = (0, 250, 500, 1000, 1500, 2000)
# Seeds of the claims table (§3): untrained heads and their starts, identity starts, trend starts,
# bound starts; the excess-loss draws (common random numbers across checkpoints) use their own.
SEED_TRAIN, SEED_HEADS, SEED_IDENTITY, SEED_TREND, SEED_BOUND, SEED_EXCESS = 0, 25, 26, 27, 28, 0
SEED_COPIES = 29  # the bootstrap of the memorization ratio
# Spec §6: the target and the projection construction are variants (reported at spec size), each
# one ``(field of LearnedFieldConfig, value)``.
VARIANTS: tuple[tuple[str, str], ...] = (("target", "teacher"), ("basis_method", "svd"))


def _section(claim: str) -> str:
    return f"spec gao_li.md §3, row {claim}; OSDNet defaults §2"


@dataclass(frozen=True)
class TrainSizes(Sizes):
    """The shared OSDNet training run: hidden width, Adam steps and checkpoint steps."""

    width: int = 256
    steps: int = 5000
    checkpoints: tuple[int, ...] = SPEC_CHECKPOINTS


SPEC_TRAIN = TrainSizes()
FAST_TRAIN = TrainSizes(width=64, steps=2000, checkpoints=FAST_CHECKPOINTS)


def run_config(run: RunSpec, train: TrainSizes, **changes: object) -> LearnedFieldConfig:
    """The shared OSDNet run (``sparse-d20``, learned off head, conditional target, σmin 0.01) at ``train`` sizes.

    ``changes`` set other fields (variants, the runs of a figure).
    """
    seed = run.seed_for(SEED_TRAIN)
    params: dict = dict(
        data=DATA,
        sigma_min=SIGMA_MIN,
        width=train.width,
        steps=train.steps,
        checkpoints=train.checkpoints,
        seed=tuple(seed) if isinstance(seed, list) else seed,
    )
    params.update(changes)
    return LearnedFieldConfig(**params)


def trained_run(run: RunSpec, config: LearnedFieldConfig) -> TrainResult:
    """The trained run of ``config`` (once per process and per ``run.cache``)."""
    run.progress(
        f"{config.architecture} run: {config.steps} steps, width {config.width}, d = {config.points().shape[1]}"
    )
    return trained(config, run.cache)


# ---------------------------------------------------------------------------------------- fields
FieldOfRun = Callable[[TrainResult, LearnedFieldConfig], nn.Module]


def _steps(result: TrainResult) -> list[int]:
    return sorted(result.checkpoints)


def trained_checkpoints(result: TrainResult, config: LearnedFieldConfig) -> nn.Module:
    """Every checkpoint of the run as trained, stacked (float64, training device)."""
    return stack_checkpoints(result.model, [result.checkpoints[s] for s in _steps(result)], default_device())


def off_head_frozen_at_init(result: TrainResult, config: LearnedFieldConfig) -> nn.Module:
    """Fault: every checkpoint evaluated with the off-subspace head ``g`` of step 0 (an off head never trained)."""
    init = result.checkpoints[0]
    states = [
        {k: (init[k] if k.startswith("g.") else v) for k, v in result.checkpoints[s].items()} for s in _steps(result)
    ]
    return stack_checkpoints(result.model, states, default_device())


def exact_field_at_every_checkpoint(result: TrainResult, config: LearnedFieldConfig) -> nn.Module:
    """Fault: the closed-form field in place of every checkpoint (its samples are training points + σmin noise)."""
    return ExactField(config.points(), config.sigma_min, stack_size=len(result.checkpoints)).to(default_device())


def _starts(seed: int | list[int], n: int, d: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d))


# ---------------------------------------------------------------------------------------- exact off head
@dataclass(frozen=True)
class ExactHeadSizes(Sizes):
    train: TrainSizes = SPEC_TRAIN
    starts: int = 500
    tau_steps: int = 2000


EXACT_HEAD = Tier(
    "gao-li/osdnet-exact-off-head",
    fast=ExactHeadSizes(FAST_TRAIN, starts=100, tau_steps=500),
    spec=ExactHeadSizes(),
    section=_section("gao-li/osdnet-exact-off-head"),
)


@dataclass(frozen=True)
class ExactHeadRuns:
    """Off-subspace parts of the starts and of the endpoints (RK4 in τ) per head, and the σmin of the path."""

    off0: np.ndarray
    off1: dict[str, np.ndarray]
    sigma_min: float


def exact_off_head_runs(run: RunSpec, head_sigma_min: float = SIGMA_MIN) -> ExactHeadRuns:
    """OSDNets with the closed-form off head: two untrained subspace heads (QR and SVD bases, seed 25)
    and the trained one of the shared run, integrated from the same starts by RK4 in τ.

    ``head_sigma_min`` is the σmin the closed-form heads are built with (the path's is
    :data:`SIGMA_MIN`; another value is the negative control).
    """
    sz = run.sizes(EXACT_HEAD)
    cfg = run_config(run, sz.train)
    data = cfg.points()

    def compute() -> ExactHeadRuns:
        heads: dict[str, nn.Module] = {}
        for method in ("qr", "svd"):
            head = OSDNet(subspace_basis(data, method=method).basis, head_sigma_min, sz.train.width, off_head="exact")
            heads[f"untrained ({method} basis)"] = seeded_init_(head, run.seed_for(SEED_HEADS))
        heads["trained"] = with_exact_off_head(trained_run(run, cfg).model, sigma_min=head_sigma_min)
        x0 = _starts(run.seed_for(SEED_HEADS), sz.starts, data.shape[1])
        sub = proper_subspace(data)
        off1 = {name: sub.off(generate_in_tau(m, x0, SIGMA_MIN, sz.tau_steps)) for name, m in heads.items()}
        return ExactHeadRuns(sub.off(x0), off1, SIGMA_MIN)

    params = dict(config=cfg, sizes=sz, seed=run.seed_for(SEED_HEADS), head_sigma_min=head_sigma_min)
    return measured(run, "gao-li-osdnet-exact-off-head", params, compute)


# ---------------------------------------------------------------------------------------- identity
@dataclass(frozen=True)
class IdentitySizes(Sizes):
    train: TrainSizes = SPEC_TRAIN
    starts: int = 500
    ode_steps: int = 2000


IDENTITY = Tier(
    "gao-li/osdnet-off-subspace-identity",
    fast=IdentitySizes(FAST_TRAIN, starts=100),
    spec=IdentitySizes(),
    section=_section("gao-li/osdnet-off-subspace-identity"),
)


def off_subspace_identity_run(run: RunSpec, kernel_sigma_min: float | None = None) -> OffSubspaceIdentity:
    """The identity's terms along paths of the final trained model (RK4 in t, augmented state; seed 26).

    ``kernel_sigma_min`` replaces σmin in the kernel σmin/σs (negative control).
    """
    sz = run.sizes(IDENTITY)
    cfg = run_config(run, sz.train)

    def compute() -> OffSubspaceIdentity:
        model = trained_run(run, cfg).model
        x0 = _starts(run.seed_for(SEED_IDENTITY), sz.starts, model.dim)
        return off_subspace_identity(
            model, x0, cfg.points(), SIGMA_MIN, sz.ode_steps, method=cfg.basis_method, kernel_sigma_min=kernel_sigma_min
        )

    params = dict(config=cfg, sizes=sz, seed=run.seed_for(SEED_IDENTITY), kernel_sigma_min=kernel_sigma_min)
    return measured(run, "gao-li-osdnet-off-subspace-identity", params, compute)


# ---------------------------------------------------------------------------------------- checkpoints
def checkpoint_samples(
    run: RunSpec, config: LearnedFieldConfig, starts: int, ode_steps: int, field: FieldOfRun = trained_checkpoints
) -> tuple[np.ndarray, np.ndarray]:
    """``(starts (M, d), samples (K, M, d))``: RK4 in t from the same seeded starts (seed 27) for every checkpoint."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        res = trained_run(run, config)
        x0 = _starts(run.seed_for(SEED_TREND), starts, config.points().shape[1])
        run.progress(f"generating {starts} samples at {len(res.checkpoints)} checkpoints")
        return x0, generate(field(res, config), x0, ode_steps)

    params = dict(config=config, starts=starts, ode_steps=ode_steps, seed=run.seed_for(SEED_TREND), field=field)
    return measured(run, "gao-li-osdnet-checkpoint-samples", params, compute)


def checkpoint_excess(
    run: RunSpec, config: LearnedFieldConfig, draws: int, field: FieldOfRun = trained_checkpoints
) -> ExcessLoss:
    """Excess loss of every checkpoint on the same ``draws`` Monte Carlo points (t in [0, 0.99])."""

    def compute() -> ExcessLoss:
        res = trained_run(run, config)
        data = config.points()
        return excess_loss(
            field(res, config), data, config.sigma_min, draws, run.seed_for(SEED_EXCESS), method=config.basis_method
        )

    params = dict(config=config, draws=draws, seed=run.seed_for(SEED_EXCESS), field=field)
    return measured(run, "gao-li-osdnet-checkpoint-excess", params, compute)


@dataclass(frozen=True)
class TrendSizes(Sizes):
    train: TrainSizes = SPEC_TRAIN
    starts: int = 1000
    ode_steps: int = 500
    excess_draws: int = 8192
    variants: tuple[tuple[str, str], ...] = VARIANTS


TREND_FAST = TrendSizes(FAST_TRAIN, starts=200, ode_steps=250, variants=())
DECAY = Tier(
    "gao-li/osdnet-off-subspace-decays-in-training",
    fast=TREND_FAST,
    spec=TrendSizes(),
    section=_section("gao-li/osdnet-off-subspace-decays-in-training"),
)
GENERALIZES = Tier(
    "gao-li/osdnet-generalizes-in-subspace",
    fast=TREND_FAST,
    spec=TrendSizes(),
    section=_section("gao-li/osdnet-generalizes-in-subspace"),
)


@dataclass(frozen=True)
class CheckpointTrend:
    """Per-checkpoint sample metrics and excess loss of one run (arrays indexed like ``steps``).

    ``rho`` = mean ‖x⊥(1)‖/‖x⊥(0)‖, ``off_fraction`` = mean ‖x⊥(1)‖/‖x(1)‖, ``nn_distance`` = mean
    nearest-training-point distance, ``distinct_fraction`` = fraction of samples farther than 5% of
    the median data gap from every point, ``coverage`` = fraction of points nearest to some sample
    (:class:`numerics.learned_field.SampleMetrics`); ``copy_fraction`` = the memorization ratio
    (fraction of samples whose nearest / second-nearest training distance is below 1/3,
    :func:`numerics.memorization.memorization_ratio`) with its 95% bootstrap interval ``copy_ci``
    (K, 2; seed ``SEED_COPIES``); ``samples`` (K, M, d) from ``starts`` (M, d).
    """

    steps: np.ndarray
    rho: np.ndarray
    off_fraction: np.ndarray
    nn_distance: np.ndarray
    distinct_fraction: np.ndarray
    coverage: np.ndarray
    excess: ExcessLoss
    median_gap: float
    starts: np.ndarray
    samples: np.ndarray
    train_seconds: float
    device: str
    copy_fraction: np.ndarray
    copy_ci: np.ndarray

    def crossing_step(self, level: float) -> float:
        """First training step at which the mean NN distance falls through ``level`` (log-linear between
        checkpoints; NaN if it never does)."""
        d = self.nn_distance
        below = np.flatnonzero(d < level)
        if below.size == 0:
            return float("nan")
        i = int(below[0])
        if i == 0:
            return float(self.steps[0])
        a, b = np.log(d[i - 1]), np.log(d[i])
        return float(self.steps[i - 1] + (self.steps[i] - self.steps[i - 1]) * (a - np.log(level)) / (a - b))

    def index(self, step: int) -> int:
        """Position of checkpoint ``step``."""
        hits = np.flatnonzero(self.steps == step)
        if hits.size == 0:
            raise ValueError(f"no checkpoint at step {step}; have {self.steps.tolist()}")
        return int(hits[0])


def checkpoint_trend(
    run: RunSpec,
    tier: Tier[TrendSizes] = DECAY,
    field: FieldOfRun = trained_checkpoints,
    variant: tuple[str, str] | None = None,
    **changes: object,
) -> CheckpointTrend:
    """Samples and excess loss at every checkpoint of the shared run (``variant``: one ``(field, value)``
    of :data:`VARIANTS`; ``changes``: other fields of the run)."""
    sz = run.sizes(tier)
    config = run_config(run, sz.train, **dict([variant] if variant else []), **changes)
    x0, samples = checkpoint_samples(run, config, sz.starts, sz.ode_steps, field)
    excess = checkpoint_excess(run, config, sz.excess_draws, field)
    data = config.points()
    metrics = [sample_metrics(x0, x1, data, config.basis_method) for x1 in samples]
    cols = {
        k: np.array([getattr(m, k) for m in metrics])
        for k in ("rho", "off_fraction", "nn_distance", "distinct_fraction", "coverage")
    }
    copies = [memorization_ratio(x1, data, seed=run.seed_for(SEED_COPIES)) for x1 in samples]
    res = trained_run(run, config)
    return CheckpointTrend(
        np.array(_steps(res)),
        **cols,
        excess=excess,
        median_gap=median_data_gap(data),
        starts=x0,
        samples=samples,
        train_seconds=res.seconds,
        device=res.device,
        copy_fraction=np.array([c.fraction for c in copies]),
        copy_ci=np.array([c.ci for c in copies]),
    )


# ---------------------------------------------------------------------------------------- bound
@dataclass(frozen=True)
class BoundSizes(Sizes):
    train: TrainSizes = SPEC_TRAIN
    starts: int = 500
    ode_steps: int = 2000
    excess_draws: int = 8192


BOUND = Tier(
    "gao-li/generation-error-bound",
    fast=BoundSizes(FAST_TRAIN, starts=100, ode_steps=500),
    spec=BoundSizes(),
    section=_section("gao-li/generation-error-bound"),
)


@dataclass(frozen=True)
class CheckpointBounds:
    """Per checkpoint (rows) and start (columns): ‖x(1) − x*(1)‖, the pathwise bound b(1) and the log10 of
    the global bound; the excess loss of every checkpoint."""

    steps: np.ndarray
    error: np.ndarray
    bound: np.ndarray
    log10_global: np.ndarray
    excess: ExcessLoss


def checkpoint_bounds(run: RunSpec, rate_shift: float = 0.0) -> CheckpointBounds:
    """Learned flow, exact flow and the Grönwall bound integrated jointly for every checkpoint (seed 28).

    ``rate_shift`` is added to the one-sided rate ℓ (a wrong rate: negative control).
    """
    sz = run.sizes(BOUND)
    cfg = run_config(run, sz.train)

    def compute() -> tuple[np.ndarray, ...]:
        res = trained_run(run, cfg)
        data = cfg.points()
        x0 = _starts(run.seed_for(SEED_BOUND), sz.starts, data.shape[1])
        run.progress(f"integrating learned, exact and bound for {len(res.checkpoints)} checkpoints")
        b = generation_error_bound(trained_checkpoints(res, cfg), x0, data, SIGMA_MIN, sz.ode_steps, rate_shift)
        return np.array(_steps(res)), b.error, b.bound, b.log10_global_bound

    params = dict(
        config=cfg, starts=sz.starts, ode_steps=sz.ode_steps, seed=run.seed_for(SEED_BOUND), rate_shift=rate_shift
    )
    steps, error, bound, log10_global = measured(run, "gao-li-osdnet-checkpoint-bounds", params, compute)
    return CheckpointBounds(steps, error, bound, log10_global, checkpoint_excess(run, cfg, sz.excess_draws))


# ---------------------------------------------------------------------------------------- figure-only
MODELS_BY_DIMENSION = (("osdnet", "learned"), ("osdnet", "isotropic"), ("mlp", "learned"))


@dataclass(frozen=True)
class DimensionPathSizes(Sizes):
    dims: tuple[int, ...] = (20, 200, 2000)
    starts: int = 256
    ode_steps: int = 500
    records: int = 50


DIMENSION_PATHS = Tier(
    "gao-li/fig-osdnet-vs-mlp-off-subspace",
    fast=DimensionPathSizes(starts=64, ode_steps=250),
    spec=DimensionPathSizes(),
    section="spec gao_li.md §4 (figure 3, OSDNet curves) and fact (e)",
)


@dataclass(frozen=True)
class OffSubspacePaths:
    """‖x⊥(t)‖ along generated paths (``norms[key]``: (records + 1, M)) per ``"<architecture>-<off head>-d<D>"``."""

    times: np.ndarray
    norms: dict[str, np.ndarray]


def off_subspace_paths_by_dimension(run: RunSpec) -> OffSubspacePaths:
    """OSDNet (MLP and isotropic off heads) and a plain MLP trained on the 5-point data embedded in each
    dimension (spec fact (e)), with the shared run's training sizes; off-subspace norms along RK4 paths
    from seeded starts (seed 31)."""
    sz = run.sizes(DIMENSION_PATHS)
    train = run.sizes(DECAY).train
    configs = {
        f"{arch}-{head}-d{d}": run_config(
            run, train, data=f"embedded-d{d}", architecture=arch, off_head=head, checkpoints=()
        )
        for d in sz.dims
        for arch, head in MODELS_BY_DIMENSION
    }

    def compute() -> OffSubspacePaths:
        run.progress(f"training {len(configs)} models")
        results = train_many(list(configs.values()), run.executor, run.cache)
        norms: dict[str, np.ndarray] = {}
        times = np.zeros(0)
        for (key, cfg), res in zip(configs.items(), results):
            x0 = _starts(run.seed_for(31), sz.starts, cfg.points().shape[1])
            times, norms[key] = off_subspace_norm_path(res.model, x0, cfg.subspace().basis, sz.ode_steps, sz.records)
        return OffSubspacePaths(times, norms)

    params = dict(configs=list(configs.values()), sizes=sz, seed=run.seed_for(31))
    return measured(run, "gao-li-osdnet-off-subspace-paths", params, compute)
