"""Measurement of ``merger-goldt/kl-independent-of-sigma``: dense sample-covariance KLs across spectra (spec §2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from numerics import linear_diffusion as ld
from numerics.datasets import power_law_spectrum, white_samples
from numerics.executor import sweep
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.merger_goldt._shared import KS4, empirical_modes, generated_law, population_kl, row, seed_list
from numerics.linear_diffusion import KL_DIRECTIONS
from theory.gaussians import gaussian_kl


@dataclass(frozen=True)
class KLSigmaSizes(Sizes):
    d: int = 100
    ks: tuple[float, ...] = KS4
    ns: tuple[int, ...] = (200, 1000)
    seeds: int = 5
    gen_n: int = 1000


KL_INDEPENDENT = Tier.same("merger-goldt/kl-independent-of-sigma", KLSigmaSizes(), row("kl-independent-of-sigma", "§2"))


def common_draw(n: int, d: int, seed: Any, spectrum_index: int) -> np.ndarray:
    """The white matrix of a training set: one per seed, shared by every spectrum (common random numbers)."""
    return white_samples(n, d, seed)


def sample_covariance_kl_task(
    d: int, n: int, ks: tuple[float, ...], seed: Any, draw: Callable[..., np.ndarray] = common_draw
) -> np.ndarray:
    r"""Dense :math:`\mathrm{KL}(\mathcal N(0,\hat\Sigma_k)\|\mathcal N(0,\Sigma_k))` and its reverse per spectrum, ``(K, 2)`` (sweep task).

    :math:`\hat\Sigma_k` is the sample covariance (estimated mean) of ``draw(n, d, seed, k_index)``
    scaled by :math:`\Sigma_k^{1/2}`; KLs by the Cholesky closed form of :mod:`theory.gaussians`.
    """
    out = np.empty((len(ks), 2))
    zero = np.zeros(d)
    for a, k in enumerate(ks):
        lam = power_law_spectrum(d, k)
        _, cov_hat = ld.empirical_moments(draw(n, d, seed, a) * np.sqrt(lam))
        out[a] = gaussian_kl(zero, cov_hat, zero, np.diag(lam)), gaussian_kl(zero, np.diag(lam), zero, cov_hat)
    return out


@dataclass(frozen=True)
class KLSigma(Measurement):
    """Dense sample-covariance KLs ``(N, seeds, k, direction)`` and Q of the generated laws at ``gen_n`` ``(seeds, dir, k)``."""

    ns: tuple[int, ...]
    ks: tuple[float, ...]
    dense: np.ndarray
    q: np.ndarray

    @property
    def spread(self) -> np.ndarray:
        """Max relative spread across spectra of the dense KL, per N."""
        rel = np.abs(self.dense - self.dense[:, :, :1]) / np.abs(self.dense[:, :, :1])
        return rel.max(axis=(1, 2, 3))

    @property
    def q_spread(self) -> np.ndarray:
        """Relative spread (max - min) / mean across spectra of the seed-averaged Q, per direction."""
        q = self.q.mean(axis=0)
        return (q.max(axis=-1) - q.min(axis=-1)) / q.mean(axis=-1)


def kl_independent(run: RunSpec, draw: Callable[..., np.ndarray] = common_draw) -> KLSigma:
    """Dense KLs of :math:`\\hat\\Sigma_k` across spectra (white draws from ``draw``), seeds 0..4, and Q of :math:`\\Sigma_{\\rm gen}` at ``gen_n``."""
    sz = run.sizes(KL_INDEPENDENT)
    seeds = seed_list(run, range(sz.seeds))
    dense_kl = np.array(
        [
            sweep(
                run.executor,
                sample_covariance_kl_task,
                [{"d": sz.d, "n": n, "ks": tuple(sz.ks), "seed": s, "draw": draw} for s in seeds],
            )
            for n in sz.ns
        ]
    )
    n = sz.gen_n
    (modes,) = empirical_modes(run, sz.d, (n,), tuple(sz.ks), seeds)
    g = generated_law(modes)
    pop = population_kl(modes.lam)
    q = np.stack([n / sz.d * (g.kl(direction=dr) - pop[i]) for i, dr in enumerate(KL_DIRECTIONS)], axis=1)
    return KLSigma(sz.ns, tuple(sz.ks), dense_kl, q, seeds={"training sets": seeds}, sizes=sz)
