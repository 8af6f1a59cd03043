r"""Multisample Flow Matching: the trained flows and the minibatch-cost sweeps the claims measure.

Learned flows differ only in the coupling that pairs noise with data inside each minibatch
(spec ``mfm.md`` §1.6, §3); a run is a frozen :class:`FlowTrainingConfig` trained once per
process (and once per disk cache) by :func:`numerics.training.trained`.

Coupling block and training batch. A training minibatch of ``batch`` pairs is split into
``batch // k`` blocks of ``k`` points and the coupling is solved inside each block. With the spec
default ``batch = k = 256`` this is one coupling per minibatch; with ``k = 1`` every block pairs a
noise with a data point independently (the CondOT baseline at the same batch size), which is what
the limit ``k = 1`` of Theorem 4.2 means.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from torch import nn

from numerics.couplings import COUPLINGS, CoupledBatchSampler, batch_ot_coupling, squared_distances
from numerics.datasets import FlowTarget, minibatch_cost_target
from numerics.nets import VelocityMLP
from numerics.training import Hyper, LossFn, coupled_objective

# Separate seeded streams of one training run (spec: data, noise and initialisation each from
# their own generator); the loop's own generator draws the times t.
STREAM_DATA, STREAM_NOISE, STREAM_COUPLING, STREAM_INIT, STREAM_TIME = 1, 2, 3, 4, 5


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
    seed: int = 0
    eot_eps_rel: float = 0.05
    eot_sampling: str = "row"
    n_checkpoints: int = 20

    def __post_init__(self) -> None:
        FlowTarget(self.target, self.dim)  # validates target and dim
        if self.coupling not in COUPLINGS:
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

    def stream(self, which: int) -> list[int]:
        """Seed of one of the run's independent random streams."""
        return [int(self.seed), int(which)]

    def sampler(self, seed: int | list[int] | None = None) -> CoupledBatchSampler:
        """Paired minibatches of this run's coupling (its own seeded streams, or ``seed``'s)."""
        return CoupledBatchSampler(
            self.flow_target,
            self.batch,
            self.coupling,
            self.k,
            self.seed if seed is None else seed,
            self.coupling_kwargs(),
        )

    def build_model(self) -> nn.Module:
        """A :class:`~numerics.nets.VelocityMLP` initialised from the run's own seeded stream."""
        return VelocityMLP(self.dim, width=self.width, depth=self.depth, init_seed=self.stream(STREAM_INIT))

    def objective(self) -> LossFn:
        """The joint CFM objective on this run's coupled minibatches."""
        return coupled_objective(self.sampler(), self.sigma_min)

    def hyper(self) -> Hyper:
        return Hyper(
            steps=self.steps,
            lr=self.lr,
            optimizer="adam",
            seed=tuple(self.stream(STREAM_TIME)),
            checkpoints=tuple(self.checkpoint_steps()),
        )


def minibatch_ot_costs(d: int, k: int, n_batches: int, seed: list[int], matcher: str = "ot") -> np.ndarray:
    """Per-batch optimal matching cost (1/k) min_sigma sum ||x0_i - x1_sigma(i)||^2 (module level, picklable).

    ``matcher``: ``"ot"`` (sorting in 1-D, exact assignment otherwise), ``"identity"``
    (independent pairs), ``"anti"`` (the cost-maximising permutation; negative controls).
    """
    rng = np.random.default_rng([*seed, d, k])
    mu, var = minibatch_cost_target(d)
    out = np.empty(n_batches)
    for b in range(n_batches):
        x0 = rng.standard_normal((k, d))
        x1 = mu + np.sqrt(var) * rng.standard_normal((k, d))
        if matcher == "identity":
            out[b] = ((x0 - x1) ** 2).sum(1).mean()
        elif matcher == "anti" and d == 1:  # the cost-maximising matching in 1-D is anti-sorted
            out[b] = ((np.sort(x0[:, 0]) - np.sort(x1[:, 0])[::-1]) ** 2).mean()
        elif matcher == "anti":
            c = squared_distances(x0, x1)
            r, col = linear_sum_assignment(-c)
            out[b] = c[r, col].mean()
        elif d == 1:
            out[b] = ((np.sort(x0[:, 0]) - np.sort(x1[:, 0])) ** 2).mean()
        else:
            c = squared_distances(x0, x1)
            out[b] = c[np.arange(k), batch_ot_coupling(x0, x1)].mean()
    return out
