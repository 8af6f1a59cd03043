"""Measurement of ``merger-goldt/sampler-gaussian-recursion``: the dense DDPM sampler against the per-mode recursion (spec §1.6)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from numerics import linear_diffusion as ld
from numerics.datasets import power_law_spectrum
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.merger_goldt._shared import VARIANTS, RecursionFn, dense, row, stream
from numerics.linear_diffusion import Schedule
from numerics.training import torch_generator


@dataclass(frozen=True)
class SamplerSizes(Sizes):
    d: int = 10
    # (N, k): the spec's two training sets, plus a steep spectrum whose empirical covariance has
    # eigenvalues between 1e-3 and 1e-2, where an off-by-one in the weight index moves f by 4-6%.
    training_sets: tuple[tuple[int, float], ...] = ((5, 1.0), (40, 1.0), (40, 3.0))
    variants: tuple[tuple[str, bool, str], ...] = VARIANTS
    samples: int = 100_000


SAMPLER_RECURSION = Tier(
    "merger-goldt/sampler-gaussian-recursion",
    fast=SamplerSizes(samples=10_000),
    spec=SamplerSizes(),
    section=row("sampler-gaussian-recursion", "§1.6"),
)
# Samples per chunk of the dense sampler (keeps the state in cache; fixed, so the draws are too).
SAMPLER_CHUNK = 20_000


def torch_normals(seed: Any) -> Callable[[int, int], torch.Tensor]:
    """Standard normal ``(b, d)`` draws from one seeded PyTorch generator, drawn in float32 (4x faster
    than float64; a relative rounding of 6e-8 of each draw) and returned in float64."""
    gen = torch_generator(seed)
    return lambda b, d: torch.randn((b, d), generator=gen, dtype=torch.float32).double()


def dense_linear_sampler(
    mu_hat: np.ndarray,
    cov_hat: np.ndarray,
    schedule: Schedule,
    variants: Sequence[tuple[str, bool, str]],
    n_samples: int,
    normals: Callable[[int, int], torch.Tensor],
    reduce: Callable[[np.ndarray], Any],
    chunk: int = SAMPLER_CHUNK,
) -> list[Any]:
    r"""The DDPM sampler of spec §1.1 with the optimal centred linear denoiser, for a stack of training sets.

    .. math::
        u_{t-1}=\frac1{\sqrt{\alpha_t}}\Big(u_t-\frac{\beta_t}{\sqrt{1-\bar\alpha_t}}W_t(u_t-\sqrt{\bar\alpha_t}\hat\mu)\Big)+\sigma_t\epsilon_t,

    with dense :math:`W_t=U\mathrm{diag}(w^\star_t(\hat\lambda))U^\top`, from
    :math:`u_T\sim\mathcal N(0,I)` (``"zero"``) or :math:`\mathcal N(\sqrt{\bar\alpha_T}\hat\mu,I)`
    (``"shifted"``). Every training set and variant shares the draws of :math:`u_T` and of the
    step noises (common random numbers), so each is on its own an exact Monte Carlo of its
    sampler; ``normals(b, d)`` draws them (per chunk: :math:`u_T`, then one draw per step
    :math:`t=T..1`), the state is float64. Variants differing only in the noise of the last step
    share the computation before it. ``reduce(samples)`` turns each chunk's ``(S, V, chunk, d)``
    samples into a summary; returns the list of summaries.

    ``mu_hat`` ``(S, d)``, ``cov_hat`` ``(S, d, d)``; ``variants`` lists ``(sampler_sigma, final_noise, u_T_mean)``.
    """
    mu_hat = np.asarray(mu_hat, dtype=np.float64)
    n_sets, d = mu_hat.shape
    sigmas = list(dict.fromkeys(v[0] for v in variants))
    starts = list(dict.fromkeys(v[2] for v in variants))
    step_t = np.empty((schedule.T, n_sets, d, d))
    shift_t = np.empty((schedule.T, n_sets, d))
    for j in range(n_sets):
        lam_hat, u = ld.eigen_modes(cov_hat[j])
        for i in range(schedule.T):
            w = dense(lam_hat, u, ld.mode_weights(lam_hat, schedule.one_minus_abar[i]))
            c = schedule.beta[i] / np.sqrt(schedule.one_minus_abar[i])
            step_t[i, j] = ((np.eye(d) - c * w) / np.sqrt(schedule.alpha[i])).T
            shift_t[i, j] = c * np.sqrt(schedule.abar[i]) * (w @ mu_hat[j]) / np.sqrt(schedule.alpha[i])
    steps, shifts = torch.as_tensor(step_t), torch.as_tensor(shift_t)
    sd = torch.as_tensor(np.stack([np.sqrt(schedule.sampler_variance(s, True)) for s in sigmas]))  # (sigmas, T)
    start = np.stack(
        [[np.sqrt(schedule.abar[-1]) * m if st == "shifted" else np.zeros(d) for st in starts] for m in mu_hat]
    )
    out = []
    for first in range(0, n_samples, chunk):
        b = min(chunk, n_samples - first)
        z = normals(b, d)
        x = z[None, None, None] + torch.as_tensor(start)[:, None, :, None, :]  # (S, sigmas, starts, b, d)
        x = x.expand(n_sets, len(sigmas), len(starts), b, d).contiguous()
        for i in range(schedule.T - 1, -1, -1):
            x = torch.baddbmm(shifts[i][:, None, :], x.view(n_sets, -1, d), steps[i]).view_as(x)
            eps = normals(b, d)
            if i > 0:
                x += sd[None, :, i, None, None, None] * eps
        index = {(sig, st): (sigmas.index(sig), starts.index(st)) for sig in sigmas for st in starts}
        samples = torch.stack(
            [x[:, a, c] + (sd[a, 0] * eps if fn else 0.0) for sig, fn, st in variants for a, c in [index[(sig, st)]]],
            dim=1,
        )
        out.append(reduce(samples.numpy()))
    return out


@dataclass(frozen=True)
class SampleMoments:
    """Sample mean and covariance of each training set and variant, rotated by :math:`U^\\top` (eigenbasis of :math:`\\hat\\Sigma`)."""

    mean: np.ndarray  # (S, V, d)
    cov: np.ndarray  # (S, V, d, d)


def _pooled_moments(parts: list[tuple[np.ndarray, np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance from per-chunk (mean, scatter, count) (Chan et al.'s pairwise update)."""
    mean, scatter, n = parts[0]
    for m, sc, k in parts[1:]:
        delta = m - mean
        tot = n + k
        scatter = scatter + sc + np.einsum("...i,...j->...ij", delta, delta) * n * k / tot
        mean = mean + delta * k / tot
        n = tot
    return mean, scatter / (n - 1)


@dataclass(frozen=True)
class SamplerCheck(Measurement):
    """Sampler moments (eigenbasis) and the recursion's prediction, per training set and variant."""

    training_sets: tuple[tuple[int, float], ...]
    variants: tuple[tuple[str, bool, str], ...]
    samples: int
    lam_hat: np.ndarray  # (S, d)
    moments: SampleMoments
    f: np.ndarray  # (S, V, d)
    mean_gen: np.ndarray  # (S, V, d), eigenbasis


def sampler_recursion(run: RunSpec, recursion: RecursionFn = ld.mode_recursion) -> SamplerCheck:
    r"""The dense sampler (:func:`dense_linear_sampler`, ``samples`` draws, seed 65) vs the recursion of §1.6.

    Training sets: :math:`d=10`, :math:`\mu=\mathbf 1`, each ``(N, k)`` from its own stream of seed
    65. ``recursion`` (default the engine's) gives :math:`f` and :math:`\prod_ta_t`; the sampler
    moments are memoised.
    """
    sz = run.sizes(SAMPLER_RECURSION)
    sch = ld.beta_schedule(1000)
    data = [stream(run, 65, 100 + j) for j in range(len(sz.training_sets))]
    sets = [
        rng.standard_normal((n, sz.d)) * np.sqrt(power_law_spectrum(sz.d, k)) + 1.0
        for rng, (n, k) in zip(data, sz.training_sets)
    ]
    moments = [ld.empirical_moments(x) for x in sets]
    mu_hat = np.array([m[0] for m in moments])
    cov_hat = np.array([m[1] for m in moments])
    eig = [ld.eigen_modes(c) for c in cov_hat]
    lam_hat = np.array([e[0] for e in eig])
    u = np.array([e[1] for e in eig])

    def reduce(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        y = np.einsum("svmd,sde->svme", samples, u)
        m = y.mean(axis=2)
        yc = y - m[:, :, None]
        return m, np.einsum("svmi,svmj->svij", yc, yc), y.shape[2]

    def simulate() -> SampleMoments:
        normals = torch_normals([*run.seed_list(65), 0])
        parts = dense_linear_sampler(mu_hat, cov_hat, sch, sz.variants, sz.samples, normals, reduce)
        return SampleMoments(*_pooled_moments(parts))

    sample = measured(run, "merger-goldt/sampler-moments", {"sizes": sz, "seed": run.seed_for(65)}, simulate)
    f, mg = [], []
    for variant in sz.variants:
        sig, fn, start = variant
        g = recursion(lam_hat, sch, sampler_sigma=sig, final_noise=fn)
        f.append(g.f)
        mg.append(np.einsum("sd,sde->se", ld.generated_mean(mu_hat, u, g.prod_a, sch, start), u))
    return SamplerCheck(
        sz.training_sets,
        sz.variants,
        sz.samples,
        lam_hat,
        sample,
        np.stack(f, axis=1),
        np.stack(mg, axis=1),
        seeds={"data": run.seed_for(65), "sampler": [*run.seed_list(65), 0]},
        sizes=sz,
        settings={"chunk": SAMPLER_CHUNK},
    )
