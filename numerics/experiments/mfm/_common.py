"""Shared by the exact ``mfm/`` measurements: spec rows, the Gaussian-family members, the marginal field and its pairs, Monte Carlo means."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numerics.gaussian_family import GaussianCoupling

SECTION = "spec mfm.md §3"
# Members (rho, phi) of the Gaussian coupling family used by the exact checks (spec §3).
FAMILY_3 = ((0.0, 0.0), (0.5, 0.0), (0.9, np.pi / 4))
SANDWICH_FAMILY = ((0.0, 0.0), (0.5, 0.0), (0.9, np.pi / 4), (1.0, 0.0), (1.0, np.pi / 3))


def section(claim: str, extra: str = "") -> str:
    return f"{SECTION}, row {claim}" + (f"; {extra}" if extra else "")


@dataclass(frozen=True)
class MeanSE:
    """A Monte Carlo mean with its standard error."""

    mean: float
    se: float

    @classmethod
    def of(cls, samples: np.ndarray) -> MeanSE:
        a = np.asarray(samples, dtype=np.float64)
        return cls(float(a.mean()), float(a.std(ddof=1) / np.sqrt(a.size)))


# ---------------------------------------------------------------------------------------------
# Gaussian coupling family: the affine marginal field at per-sample times
# ---------------------------------------------------------------------------------------------
MarginalField = Callable[[GaussianCoupling, np.ndarray, np.ndarray], np.ndarray]


def marginal_field(fam: GaussianCoupling, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    r"""The family's marginal field :math:`u_{t_n}(x_n)=\mu+\mathrm{Cov}(D,X_t)\mathrm{Cov}(X_t)^{-1}(x_n-t_n\mu)`, one time per row."""
    cov_x, cov_dx, _ = fam.blocks(np.asarray(t)[:, None, None])
    dev = x - t[:, None] * fam.mu
    return fam.mu + np.einsum("nij,nj->ni", cov_dx, np.linalg.solve(cov_x, dev[:, :, None])[:, :, 0])


def linear_features(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """:math:`\\varphi(x,t)=[1,x,t,tx]` of the linear model :math:`v=\\Theta\\varphi`."""
    tc = t[:, None]
    return np.concatenate([np.ones_like(tc), x, tc, tc * x], axis=1)


def condot_pairs(
    fam: GaussianCoupling, n: int, rng: np.random.Generator, t_range: tuple[float, float] = (0.0, 1.0)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` coupled pairs of ``fam`` and uniform times in ``t_range``: ``(t, x_t, D = x1 - x0)`` on the CondOT path."""
    x0, x1 = fam.sample(n, rng)
    t = rng.uniform(*t_range, n)
    return t, (1 - t)[:, None] * x0 + t[:, None] * x1, x1 - x0
