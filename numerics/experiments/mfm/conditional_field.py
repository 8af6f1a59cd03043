"""``mfm/condot-conditional-field``: the CondOT conditional field along its paths (SymPy and float64)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.mfm._common import (
    section,
)
from theory.couplings import (
    condot_field,
    condot_field_residuals,
)


# ---------------------------------------------------------------------------------------------
# mfm/condot-conditional-field
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpotSizes(Sizes):
    points: int = 4


CONDOT_FIELD = Tier.same(
    "mfm/condot-conditional-field", SpotSizes(), section("mfm/condot-conditional-field", "SymPy + float64 spot check")
)


@dataclass(frozen=True)
class ConditionalField(Measurement):
    """SymPy residuals of the CondOT identities and the float64 residual along random conditional paths."""

    residuals: dict[str, str]
    along_path: np.ndarray


def condot_conditional_field(run: RunSpec, field: Callable[..., Any] = condot_field) -> ConditionalField:
    """Residuals of :math:`u_t(\\psi_t(x_0\\mid x_1)\\mid x_1)=x_1-(1-\\sigma_{\\min})x_0` for ``field``."""
    n = run.sizes(CONDOT_FIELD).points
    res = condot_field_residuals(field)
    rng = run.rng(0)
    x0, x1, tt, sm = rng.standard_normal(n), rng.standard_normal(n), rng.random(n), 0.1 * rng.random(n)
    psi = (1 - (1 - sm) * tt) * x0 + tt * x1
    u = np.asarray(field(psi, x1, tt, sm), dtype=float)
    return ConditionalField(
        {k: str(v) for k, v in res.items()},
        u - (x1 - (1 - sm) * x0),
        seeds={"points": run.seed_for(0)},
        sizes=run.sizes(CONDOT_FIELD),
    )
