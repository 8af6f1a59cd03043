"""Reliability of the linear-diffusion engines: KL never NaN, training controls refused before any work."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import numerics.linear_diffusion as ld
import numerics.linear_diffusion_torch as lt
from numerics.training import train

SCH = ld.beta_schedule(50)


def test_kl_with_subnormal_variances_is_inf_or_exact_never_nan():
    # Before: 0 * inf = NaN in the trace (U has zeros), and 0/0 for d = 0.
    eye = np.eye(2)
    assert ld.kl_divergence(np.array([1e-320, 1.0]), eye, np.ones(2), direction="reverse") == np.inf
    assert ld.kl_divergence(np.ones(2), eye, np.array([1e-320, 1.0])) == np.inf
    # a subnormal variance whose ratio to the target still fits in float64: the exact value
    lam = np.array([1e-300, 1.0])
    kl = ld.kl_divergence(np.array([1e-320, 1.0]), eye, lam, direction="reverse", norm="total")
    f0 = np.float64(1e-320)  # the subnormal actually stored
    expected = 0.5 * (1e-300 / f0 + 1.0 - 2.0 - (np.log(1e-300) - np.log(f0)))
    assert kl == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="d >= 1"):
        ld.kl_divergence(np.zeros(0), np.zeros((0, 0)), np.zeros(0))


def test_kl_of_ordinary_input_is_unchanged_and_zero_iff_equal():
    lam = ld.power_law_spectrum(5, 1.0)
    assert ld.kl_divergence(lam, np.eye(5), lam) == 0.0
    assert ld.kl_divergence(lam * 1.1, np.eye(5), lam) > 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": -1.0, "gd_steps": 3}, "lr"),
        ({"lr": np.nan, "train_time": 1.0}, "lr"),
        ({"gd_steps": -1}, "gd_steps"),
        ({"gd_steps": 2.5}, "gd_steps"),
        ({"train_time": -1.0}, "train_time"),
        ({"ridge": -0.1}, "ridge"),
        ({"ridge": np.inf}, "ridge"),
        ({"one_minus_abar": -0.5}, "one_minus_abar"),
        ({"one_minus_abar": 0.0}, "one_minus_abar"),
        ({"one_minus_abar": 1.5}, "one_minus_abar"),
        ({"lam_hat": -np.ones(2)}, "lam_hat"),
        ({"lam_hat": np.array([1.0, np.nan])}, "NaN"),
    ],
)
def test_mode_weight_controls(kwargs, match):
    # Before: lr = -1 gave weights -18.4, gd_steps = 2.5 NaN, s = -0.5 NaN, lam = -1 inf.
    args = {"lam_hat": np.ones(2), "one_minus_abar": 0.5} | kwargs
    with pytest.raises(ValueError, match=match):
        ld.mode_weights(**args)
    if "lam_hat" not in kwargs and "one_minus_abar" not in kwargs and "gd_steps" not in kwargs:
        rest = {k: v for k, v in kwargs.items() if k in ("lr", "train_time", "ridge")}
        with pytest.raises(ValueError, match=match):
            ld.mode_recursion(np.ones(2), SCH, **rest)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": -1.0}, "lr"),
        ({"lr": np.nan}, "lr"),
        ({"steps": 2.5}, "steps"),
        ({"steps": -1}, "steps"),
        ({"s": -0.1}, "s"),
        ({"ridge": -1.0}, "ridge"),
        ({"momentum": 1.0}, "momentum"),
        ({"steps": None, "grad_tol": np.nan}, "grad_tol"),
        ({"max_steps": 0, "steps": None, "grad_tol": 1e-6}, "max_steps"),
        ({"c_hat": np.eye(2) * np.nan}, "NaN"),
        ({"lr": np.ones(3)}, "broadcast"),
    ],
)
def test_gradient_descent_controls(kwargs, match):
    # Before: lr = -1 returned weights of -4e4, steps = 2.5 a TypeError from range.
    args = {"c_hat": np.eye(2), "s": 0.5, "ridge": 0.0, "lr": 0.1, "steps": 10} | kwargs
    with pytest.raises(ValueError, match=match):
        lt.gradient_descent_closed_form(**args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": -1.0}, "lr"),
        ({"lr": np.nan}, "lr"),
        ({"steps": -1}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"ridge": -1.0}, "ridge"),
        ({"t": 0}, "step t"),
        ({"t": 51}, "step t"),
        ({"noises_per_step": 0}, "noises_per_step"),
        ({"ema": 1.0}, "ema"),
    ],
)
def test_train_linear_denoiser_controls(kwargs, match):
    args = {"x": np.ones((4, 2)), "schedule": SCH, "t": 5, "steps": 3, "device": "cpu"} | kwargs
    with pytest.raises(ValueError, match=match):
        lt.train_linear_denoiser(**args)


def test_train_controls_and_complex_training_sets():
    model = torch.nn.Linear(2, 2)
    loss = lambda m, step, gen: m.weight.sum()  # noqa: E731
    for kwargs in ({"lr": 0.0}, {"lr": np.inf}, {"clip": -1.0}, {"weight_decay": np.nan}, {"ema": -0.1}):
        with pytest.raises(ValueError):
            train(model, loss, steps=1, device="cpu", **kwargs)
    with pytest.raises(TypeError, match="complex"):
        lt.ddpm_objective(np.ones((4, 2)) * 1j, SCH)
    with pytest.raises(ValueError, match="batch"):
        lt.ddpm_objective(np.ones((4, 2)), SCH, batch=0)
    with pytest.raises(TypeError, match="complex"):
        ld.eigen_modes(np.array([[2.0, 1j], [-1j, 2.0]]))
    with pytest.raises(TypeError, match="complex"):
        ld.empirical_moments(np.ones((3, 2)) + 0j)


def test_schedule_and_sampler_controls(monkeypatch):
    for T in (0, 2.5, np.nan):
        with pytest.raises(ValueError, match="T"):
            ld.beta_schedule(T)
    with pytest.raises(ValueError, match="beta_min"):
        ld.beta_schedule(10, beta_min=np.nan)
    with pytest.raises(ValueError, match="n_samples"):
        ld.ddpm_sample(lambda u, t: u, SCH, 0, 2, 0)
    with pytest.raises(ValueError, match="N"):
        ld.effective_regularisation(np.ones(2), 0, 1.0)
    with pytest.raises(ValueError, match="z"):
        ld.effective_regularisation(np.ones(2), 5, np.nan)
    monkeypatch.setenv("MEMGEN_MAX_DENSE_GB", "1e-3")
    with pytest.raises(MemoryError, match="Wishart"):
        ld.wishart_white_covariance(100, 200, 100, 0)
