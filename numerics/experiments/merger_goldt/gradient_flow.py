"""Measurement of ``merger-goldt/gradient-flow-solution``: the matrix ODE and gradient descent against their closed forms (spec §1.3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy.integrate import solve_ivp

from numerics import linear_diffusion as ld
from numerics import linear_diffusion_torch as lt
from numerics.datasets import power_law_spectrum, white_samples
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.merger_goldt._shared import dense, row


@dataclass(frozen=True)
class GradientFlowSizes(Sizes):
    d: int = 20
    n: int = 10
    steps: tuple[int, ...] = (1, 10, 500)
    taus: tuple[float, ...] = (0.1, 1.0, 5.0)
    gd_lr: float = 0.05
    gd_steps: int = 1000


GRADIENT_FLOW = Tier.same(
    "merger-goldt/gradient-flow-solution", GradientFlowSizes(), row("gradient-flow-solution", "§1.3")
)


def gradient_flow_weights(cov_hat: np.ndarray, s: float, eta_tau: float) -> np.ndarray:
    """Gradient-flow :math:`W_t(\\tau)` from the per-mode closed form of the engine (η = 1)."""
    lam_hat, u = ld.eigen_modes(cov_hat)
    return dense(lam_hat, u, ld.mode_weights(lam_hat, s, train_time=eta_tau))


def gradient_descent_weights(cov_hat: np.ndarray, s: float, lr: float, n: int) -> np.ndarray:
    """:math:`W_n` after ``n`` gradient-descent steps of size ``lr`` from 0, per-mode closed form of the engine."""
    lam_hat, u = ld.eigen_modes(cov_hat)
    return dense(lam_hat, u, ld.mode_weights(lam_hat, s, lr=lr, gd_steps=n))


@dataclass(frozen=True)
class GradientFlow(Measurement):
    """Per step ``t``: the ODE solution and the expm formula at each τ, PyTorch GD, and the closed forms."""

    steps: tuple[int, ...]
    taus: tuple[float, ...]
    ode: np.ndarray  # (steps, taus, d, d)
    expm: np.ndarray  # (steps, taus, d, d)
    flow: np.ndarray  # closed form under test, (steps, taus, d, d)
    gd: np.ndarray  # (steps, d, d)
    gd_formula: np.ndarray  # closed form under test, (steps, d, d)
    stability: np.ndarray  # 2 * lr * lambda_max(C_hat_t) per step

    @property
    def ode_error(self) -> np.ndarray:
        return np.abs(self.ode - self.flow).max(axis=(2, 3))

    @property
    def expm_error(self) -> np.ndarray:
        return np.abs(self.expm - self.flow).max(axis=(2, 3))

    @property
    def gd_error(self) -> np.ndarray:
        return np.abs(self.gd - self.gd_formula).max(axis=(1, 2))


def gradient_flow(
    run: RunSpec,
    flow: Callable[..., np.ndarray] = gradient_flow_weights,
    descent: Callable[..., np.ndarray] = gradient_descent_weights,
) -> GradientFlow:
    r"""Matrix ODE :math:`\dot W=2[\sqrt s\,I-W\hat C_t]` (DOP853, rtol 1e-12) and PyTorch GD vs the closed forms.

    ``flow(cov_hat, s, eta_tau)`` and ``descent(cov_hat, s, lr, n)`` are the closed forms under
    test; the ODE, the spec's ``scipy.linalg.expm`` formula and the GD run are memoised.
    """
    sz = run.sizes(GRADIENT_FLOW)
    sch = ld.beta_schedule(1000)
    seed = run.seed_for(62)
    x = white_samples(sz.n, sz.d, seed) * np.sqrt(power_law_spectrum(sz.d, 1.0))
    _, cov_hat = ld.empirical_moments(x)
    eye = np.eye(sz.d)

    def solve() -> tuple[np.ndarray, ...]:
        ode, expm, gd, stab = [], [], [], []
        for t in sz.steps:
            s = sch.one_minus_abar[t - 1]
            c = (1 - s) * cov_hat + s * eye

            def rhs(_tau, y, c=c, s=s):
                return (2 * (np.sqrt(s) * eye - y.reshape(sz.d, sz.d) @ c)).ravel()

            sol = solve_ivp(
                rhs, (0, max(sz.taus)), np.zeros(sz.d**2), method="DOP853", rtol=1e-12, atol=1e-14, t_eval=sz.taus
            )
            ode.append(sol.y.T.reshape(len(sz.taus), sz.d, sz.d))
            expm.append([np.sqrt(s) * np.linalg.solve(c, eye - sla.expm(-2 * tau * c)) for tau in sz.taus])
            gd.append(lt.gradient_descent_closed_form(c, s, 0.0, sz.gd_lr, steps=sz.gd_steps).weights[0])
            stab.append(2 * sz.gd_lr * np.linalg.eigvalsh(c)[-1])
        return np.array(ode), np.array(expm), np.array(gd), np.array(stab)

    ode, expm, gd, stab = measured(run, "merger-goldt/gradient-flow-ode", {"sizes": sz, "seed": seed}, solve)
    steps_s = [sch.one_minus_abar[t - 1] for t in sz.steps]
    flows = np.array([[flow(cov_hat, s, tau) for tau in sz.taus] for s in steps_s])
    formula = np.array([descent(cov_hat, s, sz.gd_lr, sz.gd_steps) for s in steps_s])
    return GradientFlow(
        sz.steps,
        sz.taus,
        ode,
        expm,
        flows,
        gd,
        formula,
        stab,
        seeds={"data": seed},
        sizes=sz,
        settings={"ode": "DOP853", "rtol": 1e-12, "atol": 1e-14},
    )
