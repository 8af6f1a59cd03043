"""Measurement of ``digits/trained-memorization-falls-with-n``: seed ensembles of velocity MLPs trained by conditional flow matching on N digits."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from numerics.digits import digits
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.digits._shared import (
    SECTION,
    SEED_SAMPLES,
    SEED_TRAIN,
    STREAM_DATA,
    STREAM_INIT,
    STREAM_NOISE,
    STREAM_TIME,
    copy_ratio,
    training_subset,
)
from numerics.memorization import COPY_RATIO
from numerics.meters import off_span_fraction, sample_model
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
class TrainedMemorization(Measurement):
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
            ratio[a, s] = copy_ratio(x[a, s], y, threshold, run).fraction
            off[a, s] = off_span_fraction(x[a, s], y, kind="affine").fraction
    seeds = {"training": [run.seed_list(s) for s in range(sz.seeds)], "samples": run.seed_for(SEED_SAMPLES)}
    return TrainedMemorization(
        tuple(sz.ns), ratio, off, threshold, seeds=seeds, sizes=sz, settings={"copy_ratio": threshold}
    )
