"""Tests of numerics.mfm_training: data, coupled-CFM objective, training driver, evaluation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from numerics.couplings import is_permutation
from numerics.mfm_training import (
    CoupledBatchSampler,
    FlowTarget,
    FlowTrainingConfig,
    blockwise_pair,
    coupled_cfm_loss_fn,
    eight_gaussians_means,
    euler_consistency,
    learned_path_metrics,
    minibatch_gradient_variance,
    mixture_means,
    sample_eight_gaussians,
    sample_gaussian_mixture,
    train_flow,
    trained_flow,
    variance_proxy,
)

TINY = dict(width=8, depth=2, steps=30, batch=16, k=16)


class ConstantField(nn.Module):
    """v(x, t) = c (straight paths at constant speed)."""

    def __init__(self, c: list[float]) -> None:
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c, dtype=torch.float64))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.c.to(x.dtype).expand_as(x)


class DecayField(nn.Module):
    """v(x, t) = -x, flow x(t) = x0 exp(-t)."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1, dtype=torch.float64))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return -x + 0.0 * self.dummy.to(x.dtype)


class ZeroField(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.0 * x + 0.0 * self.dummy


def test_eight_gaussians_moments():
    m = eight_gaussians_means()
    assert m.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 4.0, rtol=1e-15)
    x = sample_eight_gaussians(200_000, np.random.default_rng(0))
    r2 = np.sum(x**2, axis=1)
    # E|x|^2 = 16 + 2 * 0.4^2; 4 SE of the MC mean
    assert abs(r2.mean() - (16 + 2 * 0.16)) <= 4 * r2.std() / math.sqrt(r2.size)
    assert np.all(np.abs(x.mean(0)) <= 4 * x.std(0) / math.sqrt(len(x)))


def test_mixture_means_seeded_and_scaled():
    a, b = mixture_means(32), mixture_means(32)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (8, 32)
    # E|m|^2 = 16 in every dimension; 8 means of chi^2_32 * 16/32: loose 5-sigma band
    assert abs(np.mean(np.sum(a**2, 1)) - 16) < 5 * 16 * math.sqrt(2 / 32) / math.sqrt(8)


def test_independent_cost_matches_monte_carlo():
    for target in (FlowTarget(), FlowTarget("mixture", 8)):
        rng = np.random.default_rng(1)
        n = 100_000
        d2 = np.sum((target.sample(n, rng) - rng.standard_normal((n, target.dim))) ** 2, axis=1)
        assert abs(d2.mean() - target.independent_cost()) <= 4 * d2.std() / math.sqrt(n)


@pytest.mark.parametrize(
    "kwargs",
    [dict(name="8gaussians", dim=3), dict(name="moons", dim=2), dict(name="mixture", dim=0)],
)
def test_flow_target_rejects_bad_input(kwargs):
    with pytest.raises(ValueError):
        FlowTarget(**kwargs)


def test_samplers_reject_bad_input():
    with pytest.raises(ValueError, match="std"):
        sample_gaussian_mixture(3, np.zeros((2, 2)), float("nan"), np.random.default_rng(0))
    with pytest.raises(ValueError, match="means"):
        sample_gaussian_mixture(3, np.zeros(2), 1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="number of samples"):
        sample_eight_gaussians(-1, np.random.default_rng(0))


def test_blockwise_pair_solves_each_block():
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((64, 2))
    x1 = sample_eight_gaussians(64, rng)
    a, b = blockwise_pair(x0, x1, "batchot", 16, rng)
    for s in range(0, 64, 16):
        # each block is a permutation of its own points, and no worse than the identity pairing
        ia = [int(np.flatnonzero(np.all(x0 == r, axis=1))[0]) for r in a[s : s + 16]]
        ib = [int(np.flatnonzero(np.all(x1 == r, axis=1))[0]) for r in b[s : s + 16]]
        assert sorted(ia) == list(range(s, s + 16)) and sorted(ib) == list(range(s, s + 16))
        assert np.sum((a[s : s + 16] - b[s : s + 16]) ** 2) <= np.sum((x0[s : s + 16] - x1[s : s + 16]) ** 2)
    a1, b1 = blockwise_pair(x0, x1, "batchot", 1, rng)
    np.testing.assert_array_equal(b1, x1)


def test_blockwise_pair_rejects_bad_input():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 2))
    with pytest.raises(ValueError, match="divisor"):
        blockwise_pair(x, x, "batchot", 5, rng)
    with pytest.raises(ValueError, match="unknown coupling"):
        blockwise_pair(x, x, "sinkhorn-ish", 4, rng)
    with pytest.raises(ValueError, match="shape"):
        blockwise_pair(x, x[:6], "batchot", 6, rng)


def test_config_validation_and_canonical_names():
    with pytest.raises(ValueError, match="divide"):
        FlowTrainingConfig(k=48, batch=64)
    with pytest.raises(ValueError, match="unknown coupling"):
        FlowTrainingConfig(coupling="heuristic")
    with pytest.raises(ValueError, match="sigma_min"):
        FlowTrainingConfig(sigma_min=1.0)
    assert (
        FlowTrainingConfig(coupling="batchot", k=1).canonical()
        == FlowTrainingConfig(coupling="condot", k=64).canonical()
    )
    assert FlowTrainingConfig().checkpoint_steps()[:3] == [0, 500, 1000]


def test_sampler_is_deterministic_and_pairs_are_permutations():
    cfg = FlowTrainingConfig(coupling="stable", k=16, batch=32)
    a = CoupledBatchSampler(cfg).draw()
    b = CoupledBatchSampler(cfg).draw()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # the paired x1 are the same multiset as a fresh independent draw of the same stream
    raw = CoupledBatchSampler(FlowTrainingConfig(coupling="condot", k=1, batch=32)).draw()[1]
    np.testing.assert_array_equal(np.sort(raw[:, 0]), np.sort(a[1][:, 0]))
    for s in (0, 16):  # every data point of a block used exactly once (Stable is a permutation)
        j = [int(np.flatnonzero(raw[:, 0] == v)[0]) - s for v in a[1][s : s + 16, 0]]
        assert is_permutation(np.asarray(j))


def test_coupled_cfm_loss_equals_direct_formula():
    cfg = FlowTrainingConfig(coupling="batchot", k=8, batch=16, sigma_min=1e-4)
    model = ZeroField()
    gen = torch.Generator().manual_seed(3)
    loss = coupled_cfm_loss_fn(cfg)(model, 1, gen)
    x0, x1 = CoupledBatchSampler(cfg).draw()
    target = x1 - (1 - 1e-4) * x0
    assert abs(loss.item() - np.mean(np.sum(target**2, 1))) < 1e-5 * loss.item()


def test_train_flow_is_deterministic_with_checkpoints():
    cfg = FlowTrainingConfig(coupling="batchot", n_checkpoints=3, **TINY)
    r1, r2 = train_flow(cfg), train_flow(cfg)
    np.testing.assert_array_equal(r1.losses, r2.losses)
    assert sorted(r1.checkpoints) == [0, 10, 20, 30]
    assert trained_flow(cfg) is trained_flow(cfg)


def test_variance_proxy_of_zero_field_is_independent_cost():
    # v = 0: V = E|x1 - x0|^2 = c1 under independent pairs (closed form of FlowTarget)
    cfg = FlowTrainingConfig(coupling="condot", k=1, batch=256)
    est = variance_proxy(ZeroField(), cfg, n_pairs=50_000, seed=5)
    assert abs(est.mean - cfg.flow_target.independent_cost()) <= 4 * est.se
    # BatchOT pairs are closer: strictly smaller mean squared displacement
    est_ot = variance_proxy(ZeroField(), FlowTrainingConfig(coupling="batchot", k=64, batch=256), n_pairs=5120)
    assert est_ot.mean < est.mean - 4 * est.se


def test_gradient_variance_deterministic_and_reacts_to_coupling():
    cfg = FlowTrainingConfig(coupling="condot", k=1, batch=64, width=8, depth=2)
    from numerics.mfm_training import init_velocity_model

    m = init_velocity_model(cfg)
    g1 = minibatch_gradient_variance(m, cfg, n_batches=10, seed=1)
    assert g1 == minibatch_gradient_variance(m, cfg, n_batches=10, seed=1)
    g_ot = minibatch_gradient_variance(
        m, FlowTrainingConfig(coupling="batchot", k=64, batch=64, width=8, depth=2), n_batches=10, seed=1
    )
    assert 0 < g_ot and 0 < g1 and math.isfinite(g1)
    with pytest.raises(ValueError):
        minibatch_gradient_variance(m, cfg, n_batches=1)


def test_path_metrics_constant_field_is_straight():
    x0 = np.random.default_rng(0).standard_normal((100, 2))
    pm = learned_path_metrics(ConstantField([1.0, -2.0]), x0, rk4_steps=10)
    assert abs(pm.kinetic_energy - 5.0) < 1e-12 and abs(pm.transport_cost - 5.0) < 1e-12
    assert abs(pm.straightness) < 1e-12
    kap = euler_consistency(ConstantField([1.0, -2.0]), x0, pm.endpoint, (1, 2))
    assert all(v[0] < 1e-12 for v in kap.values())


def test_path_metrics_decay_field_closed_form():
    # v = -x: psi_t = x0 e^{-t}; KE = E|x0|^2 (1 - e^{-2})/2, C = E|x0|^2 (1 - e^{-1})^2
    x0 = np.random.default_rng(0).standard_normal((500, 3))
    r2 = np.mean(np.sum(x0**2, 1))
    pm = learned_path_metrics(DecayField(), x0, rk4_steps=200)
    ke, c = r2 * (1 - math.exp(-2)) / 2, r2 * (1 - math.exp(-1)) ** 2
    assert abs(pm.kinetic_energy - ke) < 1e-9 * ke
    assert abs(pm.transport_cost - c) < 1e-9 * c
    # S = KE - C (Eq. 19) to quadrature accuracy
    assert abs(pm.straightness - (ke - c)) < 1e-8 * ke
    kap = euler_consistency(DecayField(), x0, pm.endpoint, (1, 4))
    # one Euler step maps x0 to 0: distance |x0| e^{-1}
    assert abs(kap[1][0] - math.exp(-1) * np.mean(np.linalg.norm(x0, axis=1))) < 1e-9
    assert kap[4][0] < kap[1][0]


def test_path_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="Simpson"):
        learned_path_metrics(DecayField(), np.zeros((3, 2)), rk4_steps=3)
    with pytest.raises(ValueError, match="finite"):
        learned_path_metrics(DecayField(), np.full((3, 2), np.nan), rk4_steps=4)
