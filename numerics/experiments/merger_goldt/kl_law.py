"""Measurement of ``merger-goldt/kl-d-over-4n``: the KL of the linear sampler over N, spectra, seeds and variants (spec §1.7, §2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.merger_goldt._shared import (
    KL_PARTS,
    KS4,
    GeneratedLaw,
    KLFn,
    SamplerSetting,
    empirical_modes,
    generated_law,
    population_kl,
    row,
    seed_list,
)
from numerics.gaussians import kl_monte_carlo
from numerics.linear_diffusion import KL_DIRECTIONS, SAMPLER_SIGMAS
from theory.gaussians import gaussian_kl


@dataclass(frozen=True)
class KLLawSizes(Sizes):
    d: int = 100
    ks: tuple[float, ...] = KS4
    ns: tuple[int, ...] = (200, 400, 1000, 4000, 10000)
    seeds: int = 20
    mc_samples: int = 100_000
    report_T: tuple[int, ...] = (500, 2000)


KL_LAW = Tier.same("merger-goldt/kl-d-over-4n", KLLawSizes(), row("kl-d-over-4n", "§1.7, §2"))


@dataclass(frozen=True)
class KLLaw(Measurement):
    r"""KL of the generated laws for :math:`N>d`, seeds 100..119.

    ``per_dim`` and ``total``: ``(N, seeds, direction, part, k, sampler_sigma)`` from the KL
    under test with ``norm="per_dim"`` / ``"total"``; ``population``: ``(direction, k,
    sampler_sigma)`` per-dimension population-optimum KL (engine). ``mc``: the KL formula under
    test vs Monte Carlo and vs the dense Cholesky KL on one case (N = 1000, k = 1, forward, full).
    ``variants``: report-only forward Q at the largest N, σ² = β, per k, for each T of
    ``report_T`` and for ``final_noise=False``.
    """

    d: int
    ns: tuple[int, ...]
    ks: tuple[float, ...]
    per_dim: np.ndarray
    total: np.ndarray
    population: np.ndarray
    mc_formula: float
    mc_estimate: float
    mc_se: float
    dense_formula: float
    variants: dict[str, np.ndarray]

    def q(self, part: str = "cov", ref: str = "excess") -> np.ndarray:
        r""":math:`Q=\frac Nd(\frac{D_{\rm KL}}d-\frac{D^{\rm pop}_{\rm KL}}d)` (``ref="raw"``: no subtraction), ``(N, seeds, dir, k, sigma)``."""
        kl = self.per_dim[:, :, :, KL_PARTS.index(part)]
        if ref == "excess":
            kl = kl - self.population[None, None]
        return np.asarray(self.ns, dtype=float)[:, None, None, None, None] / self.d * kl

    def q_total(self) -> np.ndarray:
        r"""``kl_norm="total"``: :math:`\frac Nd(D_{\rm KL}-D^{\rm pop}_{\rm KL})`, covariance part, ``(N, seeds, dir, k, sigma)``."""
        excess = self.total[:, :, :, 0] - self.d * self.population[None, None]
        return np.asarray(self.ns, dtype=float)[:, None, None, None, None] / self.d * excess


def _kl_table(law_by_sigma: list[GeneratedLaw], kl: KLFn, norm: str) -> np.ndarray:
    """``(seeds, direction, part, k, sigma)`` KLs of the laws of one N (one law per sampler sigma)."""
    return np.stack(
        [
            np.stack([np.stack([g.kl(kl, dr, part, norm) for g in law_by_sigma], axis=-1) for part in KL_PARTS], axis=1)
            for dr in KL_DIRECTIONS
        ],
        axis=1,
    )


def kl_law(run: RunSpec, kl: KLFn = ld.kl_divergence) -> KLLaw:
    r"""The :math:`d/(4N)` law: KL of the linear sampler over :math:`N`, spectra, seeds, directions and variants.

    ``kl(f, u, lam, mean_gen, mean_target, direction, part, norm)`` is the KL under test; the
    training sets and generated laws are memoised.
    """
    sz = run.sizes(KL_LAW)
    seeds = seed_list(run, range(100, 100 + sz.seeds))
    settings = [SamplerSetting(sampler_sigma=s) for s in SAMPLER_SIGMAS]
    extra = {f"T={T}": SamplerSetting(T=T) for T in sz.report_T} | {
        "final_noise=False": SamplerSetting(final_noise=False)
    }

    def laws() -> tuple[list[list[GeneratedLaw]], dict[str, GeneratedLaw]]:
        modes = empirical_modes(run, sz.d, sz.ns, sz.ks, seeds)
        main = [[generated_law(m, s) for s in settings] for m in modes]
        return main, {name: generated_law(modes[-1], s) for name, s in extra.items()}

    main, variant_laws = measured(run, "merger-goldt/kl-law-laws", {"sizes": sz, "seeds": seeds}, laws)
    per_dim = np.stack([_kl_table(g, kl, "per_dim") for g in main])
    total = np.stack([_kl_table(g, kl, "total") for g in main])
    lam = main[0][0].modes.lam
    pop = np.stack([population_kl(lam, s) for s in settings], axis=-1)  # (direction, k, sigma)
    n_max = sz.ns[-1]
    variants = {
        name: (n_max / sz.d * (g.kl(kl) - population_kl(lam, g.setting)[0])).mean(axis=0)
        for name, g in variant_laws.items()
    }
    # One case for the Monte Carlo of the KL formula: N = 1000 (or the nearest N), k = 1, first seed.
    i_n = int(np.argmin(np.abs(np.asarray(sz.ns) - 1000)))
    i_k = sz.ks.index(1.0) if 1.0 in sz.ks else 0
    g = main[i_n][0]
    f, u, mg = g.f[0, i_k], g.modes.u[0, i_k], g.mean_gen[0, i_k]
    lam_k = lam[i_k]
    cov_gen = (u * f) @ u.T
    formula = float(kl(f, u, lam_k, mg, None, direction="forward", part="full", norm="total"))
    dense_kl = gaussian_kl(mg, cov_gen, np.zeros(sz.d), np.diag(lam_k))
    mc, mc_se = measured(
        run,
        "merger-goldt/kl-law-mc",
        {"sizes": sz, "seeds": seeds},
        lambda: kl_monte_carlo(mg, cov_gen, np.zeros(sz.d), np.diag(lam_k), sz.mc_samples, run.rng(101)),
    )
    return KLLaw(
        sz.d,
        sz.ns,
        sz.ks,
        per_dim,
        total,
        pop,
        formula,
        mc,
        mc_se,
        dense_kl,
        variants,
        seeds={"training sets": seeds, "monte carlo": run.seed_for(101)},
        sizes=sz,
    )
