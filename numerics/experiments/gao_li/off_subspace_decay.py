r"""The off-subspace part decays like sigma_t along the exact flow (claim ``gao-li/off-subspace-decay``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.datasets import dataset
from numerics.empirical_field import (
    optimal_velocity,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.gao_li._shared import (
    PLAIN_ATOL,
    PLAIN_RTOL,
    Field,
    PlainFlow,
    decay_error,
    flow_paths,
    path_key,
    plain_flow,
    spec_row,
    stop_times,
)
from theory import paths as thp


@dataclass(frozen=True)
class DecaySizes(Sizes):
    starts: int = 20
    times: tuple[float, ...] = (0.5, 0.9, 0.99)
    end_gap: float = 1e-6


OFF_SUBSPACE_DECAY = Tier.same(
    "gao-li/off-subspace-decay",
    DecaySizes(),
    spec_row("off-subspace-decay") + "; t_end = 1 - end_gap for sigma_min = 0 (§1.3), 1 for sigma_min > 0",
)
DECAY_KINDS = ("span", "affine")


@dataclass(frozen=True)
class OffSubspaceDecay(Measurement):
    """``error[s, k, j]``: path ``s`` of :func:`flow_paths`, subspace ``DECAY_KINDS[k]``, stop time ``j``; flows kept for the figure.

    ``span_law_zero``/``affine_law_zero``: the laws solve the off-subspace ODEs of every path run
    (SymPy substitution, :meth:`theory.paths.AffinePath.residuals`).
    """

    error: np.ndarray
    flows: tuple[PlainFlow, ...]
    x0: np.ndarray
    span_law_zero: bool
    affine_law_zero: bool
    labels: tuple[str, ...] = ()

    @property
    def worst(self) -> np.ndarray:
        """Worst error over stop times per (path, subspace), flattened in that order."""
        return self.error.max(axis=2).ravel()


def off_subspace_decay(run: RunSpec, field: Field = optimal_velocity) -> OffSubspaceDecay:
    r"""Fact (c) on ``sparse-d20``: ``field`` integrated by :func:`plain_flow` (20 starts, seed 18), per path.

    On the OT path the exact off-subspace solution :math:`\sigma_tx_\perp(0)` is affine in ``t``,
    which every Runge–Kutta step reproduces up to rounding; on another path it is
    :math:`(\sigma_t/\sigma_0)x_\perp(0)`, reproduced to the solver's tolerance. The comparison tests
    the field's off-subspace part (another coefficient makes the solution another power of
    :math:`\sigma_t`).
    """
    sz = run.sizes(OFF_SUBSPACE_DECAY)
    data = dataset("sparse-d20")
    x0 = run.rng(18).standard_normal((sz.starts, 20))
    paths = flow_paths(run)

    def compute() -> OffSubspaceDecay:
        flows, err = [], []
        for path in paths:
            stops = stop_times(sz.times, sz.end_gap, path)
            flow = plain_flow(x0, data, path, stops, field, grid=np.linspace(0.0, stops[-1], 200))
            flows.append(flow)
            err.append([decay_error(flow, x0, data, path, kind) for kind in DECAY_KINDS])
        residuals = [p.symbolic.residuals() for p in paths]
        return OffSubspaceDecay(
            np.array(err),
            tuple(flows),
            x0,
            all(thp.is_zero(r["decay"]) for r in residuals),
            all(thp.is_zero(r["affine_decay"]) for r in residuals),
            tuple(p.label for p in paths),
            seeds={"starts": run.seed_for(18)},
            sizes=sz,
            settings={"rtol": PLAIN_RTOL, "atol": PLAIN_ATOL, "paths": path_key(paths)},
        )

    params = {
        "sizes": sz,
        "seed": run.seed_for(18),
        "field": field,
        "rtol": PLAIN_RTOL,
        "atol": PLAIN_ATOL,
        "paths": path_key(paths),
    }
    return measured(run, "gao-li/off-subspace-decay", params, compute)
