"""Measurement of ``merger-goldt/hierarchy-reduces-overfitting``: test error and KL per spectral decay."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics import linear_diffusion as ld
from numerics.datasets import power_law_spectrum
from numerics.experiments import Measurement, RunSpec, Sizes, Tier
from numerics.experiments.merger_goldt._shared import (
    KS5,
    KLFn,
    SpectrumFn,
    empirical_modes,
    generated_law,
    mean_and_se,
    optimal_errors,
    row,
    seed_list,
)


@dataclass(frozen=True)
class HierarchySizes(Sizes):
    ks: tuple[float, ...] = KS5
    test_d: int = 400
    test_n: int = 200
    test_steps: tuple[int, ...] = (1, 10)
    test_seeds: int = 3
    kl_d: int = 100
    kl_n: int = 50
    kl_seeds: int = 10


HIERARCHY = Tier.same(
    "merger-goldt/hierarchy-reduces-overfitting", HierarchySizes(), row("hierarchy-reduces-overfitting")
)
HIERARCHY_KL_REFERENCE = (2.22, 2.17, 2.00, 1.69, 1.27)


@dataclass(frozen=True)
class Hierarchy(Measurement):
    """Per-spectrum test errors ``(seeds, K, steps)`` and per-dimension KL ``(seeds, K)`` (plus the tr Σ = 1 variant)."""

    ks: tuple[float, ...]
    steps: tuple[int, ...]
    test: np.ndarray
    kl: np.ndarray
    kl_trace_one: np.ndarray

    def kl_mean_and_se(self) -> tuple[np.ndarray, np.ndarray]:
        """Seed mean of the per-dimension KL per spectrum and its standard error."""
        return mean_and_se(self.kl)


def hierarchy(run: RunSpec, spectrum: SpectrumFn = power_law_spectrum, kl: KLFn = ld.kl_divergence) -> Hierarchy:
    r"""Test error (:math:`d=400,N=200`, seeds 1..3) and KL(gen‖target)/d (:math:`d=100,N=50`, seeds 0..9) per :math:`k`.

    Common random numbers across :math:`k`; ``spectrum(d, k, trace)`` builds the data and target
    spectra, ``kl`` is the KL under test (forward, covariance part, per dimension, :math:`\sigma^2=\beta`).
    """
    sz = run.sizes(HIERARCHY)
    ks = tuple(sz.ks)
    test_seeds = seed_list(run, range(1, 1 + sz.test_seeds))
    (test_modes,) = empirical_modes(run, sz.test_d, (sz.test_n,), ks, test_seeds, spectrum=spectrum)
    test = optimal_errors(test_modes, sz.test_steps, (0.0,))[0][:, :, 0, :]
    kl_seeds = seed_list(run, range(sz.kl_seeds))
    values = []
    for trace in (None, 1.0):
        (modes,) = empirical_modes(run, sz.kl_d, (sz.kl_n,), ks, kl_seeds, trace=trace, spectrum=spectrum)
        values.append(generated_law(modes).kl(kl))
    return Hierarchy(
        ks, sz.test_steps, test, values[0], values[1], seeds={"test": test_seeds, "kl": kl_seeds}, sizes=sz
    )
