r"""The in-subspace flow does not depend on the ambient dimension (claim ``gao-li/dimension-independence``)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import numpy as np

from numerics.datasets import embedded_dataset
from numerics.empirical_field import (
    integrate_flow,
    optimal_velocity,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.gao_li._shared import (
    PLAIN_ATOL,
    PLAIN_RTOL,
    Field,
    decay_error,
    flow_paths,
    nearest,
    plain_flow,
    spec_row,
    stop_times,
)
from numerics.paths import NumericPath


@dataclass(frozen=True)
class DimensionSizes(Sizes):
    starts: int = 8
    dims: tuple[int, ...] = (20, 200, 2000)
    times: tuple[float, ...] = (0.5, 0.9, 0.99)
    end_gap: float = 1e-6


DIMENSION_INDEPENDENCE = Tier.same(
    "gao-li/dimension-independence",
    DimensionSizes(),
    spec_row("dimension-independence") + "; decay as in off-subspace-decay",
)


GRID_POINTS = 300
"""Points of the t grid on which the in-subspace coordinates are also recorded (dense output, for plotting)."""
GRID_MAX_STEP = 0.5
"""Largest step (in the engine's log-time) of the dense solve."""


@dataclass(frozen=True)
class DimensionIndependence(Measurement):
    """Per ambient dimension: in-subspace coordinates (times + t = 1, and on a dense grid), decay error (plain
    solve), landing distance."""

    dims: tuple[int, ...]
    coords: tuple[np.ndarray, ...]
    decay_error: np.ndarray
    landing_distance: np.ndarray
    label: str = "ot(sigma_min=0)"
    grid: np.ndarray = dataclass_field(default_factory=lambda: np.zeros(0))
    grid_coords: tuple[np.ndarray, ...] = ()
    """In-subspace coordinates on ``grid`` per dimension, ``(len(grid), starts, 5)``, from a dense solve."""

    def coordinate_gap(self, k: int) -> float:
        """:math:`\\max|U_d^\\top x(t)-U_{20}^\\top x(t)|` for dimension ``dims[k]``."""
        return float(np.abs(self.coords[k] - self.coords[0]).max())


def dimension_independence(
    run: RunSpec, coord_perturbation: float = 0.0, field: Field = optimal_velocity
) -> DimensionIndependence:
    r"""Fact (e): the same 5-D coordinates (seed 23) embedded by :math:`U_d` (seed 24) in each ``d``.

    Same in-subspace start :math:`c_0` and random :math:`x_\perp(0)` (seed 25). In-subspace
    coordinates and landing from the engine (tau, rtol 1e-11); the decay law from ``field``
    integrated by :func:`plain_flow`. ``coord_perturbation`` shifts the coordinates used for the
    largest ``d`` (a wrong input). Path: the first of :func:`flow_paths` (:math:`\sigma_{\min}=0` by
    default); the landing distances are those to :math:`\alpha_1x^{(i)}` (NaN on a path with :math:`\sigma_1>0`).
    """
    sz = run.sizes(DIMENSION_INDEPENDENCE)
    path = flow_paths(run)[0]
    settings = {
        "rtol": 1e-11,
        "atol": 1e-13,
        "plain_rtol": PLAIN_RTOL,
        "plain_atol": PLAIN_ATOL,
        "grid_points": GRID_POINTS,
        "grid_max_step": GRID_MAX_STEP,
        "path": path.record(),
    }
    params = {"sizes": sz, "seed": run.seed_for(25), "coord_perturbation": coord_perturbation, "field": field}
    return measured(
        run,
        "gao-li/dimension-independence",
        {**params, **settings},
        lambda: _measure(run, sz, path, coord_perturbation, field, settings),
    )


def _measure(
    run: RunSpec,
    sz: DimensionSizes,
    path: NumericPath,
    coord_perturbation: float,
    field: Field,
    settings: dict[str, Any],
) -> DimensionIndependence:
    rng = run.rng(25)
    grid = np.linspace(0.0, 1.0, GRID_POINTS)
    dense: list[np.ndarray] = []
    c0 = rng.standard_normal((sz.starts, 5))
    coords, decay, landing = [], [], []
    for k, d in enumerate(sz.dims):
        data, cd, basis = embedded_dataset(d)
        if coord_perturbation and k == len(sz.dims) - 1:
            data = (cd + coord_perturbation) @ basis.T
        g = rng.standard_normal((sz.starts, d))
        x_perp0 = g - g @ basis @ basis.T
        x0 = c0 @ basis.T + x_perp0
        sol = integrate_flow(x0, data, path, t_end=1.0, t_eval=np.array(sz.times), rtol=1e-11, atol=1e-13)
        coords.append(np.concatenate([sol.x_eval, sol.x_end[None]], axis=0) @ basis)
        dense.append(integrate_flow(x0, data, path, return_path=True, max_step=GRID_MAX_STEP).states_at(grid) @ basis)
        target = data if path.alpha1 == 1.0 else path.alpha1 * data
        landing.append(float(nearest(sol.x_end, target)[0].max()) if path.sigma1 == 0.0 else np.nan)
        stops = stop_times(sz.times, sz.end_gap, path)
        decay.append(float(decay_error(plain_flow(x0, data, path, stops, field), x0, data, path, "span").max()))
    return DimensionIndependence(
        sz.dims,
        tuple(coords),
        np.array(decay),
        np.array(landing),
        path.label,
        grid,
        tuple(dense),
        seeds={"coordinates": run.seed_for(23), "embedding": run.seed_for(24), "starts": run.seed_for(25)},
        sizes=sz,
        settings=settings,
    )
