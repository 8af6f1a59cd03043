r"""Clusters are resolved before points (claim ``gao-li/hierarchical-refinement``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.datasets import cluster_labels, dataset
from numerics.empirical_field import (
    integrate_flow,
    posterior_weights,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.gao_li._shared import nearest, spec_row
from theory import flow_matching as th


@dataclass(frozen=True)
class HierarchySizes(Sizes):
    starts: int = 200
    step: float = 1e-3


HIERARCHICAL = Tier.same("gao-li/hierarchical-refinement", HierarchySizes(), spec_row("hierarchical-refinement"))


@dataclass(frozen=True)
class ResolutionPaths(Measurement):
    """Weights along exact trajectories of one data set (``sigma_min = 0``) on a t grid.

    ``w_point[k, m]``: weight of the landing point; ``w_cluster``: mass of its cluster;
    ``w_max``: the largest weight; ``t_point``/``t_cluster``: first grid t where the point /
    cluster weight reaches 0.99 (last grid t if never).
    """

    dataset: str
    grid: np.ndarray
    w_point: np.ndarray
    w_cluster: np.ndarray
    w_max: np.ndarray
    t_point: np.ndarray
    t_cluster: np.ndarray


def _first_crossing(values: np.ndarray, grid: np.ndarray, level: float) -> np.ndarray:
    hit = values >= level
    return grid[np.where(hit.any(axis=0), hit.argmax(axis=0), grid.size - 1)]


def resolution_paths(run: RunSpec, name: str) -> ResolutionPaths:
    """Exact flow of ``name`` from ``starts`` prior draws (seed 22), dense output on the t grid (step ``step``)."""
    sz = run.sizes(HIERARCHICAL)

    def compute() -> ResolutionPaths:
        data, labels = dataset(name), cluster_labels(name)
        x0 = run.rng(22).standard_normal((sz.starts, 20))
        grid = np.round(np.arange(0.0, 0.999 + 1e-12, sz.step), 3)
        # Steps capped at 0.5 in tau: the grid states come from dense output between steps.
        sol = integrate_flow(x0, data, 0.0, t_end=1.0, return_path=True, max_step=0.5)
        land = nearest(sol.x_end, data)[1]
        states = sol.states_at(grid)
        k, m, d = states.shape
        w = posterior_weights(states.reshape(k * m, d), np.repeat(grid, m), data).reshape(k, m, -1)
        w_point = w[:, np.arange(m), land]
        w_cluster = np.einsum("kmn,mn->km", w, (labels[None, :] == labels[land][:, None]).astype(float))
        return ResolutionPaths(
            name,
            grid,
            w_point,
            w_cluster,
            w.max(axis=2),
            _first_crossing(w_point, grid, 0.99),
            _first_crossing(w_cluster, grid, 0.99),
            seeds={"starts": run.seed_for(22)},
            sizes=sz,
            settings={"max_step": 0.5},
        )

    return measured(run, "gao-li/resolution-paths", {"sizes": sz, "seed": run.seed_for(22), "dataset": name}, compute)


def gap_resolution_times(name: str) -> tuple[float, float]:
    """:math:`t_{0.99}` (sigma_min 0) of the median inter- and intra-cluster nearest-neighbour gaps (NaN if none)."""
    data, labels = dataset(name), cluster_labels(name)
    dist = np.linalg.norm(data[:, None] - data[None], axis=-1)
    np.fill_diagonal(dist, np.inf)
    same = labels[:, None] == labels[None, :]
    t_fn = th.pair_resolution_time_fn()
    intra = np.where(same, dist, np.inf).min(axis=1)
    inter = float(np.median(np.where(~same, dist, np.inf).min(axis=1)))
    t_intra = float(t_fn(float(np.median(intra)), 0.0)) if np.all(np.isfinite(intra)) else np.nan
    return float(t_fn(inter, 0.0)), t_intra
