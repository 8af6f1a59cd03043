r"""The exact flow lands on training points (claim ``gao-li/memorization``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from numerics.datasets import dataset
from numerics.empirical_field import (
    integrate_flow,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.gao_li._shared import (
    APPROACH_MAX_STEP,
    MP_REFERENCE_CASE,
    approach,
    flow_paths,
    mixture_density,
    mp_reference,
    nearest,
    path_key,
    spec_row,
)
from numerics.paths import as_path


@dataclass(frozen=True)
class MemorizationSizes(Sizes):
    starts: int = 20
    deltas: tuple[float, ...] = (1e-5, 1e-6)


MEMORIZATION = Tier.same("gao-li/memorization", MemorizationSizes(), spec_row("memorization"))


APPROACH_ONE_MINUS_T = tuple(float(v) for v in np.logspace(-8, -0.3, 120))
"""Values of :math:`1-t` at which the approach to the training points is recorded (dense output)."""
LANDING_RTOL, LANDING_ATOL = 1e-10, 1e-12
"""Solver tolerances of the landing flows (the engine's defaults, :func:`~numerics.empirical_field.integrate_flow`)."""
MP_CASE_RTOL, MP_CASE_ATOL = 1e-11, 1e-13
"""Solver tolerances of the float64 ``tiny`` trajectory compared with mpmath."""


@dataclass(frozen=True)
class Memorization(Measurement):
    """Landing distances, the approach near t = 1, the mpmath cross-check and the plateau of a path with sigma_1 > 0.

    The landing fields belong to the first path of :func:`flow_paths` with :math:`\\sigma_1=0`
    (``landing_path``), the plateau to the first with :math:`\\sigma_1>0` (``plateau_path``);
    ``None`` where the run has no such path. ``approach_landing[k, m]`` / ``approach_plateau[k, m]``:
    distance of start ``m`` to the nearest :math:`\\alpha_1x^{(i)}` at :math:`1-t=` ``one_minus_t[k]``
    on each of those flows (the same starts); ``plateau_width``: :math:`\\sigma_1\\sqrt d` of the plateau path.
    """

    landing_distance: np.ndarray | None
    r: np.ndarray | None
    mp_gap: float | None
    mp_origin: str
    plateau_ratio: np.ndarray | None
    median_nfev: float
    landing_path: str | None = None
    plateau_path: str | None = None
    one_minus_t: np.ndarray = field(default_factory=lambda: np.array(APPROACH_ONE_MINUS_T))
    approach_landing: np.ndarray | None = None
    approach_plateau: np.ndarray | None = None
    plateau_width: float | None = None


def memorization(run: RunSpec, flow_path: str | None = None) -> Memorization:
    r"""The exact flow on ``sparse-d20`` from the path's source (20 starts, seed 15).

    ``r[k]`` is :math:`\min_i\|x(1-\delta_k)-\alpha_1x^{(i)}\|/\sigma_{1-\delta_k}` per start (after
    resolution :math:`x(t)=\alpha_tx^{(j)}+\sigma_tz` with a fixed :math:`z`; on the OT path
    :math:`\sigma_{1-\delta}=\delta`); ``plateau_ratio`` is
    :math:`\min_i\|x(1)-\alpha_1x^{(i)}\|/(\sigma_1\sqrt d)`. The ``tiny`` trajectory is compared with
    its mpmath reference (:func:`mp_reference`). The approach of every trajectory to the data is
    recorded on :data:`APPROACH_ONE_MINUS_T` (a dense solve from the same starts). ``flow_path``
    integrates the landing flow on another path (a wrong input).
    """
    sz = run.sizes(MEMORIZATION)
    data = dataset("sparse-d20")
    paths = flow_paths(run)
    land = next((p for p in paths if p.sigma1 == 0.0), None)
    plat = next((p for p in paths if p.sigma1 > 0.0), None)
    seed = run.seed_for(15)
    one_minus_t = np.array(APPROACH_ONE_MINUS_T)
    settings = {
        "landing_rtol": LANDING_RTOL,
        "landing_atol": LANDING_ATOL,
        "mp_case_rtol": MP_CASE_RTOL,
        "mp_case_atol": MP_CASE_ATOL,
        "approach_max_step": APPROACH_MAX_STEP,
        "approach_one_minus_t": "logspace(-8, -0.3, 120)",
        "paths": path_key(paths),
        "flow_path": flow_path,
    }

    def compute() -> Memorization:
        x0 = (land or plat).sample_source(np.random.default_rng(seed), sz.starts, data)
        out: dict[str, Any] = {"mp_origin": "-", "median_nfev": np.nan}
        if land is not None:
            flow = land if flow_path is None else as_path(flow_path)
            sol = integrate_flow(
                x0, data, flow, t_end=1.0, t_eval=[1 - d for d in sz.deltas], rtol=LANDING_RTOL, atol=LANDING_ATOL
            )
            target = data if land.alpha1 == 1.0 else land.alpha1 * data
            r = [nearest(sol.x_eval[k], target)[0] / float(land.sigma(1.0 - dl)) for k, dl in enumerate(sz.deltas)]
            ref, out["mp_origin"] = mp_reference(run, land)
            c = MP_REFERENCE_CASE
            x_f64 = integrate_flow(
                np.array(c["x0"]), dataset(c["dataset"]), flow, t_end=c["t_end"], rtol=MP_CASE_RTOL, atol=MP_CASE_ATOL
            )
            out |= {
                "landing_distance": nearest(sol.x_end, target)[0],
                "r": np.array(r),
                "mp_gap": float(np.max(np.abs(x_f64 - ref))),
                "median_nfev": float(np.median(sol.nfev)),
                "landing_path": land.label,
                "approach_landing": approach(x0, data, flow, target, one_minus_t),
            }
        if plat is not None:
            ends = integrate_flow(x0, data, plat, t_end=1.0, rtol=LANDING_RTOL, atol=LANDING_ATOL)
            target = data if plat.alpha1 == 1.0 else plat.alpha1 * data
            out |= {
                "plateau_ratio": nearest(ends, target)[0] / (plat.sigma1 * np.sqrt(20)),
                "plateau_path": plat.label,
                "approach_plateau": approach(x0, data, plat, target, one_minus_t),
                "plateau_width": float(plat.sigma1 * np.sqrt(20)),
            }
        return Memorization(
            out.get("landing_distance"),
            out.get("r"),
            out.get("mp_gap"),
            out["mp_origin"],
            out.get("plateau_ratio"),
            out["median_nfev"],
            out.get("landing_path"),
            out.get("plateau_path"),
            one_minus_t,
            out.get("approach_landing"),
            out.get("approach_plateau"),
            out.get("plateau_width"),
            seeds={"starts": seed},
            sizes=sz,
            settings=settings,
        )

    return measured(run, "gao-li/memorization", {"sizes": sz, "seed": seed, "full": run.full, **settings}, compute)


def chi_mean_per_sqrt_d(d: int) -> tuple[float, float]:
    r"""Mean and standard deviation of :math:`\|z\|/\sqrt d`, :math:`z\sim\mathcal N(0,I_d)` (chi law)."""
    mean = float(np.sqrt(2) * np.exp(special.gammaln((d + 1) / 2) - special.gammaln(d / 2)) / np.sqrt(d))
    return mean, float(np.sqrt(1 - mean**2))


FAN_DATASETS = ("toy2d-sparse", "toy2d-clustered")
FAN_STARTS = 64
FAN_TIMES = (0.25, 0.5, 0.75)
"""Times of the density contours drawn under the fans."""


@dataclass(frozen=True)
class TrajectoryFans(Measurement):
    """Exact-flow trajectories in 2-D (spec figure 1): ``x0`` (64 prior draws, seed 30), ``t_grid``; per data set
    ``paths[name]`` (times x starts x 2), ``landing[name]`` (index of the point each path ends on) and
    ``landing_distance[name]`` (largest distance of an end point to it); ``density[name]``: :math:`p_t` on the
    square ``grid`` at :data:`FAN_TIMES` (the figure's contours)."""

    path_label: str
    x0: np.ndarray
    t_grid: np.ndarray
    paths: dict[str, np.ndarray]
    landing: dict[str, np.ndarray]
    landing_distance: dict[str, float]
    points: dict[str, np.ndarray]
    grid: np.ndarray
    density: dict[str, np.ndarray]


def trajectory_fans(run: RunSpec, flow_path: str | None = None) -> TrajectoryFans:
    """64 exact-flow trajectories (seed 30) on each 2-D data set, on the run's first path with :math:`\\sigma_1=0`
    (by default the OT path with :math:`\\sigma_{\\min}=0`, the spec's figure); ``flow_path`` integrates them on
    another path (a wrong input), landings still measured against that path's :math:`\alpha_1x^{(i)}`."""
    land_path = next((p for p in flow_paths(run) if p.sigma1 == 0.0), None)
    if land_path is None:
        raise ValueError("trajectory fans need a path with sigma_1 = 0 (the flow lands on the points)")
    path = land_path if flow_path is None else as_path(flow_path)

    def compute() -> TrajectoryFans:
        x0 = run.rng(30).standard_normal((FAN_STARTS, 2))
        t_grid = np.linspace(0.0, 1.0, 201)
        xs = np.linspace(-4, 4, 161)
        gx, gy = np.meshgrid(xs, xs)
        pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
        paths, landing, dist, points, density = {}, {}, {}, {}, {}
        for name in FAN_DATASETS:
            data = dataset(name)
            sol = integrate_flow(x0, data, path, return_path=True, max_step=0.5)
            paths[name] = sol.states_at(t_grid)
            d, landing[name] = nearest(sol.x_end, land_path.alpha1 * data)
            dist[name] = float(d.max())
            points[name] = data
            density[name] = np.stack(
                [mixture_density(pts, np.full(pts.shape[0], t), data, path).reshape(gx.shape) for t in FAN_TIMES]
            )
        return TrajectoryFans(
            land_path.label if flow_path is None else f"{path.label} (for {land_path.label})",
            x0,
            t_grid,
            paths,
            landing,
            dist,
            points,
            xs,
            density,
            seeds={"starts": run.seed_for(30)},
            settings={"path": path.record(), "solver": "integrate_flow, rtol 1e-10, max_step 0.5"},
        )

    params = {"seed": run.seed_for(30), "starts": FAN_STARTS, "path": path.record(), "datasets": list(FAN_DATASETS)}
    params["flow_path"] = flow_path
    return measured(run, "gao-li/memorization-fans", params, compute)
