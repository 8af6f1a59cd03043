r"""Multisample Flow Matching (Pooladian et al. 2023): the measurements the ``mfm/`` claims judge, one module per topic.

A topic module (``gradient_equivalence``, ``marginals``, ``monotone_cost``, ``variance_proxy``, ...)
has the same name as the module of its judges in :mod:`proofs_checks.mfm` and of its figures in
:mod:`figures.mfm`. Each measurement is a function of a :class:`~numerics.experiments.RunSpec`
(sizes from its :class:`~numerics.experiments.Tier`, seeds from the spec or ``--seed``) returning
a typed result; the quantity under test (a field, a closed form, a coupling, a solver) is a
keyword argument, so a negative control passes a wrong one. Shared pieces: ``_common`` (spec rows,
the Gaussian-family members and marginal field), :mod:`~numerics.experiments.mfm.trained_arms`
(seed ensembles of trained flows and their per-arm evaluations) and, here,
:class:`FlowTrainingConfig`, the frozen description of one trained flow (defined in the package
itself: its class path is part of every trained model's cache record).

Coupling block and training batch. A training minibatch of ``batch`` pairs is split into
``batch // k`` blocks of ``k`` points and the coupling is solved inside each block. With the spec
default ``batch = k = 256`` this is one coupling per minibatch; with ``k = 1`` every block pairs a
noise with a data point independently (the CondOT baseline at the same batch size), which is what
the limit ``k = 1`` of Theorem 4.2 means.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from numerics.couplings import (
    COUPLINGS,
    FAULTY_COUPLINGS,
    CoupledBatchSampler,
)
from numerics.datasets import FlowTarget
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
