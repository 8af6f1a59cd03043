"""The OSDNet training run shared by the learned-model topics of `gao-li` (spec ``gao_li.md`` §2): its configuration, sizes, seeds, the fields a run is evaluated with and the excess loss per checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from torch import nn

from numerics.datasets import dataset, embedded_dataset
from numerics.experiments import RunSpec, Sizes, measured
from numerics.learned_field import (
    ExactField,
    ExcessLoss,
    excess_loss,
)
from numerics.nets import OFF_HEADS, OSDNet, VelocityMLP, seeded_init_, stack_checkpoints
from numerics.subspace import DataSubspace, proper_subspace
from numerics.training import (
    Hyper,
    LossFn,
    TrainResult,
    conditional_objective,
    default_device,
    teacher_objective,
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


def spec_section(claim: str) -> str:
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


def checkpoint_steps(result: TrainResult) -> list[int]:
    return sorted(result.checkpoints)


def trained_checkpoints(result: TrainResult, config: LearnedFieldConfig) -> nn.Module:
    """Every checkpoint of the run as trained, stacked (float64, training device)."""
    return stack_checkpoints(result.model, [result.checkpoints[s] for s in checkpoint_steps(result)], default_device())


def off_head_frozen_at_init(result: TrainResult, config: LearnedFieldConfig) -> nn.Module:
    """Fault: every checkpoint evaluated with the off-subspace head ``g`` of step 0 (an off head never trained)."""
    init = result.checkpoints[0]
    states = [
        {k: (init[k] if k.startswith("g.") else v) for k, v in result.checkpoints[s].items()}
        for s in checkpoint_steps(result)
    ]
    return stack_checkpoints(result.model, states, default_device())


def exact_field_at_every_checkpoint(result: TrainResult, config: LearnedFieldConfig) -> nn.Module:
    """Fault: the closed-form field in place of every checkpoint (its samples are training points + σmin noise)."""
    return ExactField(config.points(), config.sigma_min, stack_size=len(result.checkpoints)).to(default_device())


def seeded_starts(seed: int | list[int], n: int, d: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d))


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
