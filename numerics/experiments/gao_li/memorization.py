r"""The exact flow lands on training points (claim ``gao-li/memorization``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from numerics.datasets import dataset
from numerics.empirical_field import (
    integrate_flow,
)
from numerics.experiments import RunSpec, Sizes, Tier
from numerics.experiments.gao_li._shared import MP_REFERENCE_CASE, flow_paths, mp_reference, nearest, spec_row
from numerics.paths import as_path


@dataclass(frozen=True)
class MemorizationSizes(Sizes):
    starts: int = 20
    deltas: tuple[float, ...] = (1e-5, 1e-6)


MEMORIZATION = Tier.same("gao-li/memorization", MemorizationSizes(), spec_row("memorization"))


@dataclass(frozen=True)
class Memorization:
    """Landing distances, the approach near t = 1, the mpmath cross-check and the plateau of a path with sigma_1 > 0.

    The landing fields belong to the first path of :func:`flow_paths` with :math:`\\sigma_1=0`
    (``landing_path``), the plateau to the first with :math:`\\sigma_1>0` (``plateau_path``);
    ``None`` where the run has no such path.
    """

    landing_distance: np.ndarray | None
    r: np.ndarray | None
    mp_gap: float | None
    mp_origin: str
    plateau_ratio: np.ndarray | None
    median_nfev: float
    landing_path: str | None = None
    plateau_path: str | None = None


def memorization(run: RunSpec, flow_path: str | None = None) -> Memorization:
    r"""The exact flow on ``sparse-d20`` from the path's source (20 starts, seed 15).

    ``r[k]`` is :math:`\min_i\|x(1-\delta_k)-\alpha_1x^{(i)}\|/\sigma_{1-\delta_k}` per start (after
    resolution :math:`x(t)=\alpha_tx^{(j)}+\sigma_tz` with a fixed :math:`z`; on the OT path
    :math:`\sigma_{1-\delta}=\delta`); ``plateau_ratio`` is
    :math:`\min_i\|x(1)-\alpha_1x^{(i)}\|/(\sigma_1\sqrt d)`. The ``tiny`` trajectory is compared with
    its mpmath reference (:func:`mp_reference`). ``flow_path`` integrates the landing flow on another
    path (a wrong input).
    """
    sz = run.sizes(MEMORIZATION)
    data = dataset("sparse-d20")
    paths = flow_paths(run)
    land = next((p for p in paths if p.sigma1 == 0.0), None)
    plat = next((p for p in paths if p.sigma1 > 0.0), None)
    x0 = (land or plat).sample_source(run.rng(15), sz.starts, data)
    out: dict[str, Any] = {"mp_origin": "-", "median_nfev": np.nan}
    if land is not None:
        flow = land if flow_path is None else as_path(flow_path)
        sol = integrate_flow(x0, data, flow, t_end=1.0, t_eval=[1 - d for d in sz.deltas])
        target = data if land.alpha1 == 1.0 else land.alpha1 * data
        r = [nearest(sol.x_eval[k], target)[0] / float(land.sigma(1.0 - dl)) for k, dl in enumerate(sz.deltas)]
        ref, out["mp_origin"] = mp_reference(run, land)
        c = MP_REFERENCE_CASE
        x_f64 = integrate_flow(np.array(c["x0"]), dataset(c["dataset"]), flow, t_end=c["t_end"], rtol=1e-11, atol=1e-13)
        out |= {
            "landing_distance": nearest(sol.x_end, target)[0],
            "r": np.array(r),
            "mp_gap": float(np.max(np.abs(x_f64 - ref))),
            "median_nfev": float(np.median(sol.nfev)),
            "landing_path": land.label,
        }
    if plat is not None:
        ends = integrate_flow(x0, data, plat, t_end=1.0)
        target = data if plat.alpha1 == 1.0 else plat.alpha1 * data
        out |= {
            "plateau_ratio": nearest(ends, target)[0] / (plat.sigma1 * np.sqrt(20)),
            "plateau_path": plat.label,
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
    )


def chi_mean_per_sqrt_d(d: int) -> tuple[float, float]:
    r"""Mean and standard deviation of :math:`\|z\|/\sqrt d`, :math:`z\sim\mathcal N(0,I_d)` (chi law)."""
    mean = float(np.sqrt(2) * np.exp(special.gammaln((d + 1) / 2) - special.gammaln(d / 2)) / np.sqrt(d))
    return mean, float(np.sqrt(1 - mean**2))
