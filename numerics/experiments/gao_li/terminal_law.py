r"""Where the exact flow lands: uniform over the training points (claim ``gao-li/terminal-law``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.datasets import dataset
from numerics.empirical_field import integrate_flow
from numerics.executor import sweep
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.gao_li._shared import (
    flow_paths,
    nearest,
    path_key,
    spec_row,
    terminal_points,
    toward_first_point,
)
from numerics.paths import as_path


@dataclass(frozen=True)
class TerminalSizes(Sizes):
    """``starts``: flows on ``sparse-d20``; ``basin_starts`` and ``basin_grid`` (points per side): the 2-D basins."""

    starts: int = 2000
    basin_starts: int = 20_000
    basin_grid: int = 121


TERMINAL_LAW = Tier.same("gao-li/terminal-law", TerminalSizes(), spec_row("terminal-law"))


@dataclass(frozen=True)
class TerminalLaw(Measurement):
    """End points of the exact flow on ``sparse-d20``: on a path with :math:`\\sigma_1=0` (``end``; with
    point 0 doubled, ``end_duplicate``) and on one with :math:`\\sigma_1>0` (``end_sigma``, terminal width
    ``sigma_end``); ``None`` where the run has no such path. By default the OT paths with
    :math:`\\sigma_{\\min}=0` and :math:`0.01`.

    Landing point = nearest training point :math:`\\alpha_1x^{(i)}` (spec); counts are per point of ``sparse-d20``.
    """

    end: np.ndarray | None
    end_duplicate: np.ndarray | None
    end_sigma: np.ndarray | None
    sigma_end: float = 0.01
    alpha_end: float = 1.0
    alpha_sigma: float = 1.0

    def _landing(self, end: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        data = dataset("sparse-d20")
        return nearest(end, data if alpha == 1.0 else alpha * data)

    @property
    def landing_distance(self) -> np.ndarray:
        return self._landing(self.end, self.alpha_end)[0]

    @property
    def landing_distance_sigma(self) -> np.ndarray:
        """Distance of each end point of the ``end_sigma`` flow to the nearest :math:`\\alpha_1x^{(i)}`."""
        return self._landing(self.end_sigma, self.alpha_sigma)[0]

    @property
    def landing_distance_duplicate(self) -> np.ndarray:
        return self._landing(self.end_duplicate, self.alpha_end)[0]

    def counts(self, which: str = "end") -> np.ndarray:
        """Landing counts per point of the flow ``which`` (``end``, ``end_duplicate`` or ``end_sigma``)."""
        alpha = self.alpha_sigma if which == "end_sigma" else self.alpha_end
        return np.bincount(self._landing(getattr(self, which), alpha)[1], minlength=5)

    @property
    def residuals(self) -> np.ndarray:
        """:math:`(x(1)-\\alpha_1x^{(i)})/\\sigma_1` of the ``end_sigma`` flow, pooled over coordinates."""
        idx = self._landing(self.end_sigma, self.alpha_sigma)[1]
        return ((self.end_sigma - self.alpha_sigma * dataset("sparse-d20")[idx]) / self.sigma_end).ravel()


def terminal_law(run: RunSpec, prior_shift: float = 0.0, flow_path: str | None = None) -> TerminalLaw:
    """Landing points of the exact flow from the path's source (seed 16), per path of :func:`flow_paths`;
    the flow of the path with :math:`\\sigma_1>0` is integrated on ``flow_path`` when given (a wrong
    input) and judged against the law of its own path."""
    n = run.sizes(TERMINAL_LAW).starts
    paths = flow_paths(run)
    land = next((p for p in paths if p.sigma1 == 0.0), None)
    plat = next((p for p in paths if p.sigma1 > 0.0), None)
    common = {"seed": run.seed_for(16), "n_starts": n, "prior_shift": prior_shift}

    def compute() -> TerminalLaw:
        tasks = []
        if land is not None:
            tasks += [{**common, "duplicate": False, "path": land}, {**common, "duplicate": True, "path": land}]
        if plat is not None:
            tasks.append({**common, "duplicate": False, "path": plat if flow_path is None else as_path(flow_path)})
        ends = sweep(run.executor, terminal_points, tasks)
        ends = (ends[:2] if land is not None else [None, None]) + ([ends[-1]] if plat is not None else [None])
        return TerminalLaw(
            *ends,
            sigma_end=plat.sigma1 if plat is not None else np.nan,
            alpha_end=land.alpha1 if land is not None else np.nan,
            alpha_sigma=plat.alpha1 if plat is not None else np.nan,
            seeds={"starts": run.seed_for(16)},
            sizes=run.sizes(TERMINAL_LAW),
            settings={"paths": path_key(paths), "flow_path": flow_path, "prior_shift": prior_shift},
        )

    params = {**common, "paths": path_key(paths), "flow_path": flow_path}
    return measured(run, "gao-li/terminal-law", params, compute)


BASIN_DATASETS = ("toy2d-sparse", "toy2d-clustered")
BASIN_EXTENT = 3.5
"""The basin grid covers :math:`[-3.5, 3.5]^2` of the prior plane."""


@dataclass(frozen=True)
class Basins(Measurement):
    """Basins of the exact flow on the 2-D data sets (:data:`BASIN_DATASETS`), on the run's first path.

    ``grid``: the coordinates of the square grid of starts (each axis); per data set, ``grid_landing``
    (index of the point each grid start lands on, ``basin_grid x basin_grid``), ``counts`` (landings of
    ``basin_starts`` draws of the path's source, seed 31, per point) and ``landing_distance`` (largest
    distance of an end point, grid and draws, to its nearest :math:`\alpha_1x^{(i)}`).
    """

    path_label: str
    grid: np.ndarray
    grid_landing: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    landing_distance: dict[str, float]
    points: dict[str, np.ndarray]

    def mass(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Monte Carlo basin masses of one data set and their standard errors."""
        n = self.counts[name].sum()
        p = self.counts[name] / n
        return p, np.sqrt(p * (1 - p) / n)


def basins(run: RunSpec, prior_shift: float = 0.0) -> Basins:
    r"""Where the exact flow of the run's first path with :math:`\sigma_1=0` carries the prior plane and
    ``basin_starts`` source draws (seed 31), for each 2-D data set: the terminal law seen as basins of attraction.
    ``prior_shift`` moves every draw by that length toward point 0 (a wrong prior; the grid is not moved)."""
    sz = run.sizes(TERMINAL_LAW)
    path = next((p for p in flow_paths(run) if p.sigma1 == 0.0), None)
    if path is None:
        raise ValueError("basins need a path with sigma_1 = 0 (the flow lands on the points)")

    def compute() -> Basins:
        xs = np.linspace(-BASIN_EXTENT, BASIN_EXTENT, sz.basin_grid)
        gx, gy = np.meshgrid(xs, xs)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        landing, counts, dist, points = {}, {}, {}, {}
        for name in BASIN_DATASETS:
            data = dataset(name)
            draws = toward_first_point(path.sample_source(run.rng(31), sz.basin_starts, data), data, prior_shift)
            d_grid, i_grid = nearest(integrate_flow(grid, data, path), path.alpha1 * data)
            d_mc, i_mc = nearest(integrate_flow(draws, data, path), path.alpha1 * data)
            landing[name] = i_grid.reshape(gx.shape)
            counts[name] = np.bincount(i_mc, minlength=data.shape[0])
            dist[name] = float(max(d_grid.max(), d_mc.max()))
            points[name] = data
        return Basins(
            path.label,
            xs,
            landing,
            counts,
            dist,
            points,
            seeds={"starts": run.seed_for(31)},
            sizes=sz,
            settings={"path": path.record(), "solver": "integrate_flow, rtol 1e-10"},
        )

    params = {"seed": run.seed_for(31), "sizes": sz, "path": path.record(), "datasets": list(BASIN_DATASETS)}
    params["prior_shift"] = prior_shift
    return measured(run, "gao-li/terminal-law-basins", params, compute)
