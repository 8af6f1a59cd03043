"""Measurement of ``merger-goldt/test-train-error-formulas``: Monte Carlo test and train errors against their closed forms (spec §1.4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numerics import linear_diffusion as ld
from numerics.datasets import power_law_spectrum
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.merger_goldt._shared import MonteCarloAgreement, row, stream


@dataclass(frozen=True)
class ErrorFormulaSizes(Sizes):
    d: int = 50
    k: float = 1.0
    ns: tuple[int, ...] = (30, 200)
    ridges: tuple[float, ...] = (0.0, 0.1)
    steps: tuple[int, ...] = (1, 10, 100)
    test_samples: int = 200_000
    train_noises: int = 2000


ERROR_FORMULAS = Tier.same(
    "merger-goldt/test-train-error-formulas", ErrorFormulaSizes(), row("test-train-error-formulas", "§1.4")
)


@dataclass(frozen=True)
class ErrorFormulas(Measurement):
    """Monte Carlo test and train errors against the closed forms, cases ``(N, ridge, t)``."""

    cases: tuple[tuple[int, float, int], ...]
    test: MonteCarloAgreement
    train: MonteCarloAgreement


def error_formulas(
    run: RunSpec,
    test_error: Callable[..., np.ndarray] = ld.denoising_error,
    train_error: Callable[..., np.ndarray] = ld.train_error,
) -> ErrorFormulas:
    r"""Test error on fresh samples and train error on the training set (fresh noises) vs the closed forms of §1.4.

    :math:`\mu=\mathbf 1` exercises the mean term. The Monte Carlo runs in the eigenbasis of
    :math:`\hat\Sigma`, where :math:`W` is diagonal: the squared norm is rotation invariant and an
    isotropic noise is isotropic in any basis, so the noise is drawn there directly; the same draws
    serve every ``(ridge, t)`` of one training set. Memoised; ``test_error(w, u, lam, s,
    mean_offset)`` and ``train_error(w, lam_hat, s)`` are the closed forms under test.
    """
    sz = run.sizes(ERROR_FORMULAS)
    lam = power_law_spectrum(sz.d, sz.k)
    mu = np.ones(sz.d)
    sch = ld.beta_schedule(1000)
    cases = tuple((n, r, t) for n in sz.ns for r in sz.ridges for t in sz.steps)
    data = run.rng(64)
    sets = [data.standard_normal((n, sz.d)) * np.sqrt(lam) + mu for n in sz.ns]
    moments = []
    for x in sets:
        mu_hat, cov_hat = ld.empirical_moments(x)
        lam_hat, u = ld.eigen_modes(cov_hat, rel_cut=0.0)
        moments.append((mu_hat, np.clip(lam_hat, 0.0, None), u))

    def monte_carlo() -> tuple[np.ndarray, ...]:
        noise = stream(run, 64, 1)
        out: dict[str, list[float]] = {key: [] for key in ("test", "test_se", "train", "train_se")}
        for x, (mu_hat, lam_hat, u) in zip(sets, moments):
            y_test = (noise.standard_normal((sz.test_samples, sz.d)) * np.sqrt(lam) + mu - mu_hat) @ u
            e_test = noise.standard_normal((sz.test_samples, sz.d))
            y_train = (x - mu_hat) @ u
            # One noise draw serves every training point (the data average per draw is one sample).
            e_train = noise.standard_normal((sz.train_noises, sz.d))
            for ridge in sz.ridges:
                for t in sz.steps:
                    s = sch.one_minus_abar[t - 1]
                    w = ld.mode_weights(lam_hat, s, ridge)
                    a, b = 1 - np.sqrt(s) * w, np.sqrt(1 - s) * w  # residual e - W x_t = a e - b y per mode
                    r = a * e_test - b * y_test
                    v = np.einsum("ij,ij->i", r, r) / sz.d
                    out["test"].append(v.mean())
                    out["test_se"].append(v.std(ddof=1) / np.sqrt(v.size))
                    # ||a e_m - b y_i||^2 for every (draw m, point i), expanded (exact per pair).
                    by = b * y_train
                    sq = ((e_train**2) @ (a * a))[:, None] - 2 * (e_train * a) @ by.T + np.sum(by * by, axis=1)
                    v = sq.mean(axis=1) / sz.d
                    out["train"].append(v.mean())
                    out["train_se"].append(v.std(ddof=1) / np.sqrt(v.size))
        return tuple(np.array(out[key]) for key in ("test", "test_se", "train", "train_se"))

    mc_test, se_test, mc_train, se_train = measured(
        run, "merger-goldt/error-mc", {"sizes": sz, "seed": run.seed_for(64)}, monte_carlo
    )
    closed_test, closed_train = [], []
    for mu_hat, lam_hat, u in moments:
        for ridge in sz.ridges:
            for t in sz.steps:
                s = sch.one_minus_abar[t - 1]
                w = ld.mode_weights(lam_hat, s, ridge)
                closed_test.append(float(test_error(w, u, lam, s, mean_offset=mu - mu_hat)))
                closed_train.append(float(train_error(w, lam_hat, s)))
    labels = tuple(f"N={n} ridge={r} t={t}" for n, r, t in cases)
    return ErrorFormulas(
        cases,
        MonteCarloAgreement(labels, mc_test, se_test, np.array(closed_test)),
        MonteCarloAgreement(labels, mc_train, se_train, np.array(closed_train)),
        seeds={"data": run.seed_for(64), "noise": [*run.seed_list(64), 1]},
        sizes=sz,
    )
