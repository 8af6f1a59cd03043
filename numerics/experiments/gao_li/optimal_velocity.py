r"""The closed-form optimal field against a Bayes posterior in mpmath (claim ``gao-li/optimal-velocity``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

from numerics.datasets import dataset
from numerics.empirical_field import (
    optimal_velocity,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.gao_li._shared import Field, flow_paths, path_key, spec_row
from numerics.paths import CondOTPath, NumericPath


@dataclass(frozen=True)
class OptimalVelocitySizes(Sizes):
    points: int = 200
    dps: int = 50


OPTIMAL_VELOCITY = Tier.same("gao-li/optimal-velocity", OptimalVelocitySizes(), spec_row("optimal-velocity"))


def mp_coefficients(path: NumericPath, t: mpmath.mpf) -> tuple[Any, Any, Any, Any]:
    r""":math:`(\alpha_t,\sigma_t,\dot\alpha_t,\dot\sigma_t)` in mpmath at the working precision.

    The OT path's in closed form with :math:`\sigma_{\min}` the float the engine uses; another
    path's lambdified from SymPy.
    """
    if isinstance(path, CondOTPath):
        sm = mpmath.mpf(path.sigma_min)
        return t, 1 - (1 - sm) * t, mpmath.mpf(1), -(1 - sm)
    f = path.symbolic.functions("mpmath")
    return f["alpha"](t), f["sigma"](t), f["d_alpha"](t), f["d_sigma"](t)


def mp_posterior_mean_velocity(x: np.ndarray, t: float, data: np.ndarray, path: NumericPath) -> np.ndarray:
    r"""Bayes posterior mean of :math:`u_t(x\mid x^{(i)})` in mpmath (at the working precision).

    Posterior :math:`p(i\mid x)\propto\mathcal N(x;\alpha_tx^{(i)},\sigma_t^2I)` with the explicit
    normalisation :math:`(2\pi\sigma_t^2)^{-d/2}`, conditional fields
    :math:`\frac{\dot\sigma_t}{\sigma_t}(x-\alpha_tx^{(i)})+\dot\alpha_tx^{(i)}`; one query ``x`` (d,).
    """
    d = data.shape[1]
    alpha, sig, da, ds = mp_coefficients(path, mpmath.mpf(float(t)))
    xs = [mpmath.mpf(float(v)) for v in x]
    pts = [[mpmath.mpf(float(v)) for v in row] for row in data]
    dens = [
        (2 * mpmath.pi * sig**2) ** (-mpmath.mpf(d) / 2)
        * mpmath.exp(-mpmath.fsum((xs[k] - alpha * p[k]) ** 2 for k in range(d)) / (2 * sig**2))
        for p in pts
    ]
    z = mpmath.fsum(dens)
    return np.array(
        [
            float(mpmath.fsum(w * (ds / sig * (xs[k] - alpha * p[k]) + da * p[k]) for w, p in zip(dens, pts)) / z)
            for k in range(d)
        ]
    )


@dataclass(frozen=True)
class OptimalVelocityErrors(Measurement):
    """``worst[s]``: max relative error of the field under test against the mpmath posterior mean on path ``s``
    of :func:`flow_paths`."""

    worst: np.ndarray


def optimal_velocity_vs_mpmath(run: RunSpec, field: Field = optimal_velocity) -> OptimalVelocityErrors:
    """Max relative error of ``field`` against :func:`mp_posterior_mean_velocity`, per path of :func:`flow_paths`.

    ``sparse-d20``, :math:`x\\sim\\mathcal N(0,4I)`, :math:`t\\sim U[0,0.999]`.
    """
    sz = run.sizes(OPTIMAL_VELOCITY)
    data = dataset("sparse-d20")
    rng = run.rng(11)
    worst = []
    paths = flow_paths(run)
    for path in paths:
        x = 2.0 * rng.standard_normal((sz.points, 20))
        t = rng.uniform(0.0, 0.999, sz.points)
        v = field(x, t, data, path)
        with mpmath.workdps(sz.dps):
            ref = np.array([mp_posterior_mean_velocity(x[i], t[i], data, path) for i in range(sz.points)])
        worst.append(float(np.max(np.linalg.norm(v - ref, axis=1) / np.linalg.norm(ref, axis=1))))
    return OptimalVelocityErrors(
        np.array(worst), seeds={"points": run.seed_for(11)}, sizes=sz, settings={"paths": path_key(paths)}
    )
