r"""The optimal field splits into in- and off-subspace parts (claim ``gao-li/velocity-orthogonal-split``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from numerics.datasets import dataset
from numerics.empirical_field import (
    optimal_velocity,
    posterior_weights,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.gao_li._shared import flow_paths, is_zero, path_key, spec_row
from numerics.paths import NumericPath
from numerics.subspace import subspace_basis
from theory import paths as thp


@dataclass(frozen=True)
class SplitSizes(Sizes):
    points: int = 1000
    sigma_mins: tuple[float, ...] = (0.0, 0.01, 0.3)


VELOCITY_SPLIT = Tier.same(
    "gao-li/velocity-orthogonal-split",
    SplitSizes(),
    spec_row("velocity-orthogonal-split") + " (sigma_min 0.3 added: there 1 - sigma_min differs from 1 visibly)",
)


def off_subspace_rate(path: NumericPath, t: np.ndarray) -> np.ndarray:
    r"""The coefficient :math:`c_t=-\dot\sigma_t` of :math:`-x_\perp/\sigma_t` in fact (b) (:math:`1-\sigma_{\min}` on the OT path)."""
    return -path.d_sigma(t)


def bayes_posterior_velocity(x: np.ndarray, t: np.ndarray, data: np.ndarray, path: NumericPath) -> np.ndarray:
    r""":math:`\mathbb E[u_t(x\mid x_1)\mid x_t=x]` by Bayes' rule, independent of the closed form.

    Posterior over the points from SciPy's normalised Gaussian log-densities
    :math:`\log\mathcal N(x;\alpha_tx^{(i)},\sigma_t^2I)`, averaged conditional fields
    :meth:`~numerics.paths.NumericPath.conditional_velocity` (float64; ``t`` one per row).
    """
    tt = t[:, None, None]
    logp = stats.norm.logpdf(x[:, None, :], loc=path.alpha(tt) * data[None], scale=path.sigma(tt)).sum(-1)
    u = path.conditional_velocity(x[:, None, :], data[None], t)
    return np.einsum("mn,mnd->md", special.softmax(logp, axis=1), u)


@dataclass(frozen=True)
class VelocitySplit(Measurement):
    """Per path: max relative errors of the off- and in-subspace parts, and the SymPy facts (any path)."""

    labels: tuple[str, ...]
    off_error: np.ndarray
    in_error: np.ndarray
    weights_blind_symbolic: bool
    off_symbolic: bool
    in_symbolic: bool


def velocity_split(
    run: RunSpec, off_coefficient: Callable[[NumericPath, np.ndarray], np.ndarray] = off_subspace_rate
) -> VelocitySplit:
    r"""Fact (b) on ``sparse-d20``: :math:`P_\perp v^*=-c_tx_\perp/\sigma_t` with ``c = off_coefficient``.

    The off part is :math:`P_\perp` of :func:`bayes_posterior_velocity` (an independent route);
    the in-subspace part of the closed-form field at :math:`x` is compared with
    :math:`u_t(x_\parallel\mid\bar x_w(x_\parallel))` (weights at :math:`x_\parallel`). Errors are
    relative to :math:`|v^*|`. Paths: the OT paths with the sizes' ``sigma_mins``, or ``run.path``.
    """
    sz = run.sizes(VELOCITY_SPLIT)
    sym = thp.generic_facts()
    data = dataset("sparse-d20")
    sub = subspace_basis(data)
    rng = run.rng(117)
    paths = flow_paths(run, sz.sigma_mins)
    off_err, in_err = [], []
    for path in paths:
        x = 2.0 * rng.standard_normal((sz.points, 20))
        t = rng.uniform(0.0, 0.99, sz.points)
        sig = path.sigma(t)[:, None]
        v = optimal_velocity(x, t, data, path)
        norm = np.linalg.norm(v, axis=1)
        off = sub.off(bayes_posterior_velocity(x, t, data, path))
        c = np.broadcast_to(off_coefficient(path, t), t.shape)[:, None]
        off_err.append(float(np.max(np.linalg.norm(off + c * sub.off(x) / sig, axis=1) / norm)))
        x_par = sub.inside(x)
        expect_in = path.conditional_velocity(x_par, posterior_weights(x_par, t, data, path) @ data, t)
        in_err.append(float(np.max(np.linalg.norm(sub.inside(v) - expect_in, axis=1) / norm)))
    return VelocitySplit(
        tuple(p.label for p in paths),
        np.array(off_err),
        np.array(in_err),
        is_zero(sym["dw_dx3"]),
        is_zero(sym["res_perp"]),
        is_zero(sym["res_par"]),
        seeds={"points": run.seed_for(117)},
        sizes=sz,
        settings={"paths": path_key(paths)},
    )
