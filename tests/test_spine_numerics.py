"""Executor, disk cache, training loop and fixed-step solvers shared by every paper."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.cache import DiskCache, param_hash
from numerics.executor import InProcessExecutor, make_executor, sweep
from numerics.integrators import euler, rk4
from numerics.nets import VelocityMLP
from numerics.training import conditional_flow_matching_loss, torch_generator, train


def _draw(seed: int, n: int) -> float:
    return float(np.random.default_rng(seed).normal(size=n).sum())


def test_sweep_independent_of_workers():
    tasks = [dict(seed=s, n=10) for s in range(6)]
    serial = sweep(InProcessExecutor(), _draw, tasks)
    with make_executor(2) as pool:
        parallel = sweep(pool, _draw, tasks)
    assert serial == parallel


def test_executor_rejects_negative_workers():
    with pytest.raises(ValueError, match="workers"):
        make_executor(-1)


def test_in_process_future_carries_exception():
    fut = InProcessExecutor().submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        fut.result()


def test_disk_cache_resumes_and_is_atomic(tmp_path):
    cache = DiskCache(tmp_path)
    calls = []
    f = lambda: calls.append(1) or {"x": np.arange(3)}  # noqa: E731
    a = cache.get_or_compute("thing", {"n": 3}, f)
    b = cache.get_or_compute("thing", {"n": 3}, f)
    assert len(calls) == 1 and np.array_equal(a["x"], b["x"])
    assert not list(tmp_path.glob("*.tmp"))
    cache.path("thing", {"n": 3}).write_bytes(b"garbage")  # a damaged entry is recomputed
    cache.get_or_compute("thing", {"n": 3}, f)
    assert len(calls) == 2
    assert param_hash({"a": 1, "b": 2}) == param_hash({"b": 2, "a": 1})


def _fit(seed):
    gen = torch_generator(0)
    model = VelocityMLP(2, width=16, depth=1, init_seed=0)
    x1 = torch.randn(256, 2, generator=gen) * 0.1 + 2.0

    def loss_fn(m, step, g):
        x0 = torch.randn(64, 2, generator=g)
        idx = torch.randint(0, 256, (64,), generator=g)
        t = torch.rand(64, generator=g)
        return conditional_flow_matching_loss(m, x0, x1[idx], t)

    return train(model, loss_fn, steps=60, lr=1e-2, seed=seed, device="cpu", checkpoints=[0, 30, 60], ema=0.9, clip=5.0)


def test_training_is_seeded_and_learns():
    a, b = _fit(1), _fit(1)
    assert np.array_equal(a.losses, b.losses)
    assert a.losses[-10:].mean() < a.losses[:10].mean()
    assert sorted(a.checkpoints) == [0, 30, 60]
    m30 = a.model_at(30)
    assert isinstance(m30, VelocityMLP)
    with pytest.raises(KeyError):
        a.model_at(5)


def test_training_rejects_bad_arguments():
    m = VelocityMLP(2, width=4, depth=1)
    with pytest.raises(ValueError, match="checkpoint"):
        train(m, lambda *a: torch.tensor(0.0), steps=3, checkpoints=[4])
    with pytest.raises(ValueError, match="optimizer"):
        train(m, lambda *a: torch.tensor(0.0), steps=3, optimizer="sgd")


def test_rk4_order_four_and_euler_order_one():
    # dx/dt = x: errors of a sweep of step sizes give the convergence order (diffrax style)
    v = lambda x, t: x  # noqa: E731
    steps = np.array([8, 16, 32, 64])
    err4 = [abs(rk4(v, np.array([1.0]), n)[0] - np.e) for n in steps]
    err1 = [abs(euler(v, np.array([1.0]), n)[0] - np.e) for n in steps]
    order4 = -np.polyfit(np.log(steps), np.log(err4), 1)[0]
    order1 = -np.polyfit(np.log(steps), np.log(err1), 1)[0]
    assert abs(order4 - 4) < 0.15 and abs(order1 - 1) < 0.15


def test_non_finite_loss_names_the_step_where_it_appeared():
    model = VelocityMLP(2, width=4, depth=1, init_seed=0)

    def loss_fn(m, step, g):
        out = m(torch.zeros(1, 2), torch.zeros(1)).sum() ** 2
        return out * (float("nan") if step == 37 else 1.0)

    with pytest.raises(FloatingPointError, match="at step 37"):
        train(model, loss_fn, steps=250, lr=1e-3, device="cpu")
