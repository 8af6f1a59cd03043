r"""The continuity equation of the optimal field (claim ``gao-li/continuity-equation``)."""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from numerics.datasets import dataset
from numerics.empirical_field import (
    optimal_velocity,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.gao_li._shared import Field, flow_paths, mixture_density, path_key, spec_row
from numerics.paths import NumericPath
from theory import paths as thp


@dataclass(frozen=True)
class ContinuitySizes(Sizes):
    mp_points: int = 20
    mp_dps: int = 40
    fd_points: int = 50


CONTINUITY = Tier.same("gao-li/continuity-equation", ContinuitySizes(), spec_row("continuity-equation"))


@dataclass(frozen=True)
class Continuity(Measurement):
    """Relative residuals of the continuity equation, one entry per path of :func:`flow_paths`.

    ``symbolic_zero``: the residual simplifies to 0 for any path (:func:`theory.paths.generic_facts`);
    ``mp``: 40-digit residual of the path's SymPy expressions in 1-D; ``fd``: central differences of
    :math:`p_t v` with step :math:`10^{-4}\\sigma_t`; ``fd_fixed_step``: the spec's fixed step
    :math:`h=10^{-4}` (reported).
    """

    symbolic_zero: bool
    mp: np.ndarray
    fd: np.ndarray
    fd_fixed_step: np.ndarray


def _fd_residual(
    field: Field, data: np.ndarray, x: np.ndarray, t: np.ndarray, h: np.ndarray, path: NumericPath
) -> np.ndarray:
    dt_p = (mixture_density(x, t + h, data, path) - mixture_density(x, t - h, data, path)) / (2 * h)
    div, scale = np.zeros(x.shape[0]), np.abs(dt_p)
    for k in range(x.shape[1]):
        hk = np.zeros_like(x)
        hk[:, k] = h
        term = (
            mixture_density(x + hk, t, data, path) * field(x + hk, t, data, path)[:, k]
            - mixture_density(x - hk, t, data, path) * field(x - hk, t, data, path)[:, k]
        ) / (2 * h)
        div += term
        scale = scale + np.abs(term)
    return np.abs(dt_p + div) / scale


def continuity(run: RunSpec, field: Field = optimal_velocity) -> Continuity:
    """(i) SymPy/mpmath in 1-D (points -1, 1.5); (ii) central differences of ``field`` on ``tiny`` at x ~ p_t."""
    sz = run.sizes(CONTINUITY)
    paths = flow_paths(run)
    rng = run.rng(12)
    xs, ts = rng.uniform(-3, 3, sz.mp_points), rng.uniform(0.05, 0.95, sz.mp_points)
    mp = []
    with mpmath.workdps(sz.mp_dps):
        for path in paths:
            res_f, dtp_f, div_f = path.symbolic.continuity_mpmath()
            args = [(mpmath.mpf(float(a)), mpmath.mpf(float(b))) for a, b in zip(xs, ts)]
            mp.append(max(float(abs(res_f(*a)) / (abs(dtp_f(*a)) + abs(div_f(*a)))) for a in args))
    data = dataset("tiny")
    fd, fixed = [], []
    for path in paths:
        t = rng.uniform(0.05, 0.95, sz.fd_points)
        x1 = data[rng.integers(0, data.shape[0], sz.fd_points)]
        x = path.sample(rng.standard_normal((sz.fd_points, 2)), x1, t)
        # Central differences truncate at ~(h / sigma_t)^2: p_t varies on the length scale sigma_t.
        fd.append(float(_fd_residual(field, data, x, t, 1e-4 * path.sigma(t), path).max()))
        fixed.append(float(_fd_residual(field, data, x, t, np.full(sz.fd_points, 1e-4), path).max()))
    symbolic = thp.generic_facts()["continuity"] == 0
    return Continuity(
        symbolic,
        np.array(mp),
        np.array(fd),
        np.array(fixed),
        seeds={"points": run.seed_for(12)},
        sizes=sz,
        settings={"fd_step": "1e-4 sigma_t", "paths": path_key(paths)},
    )
