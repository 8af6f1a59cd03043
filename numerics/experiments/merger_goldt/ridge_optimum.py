"""Measurement of ``merger-goldt/ridge-optimum``: gradient descent and Adam against the closed-form ridge optimum (spec §1.3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numerics import linear_diffusion as ld
from numerics import linear_diffusion_torch as lt
from numerics.datasets import power_law_spectrum, white_samples
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.merger_goldt._shared import row


@dataclass(frozen=True)
class RidgeOptimumSizes(Sizes):
    d: int = 20
    ns: tuple[int, ...] = (10, 40)
    ridges: tuple[float, ...] = (0.0, 0.1)
    steps: tuple[int, ...] = (10, 500)
    grad_tol: float = 1e-12
    plain_gd: bool = True
    adam_steps: int = 20_000
    adam_lr: float = 1e-3
    adam_noises: int = 4096
    adam_ema: float | None = None


RIDGE_OPTIMUM = Tier(
    "merger-goldt/ridge-optimum",
    fast=RidgeOptimumSizes(plain_gd=False, adam_steps=2000, adam_lr=3e-3, adam_noises=1024, adam_ema=0.99),
    spec=RidgeOptimumSizes(),
    section=row("ridge-optimum", "§1.3"),
)


@dataclass(frozen=True)
class RidgeOptimum(Measurement):
    """Gradient-descent and Adam minimisers against the closed-form optimum.

    ``cases`` lists ``(N, ridge, t)``; ``w_gd`` (and ``w_star``) have one matrix per case. The Adam
    run is the spec's case ``ridge = 0.1``, ``t = 500``, largest ``N`` (the last case).
    """

    cases: tuple[tuple[int, float, int], ...]
    w_gd: np.ndarray
    grad_norm: np.ndarray
    gd_method: str
    w_star: np.ndarray
    w_adam: np.ndarray

    @property
    def gd_error(self) -> np.ndarray:
        """Max absolute entry of :math:`W_{\\rm GD}-W^\\star` per case."""
        return np.abs(self.w_gd - self.w_star).max(axis=(1, 2))

    @property
    def adam_error(self) -> float:
        """Relative Frobenius error of Adam against the closed form (last case)."""
        return float(np.linalg.norm(self.w_adam - self.w_star[-1]) / np.linalg.norm(self.w_star[-1]))


def ridge_optimum(run: RunSpec, w_star: Callable[..., np.ndarray] = ld.linear_denoiser_weights) -> RidgeOptimum:
    r"""Minimise :math:`L_t+\lambda\|W\|_F^2` by full-batch GD (float64) and Adam (sampled loss); compare with ``w_star``.

    ``w_star(cov_hat, schedule, t, ridge)`` is the closed form under test (default: the engine's
    :math:`U\mathrm{diag}(w^\star(\hat\lambda))U^\top`). GD runs until the gradient norm is below
    ``grad_tol``: plain GD with step :math:`2/(L+m)` at spec size; the fast tier first runs
    Polyak's heavy ball (:math:`O(\sqrt\kappa)` steps) and polishes with plain GD.
    """
    sz = run.sizes(RIDGE_OPTIMUM)
    sch = ld.beta_schedule(1000)
    lam = power_law_spectrum(sz.d, 1.0)
    seed = run.seed_for(62)
    sets = {n: white_samples(n, sz.d, [*np.atleast_1d(seed), n]) * np.sqrt(lam) for n in sz.ns}
    covs = {n: ld.empirical_moments(x)[1] for n, x in sets.items()}
    cases = tuple((n, r, t) for n in sz.ns for r in sz.ridges for t in sz.steps)

    def minimise() -> tuple[np.ndarray, np.ndarray, str, np.ndarray]:
        s = np.array([sch.one_minus_abar[t - 1] for _, _, t in cases])
        r = np.array([rg for _, rg, _ in cases])
        c_hat = np.array([(1 - si) * covs[n] + si * np.eye(sz.d) for si, (n, _, _) in zip(s, cases)])
        ev = np.linalg.eigvalsh(c_hat)
        h_max, h_min = 2 * (ev[:, -1] + r), 2 * (ev[:, 0] + r)
        init, method = None, "plain gradient descent, step 2/(L+m)"
        if not sz.plain_gd:
            sl, sm = np.sqrt(h_max), np.sqrt(h_min)
            hb = lt.gradient_descent_closed_form(
                c_hat,
                s,
                r,
                4 / (sl + sm) ** 2,
                grad_tol=10 * sz.grad_tol,
                max_steps=20_000,
                momentum=((sl - sm) / (sl + sm)) ** 2,
            )
            # Momentum amplifies rounding near the float64 floor: plain GD polishes below grad_tol.
            init, method = hb.weights, f"heavy-ball GD ({hb.steps} steps), then plain GD, step 2/(L+m)"
        gd = lt.gradient_descent_closed_form(c_hat, s, r, 2 / (h_max + h_min), grad_tol=sz.grad_tol, init=init)
        n, ridge, t = cases[-1]
        w_adam, _ = lt.train_linear_denoiser(
            sets[n],
            sch,
            t,
            ridge,
            steps=sz.adam_steps,
            lr=sz.adam_lr,
            noises_per_step=sz.adam_noises,
            seed=seed,
            ema=sz.adam_ema,
        )
        return gd.weights, gd.grad_norm, method, w_adam

    w_gd, grad_norm, method, w_adam = measured(
        run, "merger-goldt/ridge-minimisers", {"sizes": sz, "seed": seed}, minimise
    )
    star = np.array([w_star(covs[n], sch, t, ridge) for n, ridge, t in cases])
    return RidgeOptimum(cases, w_gd, grad_norm, method, star, w_adam, seeds={"training sets and Adam": seed}, sizes=sz)
