"""Meta flow_matching: its schedulers as memgen paths (closed or tabulated), memgen's paths as schedulers,
and memgen's exact field sampled by its ODESolver (skipped where flow_matching is not installed)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

import memgen
from numerics.empirical_field import integrate_flow, optimal_velocity
from numerics.paths import as_path
from numerics.tabulated_path import TabulatedPath

fm_scheduler = pytest.importorskip("flow_matching.path.scheduler")
fm_path = pytest.importorskip("flow_matching.path")
fm_solver = pytest.importorskip("flow_matching.solver")

AGREE = 1e-12  # float64 evaluations of the same closed forms: a few roundings each
GRID = torch.linspace(0.01, 0.99, 50, dtype=torch.float64)
F64 = torch.float64


def _sin2(t):
    return torch.sin(torch.pi / 2 * t) ** 2


class SmoothstepScheduler(fm_scheduler.Scheduler):
    """A scheduler without a closed form in memgen: alpha = 3t^2 - 2t^3, sigma = 1 - alpha^2 (0 at t = 1)."""

    def __init__(self, wrong_derivative: bool = False, rising_sigma: bool = False) -> None:
        self.wrong_derivative, self.rising_sigma = wrong_derivative, rising_sigma

    def __call__(self, t):
        a, da = 3 * t**2 - 2 * t**3, 6 * t - 6 * t**2
        s, ds = 1 - a**2, -2 * a * da
        if self.wrong_derivative:
            da = da * 1.01  # a one-per-cent error in d_alpha_t
        if self.rising_sigma:
            s, ds = s + 2 * t**3, ds + 6 * t**2
        return fm_scheduler.SchedulerOutput(alpha_t=a, sigma_t=s, d_alpha_t=da, d_sigma_t=ds)

    def snr_inverse(self, snr):
        raise NotImplementedError


def _gap(path, scheduler, t=GRID) -> float:
    out = scheduler(t)
    worst = 0.0
    for name in ("alpha", "sigma", "d_alpha", "d_sigma"):
        ours, theirs = getattr(path, name)(t.numpy()), getattr(out, f"{name}_t").numpy()
        worst = max(worst, float(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))))
    return worst


@pytest.mark.parametrize(
    "make",
    [
        lambda: fm_scheduler.CondOTScheduler(),
        lambda: fm_scheduler.CosineScheduler(),
        lambda: fm_scheduler.VPScheduler(0.1, 20.0),
        lambda: fm_scheduler.LinearVPScheduler(),
        lambda: fm_scheduler.PolynomialConvexScheduler(2),
        lambda: fm_path.AffineProbPath(fm_scheduler.CosineScheduler()),
        lambda: fm_path.CondOTProbPath(),
    ],
    ids=["condot", "cosine", "vp", "linear-vp", "polynomial", "affine-prob-path", "condot-prob-path"],
)
def test_library_schedulers_are_closed_form_paths(make):
    spec = make()
    scheduler = getattr(spec, "scheduler", spec)
    path = memgen.path(spec)
    assert not isinstance(path, TabulatedPath)
    assert _gap(path, scheduler) <= AGREE
    # Negative control: the same comparison against another scheduler fails.
    other = fm_scheduler.PolynomialConvexScheduler(3)
    assert _gap(path, other) > 1e-3


def test_a_scheduler_without_closed_form_is_tabulated():
    path = memgen.path(SmoothstepScheduler())
    assert isinstance(path, TabulatedPath)
    # Off the nodes: cubic Hermite error O(h^4) in the values, O(h^3) in the derivatives (h = 2^-12).
    t = torch.tensor(np.random.default_rng(0).uniform(0, 1, 200))
    assert path.max_error < 1e-9
    assert _gap(path, SmoothstepScheduler(), t) < 1e-9
    data = np.random.default_rng(1).standard_normal((20, 2))
    x = np.random.default_rng(2).standard_normal((8, 2))
    got = memgen.ExactVelocity(data, path)(torch.tensor(x), torch.tensor(0.6, dtype=F64)).numpy()
    np.testing.assert_allclose(got, optimal_velocity(x, 0.6, data, path), rtol=0, atol=1e-12)
    with pytest.raises(memgen.PathError, match="log-time integrator"):
        integrate_flow(x, data, path)
    # The engines' own path argument points a scheduler without closed form to the tabulation.
    with pytest.raises(memgen.PathError, match=r"memgen.path\(scheduler\)"):
        optimal_velocity(x, 0.6, data, SmoothstepScheduler())


@pytest.mark.parametrize(
    ("scheduler", "message"),
    [
        (SmoothstepScheduler(wrong_derivative=True), "not the derivative of alpha_t"),
        (SmoothstepScheduler(rising_sigma=True), "sigma_t must decrease"),
    ],
)
def test_invalid_tabulated_schedulers_are_refused(scheduler, message):
    with pytest.raises(memgen.PathError, match=message):
        memgen.path(scheduler)


@pytest.mark.parametrize("spec", ["ot(0.01)", "cosine", "vp", "alpha=t**2; sigma=1-t"])
def test_to_scheduler_round_trip(spec):
    path = memgen.path(spec)
    scheduler = memgen.to_scheduler(path)
    assert isinstance(scheduler, fm_scheduler.Scheduler)
    assert memgen.path(scheduler) is path
    assert as_path(scheduler) is path  # every engine takes it as its path
    assert _gap(path, scheduler) == 0.0
    assert memgen.path(pickle.loads(pickle.dumps(scheduler))).record() == path.record()
    # flow_matching trains on memgen's path: x_t and its velocity are memgen's.
    gen = torch.Generator().manual_seed(0)
    x0, x1 = torch.randn(16, 3, generator=gen, dtype=F64), torch.randn(16, 3, generator=gen, dtype=F64)
    t = torch.rand(16, generator=gen, dtype=F64) * 0.98 + 0.01
    sample = fm_path.AffineProbPath(scheduler).sample(x_0=x0, x_1=x1, t=t)
    torch.testing.assert_close(sample.x_t, path.sample(x0, x1, t), rtol=0, atol=1e-15)
    torch.testing.assert_close(sample.dx_t, path.target(x0, x1, t), rtol=0, atol=1e-14)
    # snr_inverse inverts alpha_t / sigma_t (bisection to the float64 spacing of t).
    snr = path.alpha(t) / path.sigma(t)
    torch.testing.assert_close(scheduler.snr_inverse(snr), t, rtol=0, atol=1e-13)


def test_to_scheduler_refuses_what_is_not_a_path():
    with pytest.raises(TypeError, match="memgen path"):
        memgen.to_scheduler("cosine")


def test_ode_solver_samples_the_exact_field_onto_training_points():
    # On a path with sigma_1 = 0 the field is singular at t = 1 (v = (x_bar - x)/(1 - t)), where a
    # solver in t cannot step; with sigma_min = 1e-3 it is bounded and the flow ends on the mixture
    # (1/N) sum_i N(x_i, sigma_min^2 I) exactly, so flow_matching's solver can integrate it to t = 1.
    # A fixed-step method on a grid that ends at 1: adaptive ones (dopri5) evaluate past t = 1 and
    # interpolate back, which the field refuses. The grid is geometric in 1 - t, where the field's
    # stiffness 1/sigma_t (up to 1/sigma_min) lives.
    sigma_min, n, d, m = 1e-3, 6, 2, 12
    data = 3 * np.random.default_rng(4).standard_normal((n, d))
    x0 = np.random.default_rng(5).standard_normal((m, d))
    field = memgen.ExactVelocity(data, f"ot({sigma_min})")
    grid = torch.cat([1 - torch.logspace(0, -6, 300, dtype=F64), torch.ones(1, dtype=F64)])
    end = fm_solver.ODESolver(velocity_model=field).sample(
        torch.tensor(x0), step_size=None, method="rk4", time_grid=grid
    )
    end = end.numpy()
    # The same trajectories by memgen's own log-time integrator (rtol 1e-10). Each step of the grid
    # has h * |lambda| <= 10^(6/299) - 1 = 0.047 (lambda = 1/sigma_t the stiffness), so RK4's local
    # error is about 0.047^5 / 120 = 2e-9 relative, and 300 steps add at most 6e-7.
    ref = integrate_flow(x0, data, f"ot({sigma_min})")
    assert np.abs(end - ref).max() < 1e-6
    # Each sample sits within a few sigma_min of its training point (chi with 2 degrees of freedom:
    # P(|z| > 6) = e^-18 per sample).
    nearest = np.sqrt(((end[:, None, :] - data[None, :, :]) ** 2).sum(-1)).min(axis=1)
    assert nearest.max() < 6 * sigma_min
    # Negative control: the prior draws themselves are far from the training points.
    assert np.sqrt(((x0[:, None, :] - data[None, :, :]) ** 2).sum(-1)).min(axis=1).max() > 100 * sigma_min
    # An adaptive solver's step past t = 1 is refused with the way out.
    with pytest.raises(ValueError, match="fixed-step"):
        fm_solver.ODESolver(velocity_model=field).sample(
            torch.tensor(x0), step_size=None, method="dopri5", time_grid=torch.tensor([0.0, 1.0], dtype=F64)
        )


def test_torchdiffeq_calls_forward_t_x():
    # torchdiffeq (flow_matching's solver backend) calls func(t, y) with a 0-dim t: the torchdyn convention.
    odeint = pytest.importorskip("torchdiffeq").odeint
    data = np.random.default_rng(6).standard_normal((5, 2))
    x0 = np.random.default_rng(7).standard_normal((4, 2))
    field = memgen.ExactVelocity(data, "cosine")
    path = odeint(field, torch.tensor(x0), torch.tensor([0.0, 0.9], dtype=F64), method="dopri5", rtol=1e-10, atol=1e-12)
    ref = integrate_flow(x0, data, "cosine", t_end=0.9)
    np.testing.assert_allclose(path[-1].numpy(), ref, rtol=0, atol=1e-7)
