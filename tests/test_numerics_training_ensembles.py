"""Seed ensembles (numerics.training): the vectorised runs are bit-for-bit the single runs of each seed."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from numerics.cache import DiskCache
from numerics.experiments.mfm import FlowTrainingConfig
from numerics.nets import VelocityMLP
from numerics.training import (
    _TRAINED,
    _clip_members,
    forget_trained,
    train,
    train_ensemble,
    train_ensembles,
    trained,
    trained_ensemble,
)

# width x batch >= 256: every product goes through the same BLAS kernel batched and alone (see
# numerics.training.train_ensemble); the smaller case is tested to float32 rounding below.
TINY = dict(width=16, depth=2, steps=25, batch=16, k=8, n_checkpoints=5)


def _configs(coupling: str, seeds=(0, 1, 2), **kw) -> list[FlowTrainingConfig]:
    return [FlowTrainingConfig(coupling=coupling, seed=s, **{**TINY, **kw}).canonical() for s in seeds]


def _single(c: FlowTrainingConfig):
    h = c.hyper()
    return train(
        c.build_model(), c.objective(), steps=h.steps, seed=list(h.seed), checkpoints=h.checkpoints, device="cpu"
    )


def _assert_same_run(a, b) -> None:
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.checkpoints.keys() == b.checkpoints.keys()
    for s in a.checkpoints:
        for name, w in a.checkpoints[s].items():
            assert torch.equal(w, b.checkpoints[s][name]), (s, name)
    for (na, wa), (nb, wb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert na == nb and torch.equal(wa, wb), na


@pytest.mark.parametrize("coupling", ["condot", "batchot", "batcheot"])
def test_ensemble_members_equal_single_runs_bit_for_bit(coupling):
    forget_trained()
    configs = _configs(coupling)
    ensemble = trained_ensemble(configs, device="cpu")
    for c, r in zip(configs, ensemble):
        _assert_same_run(r, _single(c))
    # the members are the runs trained() hands out for these configurations
    assert all(trained(c) is r for c, r in zip(configs, ensemble))


def test_below_the_kernel_threshold_members_agree_to_float32_rounding():
    forget_trained()
    configs = _configs("condot", width=8)
    for c, r in zip(configs, trained_ensemble(configs, device="cpu")):
        single = _single(c)
        np.testing.assert_allclose(r.losses, single.losses, rtol=1e-5)
        for w, v in zip(r.model.state_dict().values(), single.model.state_dict().values()):
            torch.testing.assert_close(w, v, rtol=1e-5, atol=1e-6)
    forget_trained()


def test_draw_and_batch_loss_reproduce_the_objective():
    c = _configs("stable", seeds=(3,))[0]
    model = c.build_model()
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    draw, loss, objective = c.draw(), c.batch_loss(), c.objective()
    for step in range(1, 4):
        assert torch.equal(loss(model, *draw(step, g1)), objective(model, step, g2))


def test_ensemble_with_ema_clip_and_adamw_matches_single_runs():
    data = torch.linspace(-1, 1, 40).reshape(20, 2)

    def draw_for(seed: int):
        gen = torch.Generator().manual_seed(seed)

        def draw(step, g):
            idx = torch.randint(20, (8,), generator=gen)
            return data[idx], torch.rand(8, generator=g)

        return draw

    def loss(model, x, t):
        return ((model(x, t) - x.flip(1)) ** 2).sum(1).mean()

    kw = dict(
        steps=15, lr=1e-2, optimizer="adamw", weight_decay=0.1, ema=0.9, clip=0.5, checkpoints=(0, 7, 15), device="cpu"
    )
    models = [VelocityMLP(2, 32, 2, init_seed=s) for s in (0, 1)]
    ens = train_ensemble(models, [draw_for(10), draw_for(11)], loss, seeds=[0, 1], **kw)
    for s, r in zip((0, 1), ens):
        d = draw_for(10 + s)
        single = train(VelocityMLP(2, 32, 2, init_seed=s), lambda m, step, g, d=d: loss(m, *d(step, g)), seed=s, **kw)
        _assert_same_run(r, single)


def test_ensemble_validates_members():
    with pytest.raises(ValueError, match="architecture"):
        train_ensemble([VelocityMLP(2, 4, 2), VelocityMLP(2, 6, 2)], [None, None], None, steps=1, seeds=[0, 1])
    with pytest.raises(ValueError, match="one draw and one seed"):
        train_ensemble([VelocityMLP(2, 4, 2)], [], None, steps=1, seeds=[0])
    forget_trained()
    mixed = [_configs("batchot")[0], dataclasses.replace(_configs("batchot")[1], width=4)]
    with pytest.raises(ValueError, match="differ only in their seeds"):
        trained_ensemble(mixed)


def test_ensemble_reuses_trained_runs_and_the_disk_cache(tmp_path):
    forget_trained()
    cache = DiskCache(tmp_path)
    configs = _configs("batchot")
    first = trained(configs[0], cache)  # one seed trained alone
    ens = trained_ensemble(configs, cache)
    assert ens[0] is first
    forget_trained()
    again = train_ensembles([configs], None, cache)[0]  # every member from disk, nothing retrained
    for a, b in zip(ens, again):
        _assert_same_run(a, b)
    assert all(c in _TRAINED for c in configs)
    forget_trained()


def test_seed_pairs_give_distinct_runs():
    a, b = (FlowTrainingConfig(seed=s, **TINY) for s in ((7, 0), (7, 1)))
    assert a.seed == (7, 0) and a.stream(4) == [7, 0, 4]
    assert a.ensemble_key() == b.ensemble_key()
    assert FlowTrainingConfig(seed=[7, 0], **TINY) == a
    r = trained_ensemble([a, b], device="cpu")
    assert not np.array_equal(r[0].losses, r[1].losses)
    forget_trained()


def test_models_are_plain_modules_on_cpu():
    forget_trained()
    r = trained_ensemble(_configs("condot", seeds=(0,)), device="cpu")[0]
    assert isinstance(r.model, nn.Module) and r.device == "cpu"
    assert next(r.model.parameters()).device.type == "cpu"
    forget_trained()


def test_stacked_losses_are_the_vmapped_losses_and_train_the_same_members():
    from torch.func import functional_call, stack_module_state, vmap

    from numerics.training import conditional_flow_matching_loss, conditional_flow_matching_losses

    models = [VelocityMLP(2, 32, 3, init_seed=s) for s in range(3)]
    params, buffers = stack_module_state(models)
    gen = torch.Generator().manual_seed(0)
    x0, x1, t = (
        torch.randn(3, 16, 2, generator=gen),
        torch.randn(3, 16, 2, generator=gen),
        torch.rand(3, 16, generator=gen),
    )
    skeleton = VelocityMLP(2, 32, 3).to("meta")

    def member(p, b, *batch):
        return conditional_flow_matching_loss(lambda *i: functional_call(skeleton, (p, b), i), *batch, 0.1)

    vmapped = vmap(member)(params, buffers, x0, x1, t)
    stacked = conditional_flow_matching_losses(lambda x, tt: models[0].stacked_forward(params, x, tt), x0, x1, t, 0.1)
    assert torch.equal(vmapped, stacked)
    # the whole run: the stacked loss trains the members the vmapped loss trains, bit for bit
    configs = _configs("batchot")
    runs = {}
    for use_stacked in (False, True):
        runs[use_stacked] = train_ensemble(
            [c.build_model() for c in configs],
            [c.draw() for c in configs],
            configs[0].batch_loss(),
            steps=configs[0].steps,
            seeds=[list(c.hyper().seed) for c in configs],
            checkpoints=configs[0].hyper().checkpoints,
            device="cpu",
            stacked_loss=configs[0].stacked_batch_loss() if use_stacked else None,
        )
    for a, b in zip(runs[False], runs[True]):
        _assert_same_run(a, b)


def test_each_member_is_clipped_by_its_own_gradient_norm():
    grads = [torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(n)) * (n + 1) for n in range(2)]
    stacked = {f"p{n}": torch.zeros(3, 4, 5, requires_grad=True) for n in range(2)}
    for p, g in zip(stacked.values(), grads):
        p.grad = g.clone()
    _clip_members(stacked, 1.5, 3)
    for s in range(3):
        alone = [torch.zeros(4, 5, requires_grad=True) for _ in grads]
        for p, g in zip(alone, grads):
            p.grad = g[s].clone()
        nn.utils.clip_grad_norm_(alone, 1.5)
        assert all(torch.equal(p.grad[s], q.grad) for p, q in zip(stacked.values(), alone))
