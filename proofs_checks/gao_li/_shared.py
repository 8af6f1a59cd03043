"""What the judges of several `gao-li` topics share: tolerance wordings, case labels, a wrong field."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from numerics.empirical_field import optimal_velocity
from numerics.experiments import RunSpec
from numerics.experiments.gao_li import paths_text
from numerics.paths import NumericPath

SYMPY = "exact SymPy simplification"
FOUR_SE = "Monte Carlo, 4 standard errors (false alarm 6e-5 per comparison)"


def per_path(run: RunSpec, default: str) -> str:
    """A comparison's case label: ``default`` (the spec's OT paths) or the path of ``--path``."""
    return default if run.path is None else paths_text(run)


def field_shifted_off_coefficient(x: np.ndarray, t, data: np.ndarray, path: NumericPath) -> np.ndarray:
    """The optimal field plus :math:`0.02x/\\sigma_t`: its off-subspace rate :math:`\\dot\\sigma_t/\\sigma_t`
    shifted (on the OT path, :math:`1-(\\sigma_{\\min}+0.02)` in its :math:`-(1-\\sigma_{\\min})x/\\sigma_t` term)."""
    return optimal_velocity(x, t, data, path) + 0.02 * x / path.sigma(np.asarray(t, dtype=float))


SRC = "spec gao_li.md §2 'Bounds for learned fields' and §3 claims table, row "
TREND = "spec trend criterion (claims table)"


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")  # undefined: a comparison on it fails (NaN fails every bound)
    return float(spearmanr(a, b).statistic)


def per_step(steps: np.ndarray, values: np.ndarray) -> dict[int, float]:
    return {int(s): float(v) for s, v in zip(steps, values)}
