"""``mfm/batcheot-limits``: entropic plans between BatchOT (small eps) and the uniform plan (large eps)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numerics.couplings import (
    batch_ot_coupling,
    entropic_plan,
    squared_distances,
)
from numerics.datasets import sample_eight_gaussians
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    section,
)


# ---------------------------------------------------------------------------------------------
# mfm/batcheot-limits
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EntropicLimitsSizes(Sizes):
    k: int = 64
    batches: int = 20
    eps_rel: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 1e6)


EOT_LIMITS = Tier.same("mfm/batcheot-limits", EntropicLimitsSizes(), section("mfm/batcheot-limits"))
EntropicPlan = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def sinkhorn_plan(x0: np.ndarray, x1: np.ndarray, eps_rel: float) -> np.ndarray:
    """The suite's log-domain Sinkhorn plan (the solver under test)."""
    return entropic_plan(x0, x1, eps_rel)


@dataclass(frozen=True)
class EntropicLimits(Measurement):
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
    return EntropicLimits(
        grid,
        excess,
        bound,
        ot_cost,
        uniform_err,
        uniform_bound,
        float(marg_err),
        seeds={"batches": run.seed_for(47)},
        sizes=sz,
    )
