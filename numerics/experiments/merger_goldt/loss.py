"""Measurement of ``merger-goldt/loss-depends-on-moments``: the noise-averaged loss, Monte Carlo against its closed form (spec §1.3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from numerics import linear_diffusion as ld
from numerics import linear_diffusion_torch as lt
from numerics.datasets import power_law_spectrum
from numerics.experiments import RunSpec, Sizes, Tier, measured
from numerics.experiments.merger_goldt._shared import MonteCarloAgreement, row, stream


@dataclass(frozen=True)
class LossSizes(Sizes):
    d: int = 10
    n: int = 30
    steps: tuple[int, ...] = (1, 100, 900)
    noises: int = 100_000


LOSS_MOMENTS = Tier.same("merger-goldt/loss-depends-on-moments", LossSizes(), row("loss-depends-on-moments", "§1.3"))


def noise_averaged_loss(w: np.ndarray, c: np.ndarray, cov_hat: np.ndarray, s: float) -> float:
    r"""Closed form of §1.3, :math:`\operatorname{tr}[I-2\sqrt{s}W+W\hat C W^\top]+\|c\|^2` (:math:`s=1-\bar\alpha_t`).

    The trace part is the training engine's loss (:func:`numerics.linear_diffusion_torch.closed_form_loss`, float64).
    """
    d = w.shape[0]
    c_hat = (1 - s) * cov_hat + s * np.eye(d)
    as_t = torch.as_tensor
    trace_part = lt.closed_form_loss(
        as_t(w[None]), as_t(c_hat[None]), as_t(np.array([s])), as_t(np.zeros(1, dtype=np.float64))
    )
    return float(trace_part) + float(c @ c)


def loss_moments(run: RunSpec, loss: Callable[..., float] = noise_averaged_loss) -> MonteCarloAgreement:
    r"""Empirical loss averaged over ``noises`` draws per training point vs ``loss`` (spec §1.3).

    Data, :math:`W` and :math:`c` from seed 61 (:math:`\mu=\mathbf 1`, :math:`k=1`); noises from a
    separate stream. The Monte Carlo does not depend on ``loss`` and is memoised.
    """
    sz = run.sizes(LOSS_MOMENTS)

    def monte_carlo() -> tuple[np.ndarray, ...]:
        rng = run.rng(61)
        lam = power_law_spectrum(sz.d, 1.0)
        x = rng.standard_normal((sz.n, sz.d)) * np.sqrt(lam) + 1.0
        w = rng.standard_normal((sz.d, sz.d)) / np.sqrt(sz.d)
        c = 0.3 * rng.standard_normal(sz.d)
        mu_hat, cov_hat = ld.empirical_moments(x)
        noise = stream(run, 61, 1)
        sch = ld.beta_schedule(1000)
        mc, se = [], []
        for t in sz.steps:
            s = sch.one_minus_abar[t - 1]
            # One noise draw serves every training point: each point gets `noises` draws, and the
            # data average per draw is one sample of the loss (its SE is over draws).
            eps = noise.standard_normal((sz.noises, sz.d))
            loss = np.zeros(sz.noises)
            for xi in x:
                r = eps - (np.sqrt(1 - s) * (xi - mu_hat) + np.sqrt(s) * eps) @ w.T - c
                loss += np.einsum("ij,ij->i", r, r) / sz.n
            mc.append(loss.mean())
            se.append(loss.std(ddof=1) / np.sqrt(sz.noises))
        return w, c, cov_hat, np.array(mc), np.array(se)

    w, c, cov_hat, mc, se = measured(run, "merger-goldt/loss-mc", {"sizes": sz, "seed": run.seed_for(61)}, monte_carlo)
    sch = ld.beta_schedule(1000)
    closed = np.array([loss(w, c, cov_hat, sch.one_minus_abar[t - 1]) for t in sz.steps])
    return MonteCarloAgreement(
        tuple(f"t={t}" for t in sz.steps),
        mc,
        se,
        closed,
        seeds={"data": run.seed_for(61), "noise": [*run.seed_list(61), 1]},
        sizes=sz,
    )
