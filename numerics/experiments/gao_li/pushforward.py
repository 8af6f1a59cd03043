r"""The exact flow pushes the prior forward along the marginal path (claim ``gao-li/marginal-path-pushforward``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from numerics.datasets import dataset
from numerics.empirical_field import (
    integrate_flow,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.gao_li._shared import spec_row
from numerics.paths import CondOTPath


@dataclass(frozen=True)
class PushforwardSizes(Sizes):
    starts: int = 4000
    times: tuple[float, ...] = (0.3, 0.6, 0.9)
    directions: int = 3


PUSHFORWARD = Tier.same("gao-li/marginal-path-pushforward", PushforwardSizes(), spec_row("marginal-path-pushforward"))


@dataclass(frozen=True)
class Pushforward(Measurement):
    """KS p-values of projections of the flow at each (time, direction), and the median solver cost."""

    p_values: np.ndarray
    median_nfev: float


def pushforward(run: RunSpec, prior_scale: float = 1.0) -> Pushforward:
    r"""The exact flow from ``prior_scale`` :math:`\cdot\mathcal N(0,I)` on ``sparse-d20``, KS against the mixture :math:`p_t`."""
    sz = run.sizes(PUSHFORWARD)
    data = dataset("sparse-d20")
    x0 = prior_scale * run.rng(13).standard_normal((sz.starts, 20))
    dirs = run.rng(14).standard_normal((sz.directions, 20))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    times = np.array(sz.times)
    sol = integrate_flow(x0, data, 0.0, t_end=float(times[-1]), t_eval=times, rtol=1e-10, atol=1e-12)
    path = CondOTPath(0.0)
    pvals = []
    for k, t in enumerate(times):
        sig = float(path.sigma(t))
        for a in dirs:
            centres = t * (data @ a)

            def cdf(s: np.ndarray, centres: np.ndarray = centres, sig: float = sig) -> np.ndarray:
                return special.ndtr((np.asarray(s)[..., None] - centres) / sig).mean(axis=-1)

            pvals.append(stats.kstest(sol.x_eval[k] @ a, cdf).pvalue)
    return Pushforward(
        np.array(pvals),
        float(np.median(sol.nfev)),
        seeds={"starts": run.seed_for(13), "directions": run.seed_for(14)},
        sizes=sz,
        settings={"rtol": 1e-10, "atol": 1e-12},
    )
