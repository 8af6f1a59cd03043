"""``mfm/coupling-cost-ordering``: per-batch pair costs of every coupling, and one batch paired by each (its figure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.couplings import (
    COUPLINGS,
    Coupling,
    batch_ot_coupling,
    entropic_plan,
    gale_shapley,
    pair_indices,
    pairing_cost,
    squared_distances,
)
from numerics.datasets import sample_eight_gaussians
from numerics.executor import sweep
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.mfm._common import (
    section,
)


# ---------------------------------------------------------------------------------------------
# mfm/coupling-cost-ordering
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CostOrderingSizes(Sizes):
    batches: int = 1000
    k: int = 64


COST_ORDERING = Tier.same("mfm/coupling-cost-ordering", CostOrderingSizes(), section("mfm/coupling-cost-ordering"))
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


def coupling_example(run: RunSpec, k: int = 64, batchot: Coupling = batch_ot_coupling) -> CouplingExample:
    """``k`` noise and data points (seed 46) paired by every coupling of :data:`numerics.couplings.COUPLINGS`
    (``batchot`` under the name BatchOT)."""
    seed = run.seed_list(46)
    rng = np.random.default_rng(seed)
    x0, x1 = rng.standard_normal((k, 2)), sample_eight_gaussians(k, rng)
    pairs, cost = {}, {}
    for name, coupling in {**COUPLINGS, "batchot": batchot}.items():
        idx = coupling(x0, x1, np.random.default_rng([*seed, 1]))
        pairs[name] = pair_indices(idx, k)
        cost[name] = pairing_cost(x0, x1, idx)
    return CouplingExample(x0, x1, pairs, cost)


@dataclass(frozen=True)
class CostOrdering(Measurement):
    """Per-batch mean pair cost of every coupling (``batches`` values each), and one example batch of ``k``
    paired by each coupling (the figure's)."""

    costs: dict[str, np.ndarray]
    example: CouplingExample


def cost_ordering(run: RunSpec, batchot: Coupling = batch_ot_coupling) -> CostOrdering:
    """Per-batch costs of every coupling on ``batches`` 8-Gaussians batches of ``k`` (seed 46, 5 streams), and
    :func:`coupling_example` at the same ``k``."""
    sz = run.sizes(COST_ORDERING)
    seed = run.seed_list(46)
    tasks = [
        dict(n_batches=sz.batches // ORDERING_CHUNKS, k=sz.k, seed=[*seed, n], batchot=batchot)
        for n in range(ORDERING_CHUNKS)
    ]

    def compute() -> CostOrdering:
        res = sweep(run.executor, coupling_costs, tasks)
        return CostOrdering(
            {n: np.concatenate([r[n] for r in res]) for n in res[0]},
            coupling_example(run, sz.k, batchot),
            seeds={"batches": run.seed_for(46)},
            sizes=sz,
            settings={"streams": ORDERING_CHUNKS, "eot_eps_rel": 0.05},
        )

    return measured(run, "mfm-coupling-cost-ordering", {"sizes": sz, "seed": seed, "batchot": batchot}, compute)
