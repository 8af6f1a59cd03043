r"""Learned velocity fields of Gao & Li (OSDNet and plain MLPs): the training runs and their measurements.

One training run of OSDNet (spec ``gao_li.md`` §2: ``sparse-d20``, learned off-subspace head,
conditional flow matching, :math:`\sigma_{\min}=0.01`) is described by a frozen
:class:`LearnedFieldConfig`; :func:`numerics.training.trained` trains it once per process (and
once per disk cache). :func:`evaluate_checkpoints` measures generated samples and the excess
loss at every checkpoint.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from torch import nn

from numerics.datasets import dataset, embedded_dataset
from numerics.learned_field import excess_loss, generate, median_data_gap, sample_metrics
from numerics.nets import OFF_HEADS, OSDNet, VelocityMLP, seeded_init_
from numerics.subspace import DataSubspace, proper_subspace
from numerics.training import (
    Hyper,
    LossFn,
    TrainResult,
    conditional_objective,
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


SPEC_CHECKPOINTS = (0, 250, 500, 1000, 2000, 3000, 5000)
FAST_CHECKPOINTS = (0, 250, 500, 1000, 1500, 2000)


def tier_run(full: bool, seed: int | list[int] | tuple[int, ...] = 0, **changes: object) -> LearnedFieldConfig:
    """The shared OSDNet run of a tier (``sparse-d20``, learned off head, conditional target).

    Full tier: the spec sizes (width 256, 5000 steps, checkpoints ``{0,250,...,5000}``). Fast
    tier: width 64 and 2000 steps, keeping the spec checkpoints up to 2000 (plus 1500), so the
    criteria that name a step (250, 1000) read the same step in both tiers.
    """
    params: dict = (
        dict(width=256, steps=5000, checkpoints=SPEC_CHECKPOINTS)
        if full
        else dict(width=64, steps=2000, checkpoints=FAST_CHECKPOINTS)
    )
    params["seed"] = tuple(seed) if isinstance(seed, list) else seed
    params.update(changes)
    return LearnedFieldConfig(**params)


@dataclass
class CheckpointEvaluation:
    """Per-checkpoint measurements of one training run (arrays indexed like ``steps``)."""

    steps: np.ndarray
    rho: np.ndarray
    off_fraction: np.ndarray
    nn_distance: np.ndarray
    distinct_fraction: np.ndarray
    coverage: np.ndarray
    excess: np.ndarray
    excess_inside: np.ndarray
    excess_off: np.ndarray
    excess_se: np.ndarray
    median_gap: float
    samples: dict[int, np.ndarray]
    starts: np.ndarray


def evaluate_checkpoints(
    result: TrainResult,
    config: LearnedFieldConfig,
    n_starts: int,
    ode_steps: int,
    seed: int | list[int],
    excess_n: int = 8192,
    excess_seed: int | list[int] = 0,
) -> CheckpointEvaluation:
    """Generate ``n_starts`` samples (RK4, ``ode_steps``) and the excess loss at every checkpoint.

    The same starts (seeded) and the same Monte Carlo draws are used at every checkpoint.
    """
    data = config.points()
    x0 = np.random.default_rng(seed).standard_normal((n_starts, data.shape[1]))
    steps = np.array(sorted(result.checkpoints))
    rows, samples = [], {}
    for s in steps:
        model = result.model_at(int(s))
        x1 = generate(model, x0, ode_steps)
        samples[int(s)] = x1
        m = sample_metrics(x0, x1, data, config.basis_method)
        ex = excess_loss(model, data, config.sigma_min, excess_n, excess_seed, method=config.basis_method)
        rows.append(
            (m.rho, m.off_fraction, m.nn_distance, m.distinct_fraction, m.coverage, ex.total, ex.inside, ex.off, ex.se)
        )
    cols = np.array(rows, dtype=np.float64).T
    return CheckpointEvaluation(steps, *cols, median_gap=median_data_gap(data), samples=samples, starts=x0)


@functools.lru_cache(maxsize=8)
def evaluated_run(
    config: LearnedFieldConfig, n_starts: int, ode_steps: int, seed: int | tuple[int, ...], excess_n: int = 8192
) -> CheckpointEvaluation:
    """:func:`evaluate_checkpoints` of the in-process trained run of ``config`` (computed once)."""
    s = list(seed) if isinstance(seed, tuple) else seed
    return evaluate_checkpoints(trained(config), config, n_starts, ode_steps, s, excess_n)
