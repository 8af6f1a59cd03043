"""Measurement of ``digits/bridge``: exact flow, linear denoiser and trained MLPs on the same training sets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from numerics import linear_diffusion as ld
from numerics.digits import digits
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.digits._shared import SECTION, SEED_EXACT, SEED_LINEAR, copy_ratio, training_subset
from numerics.experiments.digits.exact_flow import exact_flow_samples
from numerics.experiments.digits.linear_model import population
from numerics.experiments.digits.trained import trained_memorization
from numerics.experiments.merger_goldt import EmpiricalModes, SamplerSetting, generated_law
from numerics.memorization import COPY_RATIO
from numerics.meters import OffSpan, off_span_fraction


@dataclass(frozen=True)
class BridgeSizes(Sizes):
    """``N`` of the exact flow and the linear denoiser (the MLPs run at the trained claim's ``ns``)."""

    ns: tuple[int, ...] = (8, 16, 32, 48, 61, 64, 128, 256, 1024)
    samples: int = 2000


BRIDGE = Tier(
    "digits/bridge", fast=BridgeSizes(ns=(8, 16, 32, 48, 64, 256), samples=300), spec=BridgeSizes(), section=SECTION
)

OffSpanLaw = Callable[[EmpiricalModes, Any], float]


def linear_off_span(modes: EmpiricalModes, law: Any) -> float:
    r"""Closed form of the linear sampler's off-span fraction about the training mean.

    With the generated law :math:`\mathcal N(\mu_{\rm gen},U\mathrm{diag}(f)U^\top)` and
    :math:`c=U^\top(\mu_{\rm gen}-\hat\mu)`:
    :math:`\sum_{\nu\,\rm null}(f_\nu+c_\nu^2)/\sum_\nu(f_\nu+c_\nu^2)`, the null modes being
    the zero eigenvalues of :math:`\hat\Sigma` (the complement of the affine hull).
    """
    f, lam_hat = law.f[0, 0], modes.lam_hat[0, 0]
    c = modes.u[0, 0].T @ (law.mean_gen[0, 0] - modes.mu_hat[0, 0])
    per_mode = f + c * c
    return float(per_mode[lam_hat == 0].sum() / per_mode.sum())


@dataclass(frozen=True)
class Bridge(Measurement):
    """Memorization ratio and affine off-span fraction against ``N`` for the three models.

    ``exact_*``, ``linear_*``: ``(len(ns),)``; ``linear_off_se`` the delta-method SE of the
    measured fraction, ``linear_off_closed`` its closed form; ``mlp_*``: ``(len(mlp_ns), seeds)``.
    """

    d: int
    ns: tuple[int, ...]
    exact_ratio: np.ndarray
    exact_off: np.ndarray
    linear_ratio: np.ndarray
    linear_off: np.ndarray
    linear_off_se: np.ndarray
    linear_off_closed: np.ndarray
    mlp_ns: tuple[int, ...]
    mlp_ratio: np.ndarray
    mlp_off: np.ndarray


def _linear_samples(run: RunSpec, y: np.ndarray, samples: int) -> np.ndarray:
    def compute() -> np.ndarray:
        mu_hat, cov_hat = ld.empirical_moments(y)
        eps = ld.linear_eps_fn(mu_hat, cov_hat, ld.beta_schedule(1000))
        return ld.ddpm_sample(eps, ld.beta_schedule(1000), samples, y.shape[1], run.seed_for(SEED_LINEAR))

    key = {"points": y, "samples": samples, "seed": run.seed_for(SEED_LINEAR)}
    return measured(run, "digits/linear-samples", key, compute)


def _training_modes(y: np.ndarray) -> EmpiricalModes:
    mu_hat, cov_hat = ld.empirical_moments(y)
    lam_hat, u = ld.eigen_modes(cov_hat)
    return EmpiricalModes(y.shape[0], population().lam[None], mu_hat[None, None], lam_hat[None, None], u[None, None])


def bridge(run: RunSpec, off_span_law: OffSpanLaw = linear_off_span) -> Bridge:
    """The three models on the nested training sets (``off_span_law``: the linear closed form under test)."""
    sz = run.sizes(BRIDGE)
    rows: list[tuple[float, ...]] = []
    for n in sz.ns:
        y = training_subset(n)
        xe = exact_flow_samples(run, y, sz.samples)
        xl = _linear_samples(run, y, sz.samples)
        modes = _training_modes(y)
        off_l: OffSpan = off_span_fraction(xl, y, kind="affine")
        rows.append(
            (
                copy_ratio(xe, y, COPY_RATIO, run).fraction,
                off_span_fraction(xe, y, kind="affine").fraction,
                copy_ratio(xl, y, COPY_RATIO, run).fraction,
                off_l.fraction,
                off_l.se,
                off_span_law(modes, generated_law(modes, SamplerSetting())),
            )
        )
    cols = np.array(rows).T
    mlp = trained_memorization(run)
    seeds = {"exact": run.seed_for(SEED_EXACT), "linear": run.seed_for(SEED_LINEAR)}
    settings = {"copy_ratio": COPY_RATIO, "mlp": mlp.provenance()}
    return Bridge(
        digits().dim, tuple(sz.ns), *cols, mlp.ns, mlp.ratio, mlp.off_span, seeds=seeds, sizes=sz, settings=settings
    )
