"""What the ``common/`` measurements share: the section they cite and random Gaussian pairs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from numerics.gaussians import random_spd

GaussianPairFn = Callable[..., float]
SECTION = "spec README (shared Gaussian closed forms; sizes of this project's common/ claims)"


def random_pairs(rng: np.random.Generator, dims: tuple[int, ...], cond: float) -> list[tuple[np.ndarray, ...]]:
    """``(m0, S0, m1, S1)`` per dimension: Gaussian means, Haar-rotated SPD covariances of condition ``cond``."""
    return [(rng.normal(size=d), random_spd(d, rng, cond), rng.normal(size=d), random_spd(d, rng, cond)) for d in dims]
