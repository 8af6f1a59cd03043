"""Tests of the numerics.experiments.mfm package (training configuration, trained arms, cost sweep): training configuration, targets, sweeps, paired statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from numerics.couplings import is_permutation
from numerics.datasets import (
    FlowTarget,
    eight_gaussians_means,
    minibatch_cost_target,
    mixture_means,
    sample_eight_gaussians,
    sample_gaussian_mixture,
)
from numerics.experiments import RunSpec, forget_measurements
from numerics.experiments.mfm import FlowTrainingConfig, k_sweep, monotone_cost, trained_arms
from numerics.experiments.mfm._common import marginal_field
from numerics.gaussian_family import GaussianCoupling
from numerics.training import forget_trained, trained

TINY = dict(width=16, depth=2, steps=30, batch=16, k=16)


class ZeroField(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.0 * x + 0.0 * self.dummy


# ---------------------------------------------------------------------------------- targets
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


def test_target_means_are_computed_once_and_read_only():
    t = FlowTarget("mixture", 8)
    assert t.means() is FlowTarget("mixture", 8).means()
    np.testing.assert_array_equal(t.means(), mixture_means(8))
    with pytest.raises(ValueError, match="read-only"):
        t.means()[0, 0] = 0.0
    # the target's own draws are those of sample_gaussian_mixture on its means
    a = t.sample(50, np.random.default_rng(4))
    np.testing.assert_array_equal(a, sample_gaussian_mixture(50, mixture_means(8), t.std, np.random.default_rng(4)))


def test_independent_cost_matches_monte_carlo():
    for target in (FlowTarget(), FlowTarget("mixture", 8)):
        rng = np.random.default_rng(1)
        n = 100_000
        d2 = np.sum((target.sample(n, rng) - rng.standard_normal((n, target.dim))) ** 2, axis=1)
        assert abs(d2.mean() - target.independent_cost()) <= 4 * d2.std() / math.sqrt(n)


@pytest.mark.parametrize(
    "kwargs", [dict(name="8gaussians", dim=3), dict(name="moons", dim=2), dict(name="mixture", dim=0)]
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


# ---------------------------------------------------------------------------------- training configuration
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
    a, b = cfg.sampler().draw(), cfg.sampler().draw()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # the paired x1 are the same multiset as a fresh independent draw of the same stream
    raw = FlowTrainingConfig(coupling="condot", k=1, batch=32).sampler().draw()[1]
    np.testing.assert_array_equal(np.sort(raw[:, 0]), np.sort(a[1][:, 0]))
    for s in (0, 16):  # every data point of a block used exactly once (Stable is a permutation)
        j = [int(np.flatnonzero(raw[:, 0] == v)[0]) - s for v in a[1][s : s + 16, 0]]
        assert is_permutation(np.asarray(j))


def test_coupled_loss_equals_direct_formula():
    cfg = FlowTrainingConfig(coupling="batchot", k=8, batch=16, sigma_min=1e-4)
    loss = cfg.objective()(ZeroField(), 1, torch.Generator().manual_seed(3))
    x0, x1 = cfg.sampler().draw()
    target = x1 - (1 - 1e-4) * x0
    assert abs(loss.item() - np.mean(np.sum(target**2, 1))) < 1e-5 * loss.item()


def test_training_is_deterministic_with_checkpoints():
    forget_trained()
    cfg = FlowTrainingConfig(coupling="batchot", n_checkpoints=3, **TINY)
    r1 = trained(cfg)
    forget_trained()
    r2 = trained(cfg)
    np.testing.assert_array_equal(r1.losses, r2.losses)
    assert sorted(r1.checkpoints) == [0, 10, 20, 30]
    assert trained(cfg) is r2
    forget_trained()


# ---------------------------------------------------------------------------------- measurements
def test_marginal_field_matches_the_family_field_at_each_time():
    fam = GaussianCoupling(rho=0.5, phi=0.3)
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((5, 2)), rng.random(5)
    batched = marginal_field(fam, x, t)
    for n in range(5):
        np.testing.assert_allclose(batched[n], fam.velocity(x[n : n + 1], float(t[n]))[0], rtol=1e-12, atol=1e-12)


def test_minibatch_costs_seeded_and_ordered():
    a = monotone_cost.minibatch_ot_costs(2, 16, 20, [1])
    np.testing.assert_array_equal(a, monotone_cost.minibatch_ot_costs(2, 16, 20, [1]))
    # same batches: OT <= identity <= anti-matching, batch by batch
    assert np.all(a <= monotone_cost.minibatch_ot_costs(2, 16, 20, [1], "identity") + 1e-12)
    assert np.all(
        monotone_cost.minibatch_ot_costs(2, 16, 20, [1], "identity")
        <= monotone_cost.minibatch_ot_costs(2, 16, 20, [1], "anti") + 1e-12
    )
    one_d = monotone_cost.minibatch_ot_costs(1, 8, 5, [2])  # sorting in 1-D equals the exact assignment
    assert np.all(one_d <= monotone_cost.minibatch_ot_costs(1, 8, 5, [2], "identity") + 1e-12)


@pytest.mark.parametrize("matcher", ["ot", "anti"])
def test_one_dimensional_costs_are_the_batch_by_batch_sorting(matcher):
    # in 1-D every batch is drawn at once and sorted together: the values of the batch-by-batch loop
    rng = np.random.default_rng([3, 1, 8])
    mu, var = minibatch_cost_target(1)
    want = []
    for _ in range(40):
        x0 = np.sort(rng.standard_normal((8, 1))[:, 0])
        x1 = np.sort((mu + np.sqrt(var) * rng.standard_normal((8, 1)))[:, 0])
        want.append(((x0 - (x1[::-1] if matcher == "anti" else x1)) ** 2).mean())
    np.testing.assert_array_equal(monotone_cost.minibatch_ot_costs(1, 8, 40, [3], matcher), want)


def test_batch_plan_and_sizes_below_spec():
    plan = monotone_cost.BatchPlan(k_max=256, min_batches=100, pair_budget=2**14)
    assert plan.ks() == (1, 2, 4, 8, 16, 32, 64, 128, 256)
    assert plan.batches(1) == 2**14 and plan.batches(256) == 100
    assert monotone_cost.THEOREM_D8.reduced_fields == ["multi_d.k_max", "multi_d.min_batches", "multi_d.pair_budget"]
    assert k_sweep.K_SWEEP.reduced_fields == [
        "train.width",
        "train.steps",
        "train.batch",
        "ks",
        "v_pairs",
        "rk4_steps",
        "w2_samples",
    ]


def test_cost_curve_is_measured_once():
    forget_measurements()
    run = RunSpec()
    plan = monotone_cost.BatchPlan(k_max=4, min_batches=10, pair_budget=10)
    a = monotone_cost.cost_curve(run, 2, plan)
    assert monotone_cost.cost_curve(run, 2, plan) is a
    assert a.ks.tolist() == [1, 2, 4] and a.batches == (10, 10, 10)
    assert monotone_cost.cost_curve(run, 2, plan, "identity") is not a
    forget_measurements()


def test_paired_difference():
    d = trained_arms.paired(np.array([2.0, 3.0, 4.0]), np.array([1.0, 1.0, 1.0]), 0.5)
    np.testing.assert_allclose(d, [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="same seeds"):
        trained_arms.paired(np.ones(3), np.ones(4))


def test_arms_pair_seeds_and_canonicalise():
    run = RunSpec()
    a = trained_arms.arm(run, trained_arms.FAST_TRAIN, "batchot", 1)
    assert [c.seed for c in a] == list(range(5)) and all(c.coupling == "condot" and c.k == 1 for c in a)
    b = trained_arms.arm(RunSpec(seed=7), trained_arms.FAST_TRAIN, "batchot")
    assert [c.seed for c in b] == [(7, s) for s in range(5)] and b[0].k == 64
