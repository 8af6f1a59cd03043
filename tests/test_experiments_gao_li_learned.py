"""Tests of the learned-model topics of :mod:`numerics.experiments.gao_li`: run configurations, tiers, faults, shared measurements,
and the learned-model claims at the spec's sizes (``slow``).

The spec-size tests train the spec's OSDNet (width 256, 5000 steps) once per process (or take it
from ``MEMGEN_CACHE``) and run the checks at ``RunSpec(tier="spec")``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.datasets import dataset
from numerics.empirical_field import optimal_velocity
from numerics.experiments import RunSpec
from numerics.experiments.gao_li import (
    FAST_CHECKPOINTS,
    FAST_TRAIN,
    SPEC_TRAIN,
    LearnedFieldConfig,
    TrainSizes,
    exact_field_at_every_checkpoint,
    off_head_frozen_at_init,
    run_config,
    trained_checkpoints,
)
from numerics.experiments.gao_li.generation_error_bound import BOUND, checkpoint_bounds
from numerics.experiments.gao_li.osdnet_checkpoint_trend import DECAY, GENERALIZES, checkpoint_trend
from numerics.experiments.gao_li.osdnet_exact_off_head import EXACT_HEAD
from numerics.experiments.gao_li.osdnet_off_subspace_identity import IDENTITY
from numerics.learned_field import ExactField
from numerics.nets import as_float64
from numerics.subspace import proper_subspace
from numerics.training import teacher_student_terms, train
from proofs_checks.registry import run_check

EXACT_HEAD_ID = "gao-li/osdnet-exact-off-head"
IDENTITY_ID = "gao-li/osdnet-off-subspace-identity"
DECAY_ID = "gao-li/osdnet-off-subspace-decays-in-training"
GENERALIZES_ID = "gao-li/osdnet-generalizes-in-subspace"
BOUND_ID = "gao-li/generation-error-bound"


# ------------------------------------------------------------------------ configurations and tiers
def test_tiers_name_the_spec_sizes_and_the_fast_reductions() -> None:
    assert SPEC_TRAIN == TrainSizes(256, 5000, (0, 250, 500, 1000, 2000, 3000, 5000))
    for tier in (EXACT_HEAD, IDENTITY, DECAY, GENERALIZES, BOUND):
        assert tier.spec.train == SPEC_TRAIN
        assert {"train.width", "train.steps", "train.checkpoints"} <= set(tier.reduced_fields)
        # every step a criterion names is a checkpoint in both tiers
        assert {250, 1000} <= set(tier.fast.train.checkpoints)
    assert (DECAY.spec.starts, DECAY.spec.ode_steps, DECAY.spec.excess_draws) == (1000, 500, 8192)
    assert (BOUND.spec.starts, BOUND.spec.ode_steps) == (500, 2000)
    assert (IDENTITY.spec.starts, IDENTITY.spec.ode_steps) == (500, 2000)
    assert (EXACT_HEAD.spec.starts, EXACT_HEAD.spec.tau_steps) == (500, 2000)


def test_run_config_follows_the_seed_of_the_run() -> None:
    cfg = run_config(RunSpec(), FAST_TRAIN)
    assert (cfg.width, cfg.steps, cfg.checkpoints, cfg.seed) == (64, 2000, FAST_CHECKPOINTS, 0)
    assert cfg.data == "sparse-d20" and cfg.sigma_min == 0.01 and cfg.off_head == "learned"
    seeded = run_config(RunSpec(seed=3), SPEC_TRAIN, target="teacher")
    assert seeded.seed == (3, 0) and seeded.stream(1) == [3, 0, 1] and seeded.target == "teacher"


def test_config_validation_and_deterministic_models() -> None:
    with pytest.raises(ValueError):
        LearnedFieldConfig(sigma_min=0.0)
    with pytest.raises(ValueError):
        LearnedFieldConfig(steps=10, checkpoints=(0, 20))
    with pytest.raises(ValueError):
        LearnedFieldConfig(off_head="neither")
    cfg = LearnedFieldConfig(width=8, steps=0, checkpoints=(0,))
    a, b = cfg.build_model(), cfg.build_model()
    assert all(torch.equal(pa, pb) for pa, pb in zip(a.parameters(), b.parameters()))
    assert LearnedFieldConfig(architecture="mlp", width=8, steps=0, checkpoints=(0,)).build_model().dim == 20
    assert LearnedFieldConfig(data="embedded-d200", steps=0, checkpoints=()).points().shape == (5, 200)


# ------------------------------------------------------------------------ objectives
def test_teacher_terms_split_the_squared_error() -> None:
    data = dataset("sparse-d20")
    sub = proper_subspace(data)
    cfg = LearnedFieldConfig(width=16, depth=2, steps=0, checkpoints=(0,))
    rng = np.random.default_rng(2)
    x = torch.as_tensor(rng.standard_normal((9, 20)))
    t = torch.as_tensor(rng.uniform(0, 0.99, 9))
    m = as_float64(cfg.build_model())
    inside, off = teacher_student_terms(m, x, t, torch.as_tensor(data), torch.as_tensor(sub.basis), 0.01)
    diff = m(x, t).detach().numpy() - optimal_velocity(x.numpy(), t.numpy(), data, 0.01)
    assert float(inside + off) == pytest.approx(float((diff**2).sum(1).mean()), rel=1e-12)
    assert float(off) == pytest.approx(float((sub.off(diff) ** 2).sum(1).mean()), rel=1e-12)


@pytest.mark.parametrize("target", ["conditional", "teacher"])
def test_training_is_seeded_and_lowers_loss(target) -> None:
    cfg = LearnedFieldConfig(width=16, depth=2, batch=64, steps=60, checkpoints=(0, 60), target=target)
    h = cfg.hyper()
    runs = [
        train(
            cfg.build_model(),
            cfg.objective(),
            steps=h.steps,
            seed=list(h.seed),
            device="cpu",
            checkpoints=h.checkpoints,
        )
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].losses, runs[1].losses)
    assert runs[0].losses[-10:].mean() < runs[0].losses[:10].mean()
    assert sorted(runs[0].checkpoints) == [0, 60]


# ------------------------------------------------------------------------ faults and shared measurements
@pytest.fixture(scope="module")
def short_run():
    cfg = LearnedFieldConfig(width=8, depth=2, batch=32, steps=20, checkpoints=(0, 10, 20))
    h = cfg.hyper()
    return cfg, train(
        cfg.build_model(), cfg.objective(), steps=h.steps, seed=list(h.seed), device="cpu", checkpoints=h.checkpoints
    )


def test_checkpoint_fields(short_run) -> None:
    cfg, res = short_run
    x = torch.as_tensor(np.random.default_rng(0).standard_normal((3, 4, 20)))
    trained = trained_checkpoints(res, cfg).to("cpu")
    frozen = off_head_frozen_at_init(res, cfg).to("cpu")
    for k, step in enumerate(sorted(res.checkpoints)):
        model = as_float64(res.model_at(step))
        torch.testing.assert_close(trained(x, 0.4)[k], model(x[k], 0.4), rtol=1e-12, atol=1e-13)
        inside, _ = model.split(x[k], 0.4)
        _, off_init = as_float64(res.model_at(0)).split(x[k], 0.4)
        torch.testing.assert_close(frozen(x, 0.4)[k], inside + off_init, rtol=1e-12, atol=1e-13)
    exact = exact_field_at_every_checkpoint(res, cfg).to("cpu")
    assert exact.stack_size == 3
    torch.testing.assert_close(exact(x, 0.4)[2], ExactField(cfg.points(), cfg.sigma_min)(x[2], 0.4))


def test_trend_and_bounds_share_the_excess_loss() -> None:
    run = RunSpec().with_sizes(DECAY, starts=8, ode_steps=20).with_sizes(BOUND, starts=4, ode_steps=40)
    trend = checkpoint_trend(run, DECAY)
    assert checkpoint_trend(run, DECAY) is not trend  # a new record around the memoized parts
    bounds = checkpoint_bounds(run)
    assert bounds.excess is trend.excess
    assert trend.samples.shape == (len(FAST_CHECKPOINTS), 8, 20)
    assert bounds.error.shape == bounds.bound.shape == (len(FAST_CHECKPOINTS), 4)
    assert trend.index(1000) == 3
    with pytest.raises(ValueError):
        trend.index(3000)


# ------------------------------------------------------------------------ spec sizes
SPEC = RunSpec(tier="spec")


SPEC_BASIS_STUDY = {
    "mean NN distance at step 1000, training seeds 0-4": [0.28308274, 0.2584714, 0.27603433, 0.27243986, 0.27420196],
    "threshold 0.05 x median data gap": 0.28053365,
    "seeds failing the criterion": [1, 2, 3, 4],
}
"""A study of the spec's "not copies" radius over training seeds 0-4 at the spec's sizes (width 256, 5000 steps,
1000 starts; measured 2026-11-30, torch 2.13 float32 training): what this test measures again. The claim's own
spec-size verdict (seed 0) is its record (``proofs_checks/records/gao-li/``)."""


@pytest.mark.slow
@pytest.mark.claim(GENERALIZES_ID)
def test_generalizes_is_not_reproduced_at_spec_size_over_training_seeds() -> None:
    """The recorded spec-basis finding: at width 256 the samples are copies by the spec's radius at step 1000 for most seeds.

    Training seeds 0-4 (same data, starts and Monte Carlo draws): the mean nearest-point distance at step
    1000 falls below 0.05 x median data gap on average and for 4 of 5 seeds; the spec's seed 0 passes
    by under 1%. The other three criteria hold at every seed.
    """
    recorded = SPEC_BASIS_STUDY
    threshold = recorded["threshold 0.05 x median data gap"]
    nn = []
    for seed in range(5):
        trend = checkpoint_trend(SPEC, GENERALIZES, seed=seed)
        assert 0.05 * trend.median_gap == pytest.approx(threshold, rel=1e-8)
        i = trend.index(1000)
        nn.append(trend.nn_distance[i])
        late = trend.steps >= 250
        assert trend.off_fraction[i] < 0.1
        assert np.all(np.diff(trend.nn_distance[late]) < 0) and np.all(np.diff(trend.excess.total[late]) < 0)
    # float32 training is bit-identical for any thread count on one platform; another BLAS may move
    # the trained weights, hence a relative tolerance on the recorded per-seed values
    np.testing.assert_allclose(nn, recorded["mean NN distance at step 1000, training seeds 0-4"], rtol=1e-3)
    assert np.mean(nn) < threshold
    assert [s for s in range(5) if nn[s] < threshold] == recorded["seeds failing the criterion"]
    v = run_check(GENERALIZES_ID, SPEC)
    assert v.error is None, v.error
    spec_basis = next(c for c in v.comparisons if c.name.startswith("spec operationalisation: mean NN distance"))
    assert not spec_basis.asserted  # the spec's radius is reported, not judged as the paper's claim
    assert spec_basis.measured[0] == pytest.approx(nn[0], rel=1e-12)
    assert threshold <= spec_basis.measured[0] < 1.01 * threshold  # the spec's seed passes by under 1%


@pytest.mark.slow
@pytest.mark.claim(DECAY_ID)
def test_decay_at_spec_size() -> None:
    v = run_check(DECAY_ID, SPEC)
    assert v.error is None, v.error
    assert v.status == "verified", [(c.name, c.measured) for c in v.failing()]


@pytest.mark.slow
@pytest.mark.claim(BOUND_ID)
def test_generation_error_bound_at_spec_size() -> None:
    v = run_check(BOUND_ID, SPEC)
    assert v.error is None, v.error
    assert v.status == "verified", [(c.name, c.measured) for c in v.failing()]


@pytest.mark.slow
@pytest.mark.claim(EXACT_HEAD_ID)
@pytest.mark.claim(IDENTITY_ID)
def test_identity_claims_at_spec_size() -> None:
    for claim_id in (EXACT_HEAD_ID, IDENTITY_ID):
        v = run_check(claim_id, SPEC)
        assert v.error is None, v.error
        assert v.status == "verified", [(c.name, c.measured) for c in v.failing()]
