r"""The CFM minimiser is the conditional expectation (claim ``gao-li/cfm-minimizer-conditional-expectation``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.datasets import dataset
from numerics.empirical_field import (
    optimal_velocity,
)
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.gao_li._shared import Field, flow_paths, is_zero, path_key, spec_row
from theory import paths as thp


@dataclass(frozen=True)
class CrossTermSizes(Sizes):
    draws: int = 1_000_000


CFM_MINIMIZER = Tier.same(
    "gao-li/cfm-minimizer-conditional-expectation", CrossTermSizes(), spec_row("cfm-minimizer-conditional-expectation")
)
TEST_FUNCTIONS = ("e1", "x", "t sin(x_1) e2")


@dataclass(frozen=True)
class CfmMinimizer(Measurement):
    """SymPy residuals (any path) and Monte Carlo cross terms :math:`|\\hat C_h|/\\mathrm{SE}`.

    ``z[s, h]``: path ``s`` of :func:`flow_paths`, test function ``TEST_FUNCTIONS[h]``.
    """

    residuals: list[str]
    residuals_zero: bool
    hessian_is_minimum: bool
    z: np.ndarray


def cfm_minimizer(run: RunSpec, field: Field = optimal_velocity) -> CfmMinimizer:
    r"""(i) SymPy pointwise minimisation (any path: :func:`theory.paths.generic_facts`); (ii)
    :math:`\mathbb E[h\cdot(v-u)]` over :math:`(t,i,x_0)` on ``tiny``, per path of :func:`flow_paths`.

    :math:`t\sim U[0,0.99]` (finite variance), :math:`x_t` and :math:`u` from the path.
    """
    sym = thp.generic_facts()
    data = dataset("tiny")
    m = run.sizes(CFM_MINIMIZER).draws
    rng = run.rng(10)
    paths = flow_paths(run)
    z = np.empty((len(paths), len(TEST_FUNCTIONS)))
    for s, path in enumerate(paths):
        t = rng.uniform(0.0, 0.99, m)
        x1 = data[rng.integers(0, data.shape[0], m)]
        x0 = rng.standard_normal((m, 2))
        x = path.sample(x0, x1, t)
        diff = field(x, t, data, path) - path.target(x0, x1, t)
        hs = (
            np.stack([np.ones(m), np.zeros(m)], axis=1),
            x,
            np.stack([np.zeros(m), t * np.sin(x[:, 0])], axis=1),
        )
        for k, h in enumerate(hs):
            terms = np.sum(h * diff, axis=1)
            z[s, k] = abs(terms.mean()) / (terms.std(ddof=1) / np.sqrt(m))
    res = sym["cfm_minimizer"]
    return CfmMinimizer(
        [str(e) for e in res],
        is_zero(res),
        is_zero(sym["hessian"]),
        z,
        seeds={"draws": run.seed_for(10)},
        sizes=run.sizes(CFM_MINIMIZER),
        settings={"paths": path_key(paths)},
    )
