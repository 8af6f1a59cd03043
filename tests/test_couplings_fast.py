"""The fast coupling paths equal the reference ones.

- :func:`entropic_plans` (batched torch Sinkhorn) against :func:`entropic_plan` (NumPy, the
  reference), its draws against :func:`batch_eot_coupling`, its refusals and fall-backs;
- :class:`CoupledBatchSampler` drawing ahead / prefetching against the plain sampler;
- :func:`stable_matching` (mutual-best elimination) against :func:`gale_shapley` and
  :func:`greedy_matching`.

All on the CPU (``device="cpu"``); the same code runs on CUDA.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import numerics.couplings as couplings
import numerics.couplings.entropic as entropic
from numerics.couplings import (
    CoupledBatchSampler,
    DeferredBatchEOT,
    batch_eot_coupling,
    batch_eot_pairings,
    batch_ot_coupling,
    blockwise_pair,
    entropic_plan,
    entropic_plans,
    gale_shapley,
    greedy_matching,
    optimal_assignment,
    pair,
    squared_distances,
    stable_coupling,
    stable_matching,
)
from numerics.datasets import FlowTarget, sample_eight_gaussians

EPS64 = np.finfo(np.float64).eps


def _blocks(n: int, k: int, d: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` batches of ``k`` noise points and ``k`` data points (8 Gaussians in 2-D)."""
    rng = np.random.default_rng([seed, n, k, d])
    x0 = rng.standard_normal((n, k, d))
    x1 = np.stack([sample_eight_gaussians(k, rng) for _ in range(n)]) if d == 2 else rng.standard_normal((n, k, d)) + 1
    return x0, x1


def _marginal_error(pi: np.ndarray) -> float:
    return float(max(np.abs(pi.sum(-1) - 1).max(), np.abs(pi.sum(-2) - 1).max()))


# ----------------------------------------------------------------------------------------------
# batched entropic plans
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [8, 64, 256])
@pytest.mark.parametrize("eps_rel", [0.5, 0.05, 0.01, 0.002])
def test_batched_plans_equal_the_reference(k, eps_rel):
    # measured: max |difference| 1e-16 (eps_rel 0.5) to 8e-14 (0.002): the rounding of the
    # exponents (C_ij - g_j)/eps, about 2^-52 max C / eps, which grows as eps shrinks
    x0, x1 = _blocks(3 if k < 256 else 2, k)
    ref = np.stack([entropic_plan(a, b, eps_rel) for a, b in zip(x0, x1)])
    got = entropic_plans(x0, x1, eps_rel, device="cpu")
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= 1e-12
    assert _marginal_error(got) <= 1e-10


@pytest.mark.parametrize("d", [1, 8])
def test_batched_plans_equal_the_reference_in_other_dimensions(d):
    x0, x1 = _blocks(4, 17, d)
    ref = np.stack([entropic_plan(a, b, 0.02) for a, b in zip(x0, x1)])
    assert np.abs(entropic_plans(x0, x1, 0.02, device="cpu") - ref).max() <= 1e-12


def test_near_the_float64_limit_the_agreement_is_the_rounding_of_the_plan():
    # at eps = 1.01 x the limit 2^-52 max C / tol the exponents carry rounding of about tol: the
    # two solvers then agree to that resolution and no better (measured 2.4e-11 for tol 1e-10)
    x0, x1 = _blocks(4, 6, seed=3)
    floors = [EPS64 * c.max() / (1e-10 * c.mean()) for c in map(squared_distances, x0, x1)]
    for factor in (1.01, 30.0):
        eps_rel = max(floors) * factor
        ref = np.stack([entropic_plan(a, b, eps_rel) for a, b in zip(x0, x1)])
        got = entropic_plans(x0, x1, eps_rel, device="cpu")
        assert np.abs(got - ref).max() <= 1e-10 / factor
        assert _marginal_error(got) <= 1e-10


def test_chunks_do_not_change_the_plans():
    x0, x1 = _blocks(5, 32)
    one = entropic_plans(x0, x1, 0.05, device="cpu", chunk=1)
    for chunk in (2, 5, None):
        assert np.abs(entropic_plans(x0, x1, 0.05, device="cpu", chunk=chunk) - one).max() <= 1e-14


def test_identical_points_give_the_uniform_plan_among_other_batches():
    x0, x1 = _blocks(3, 8)
    x0[1] = x1[1] = 0.5  # C = 0: every plan is optimal, entropic_plan takes the uniform one
    got = entropic_plans(x0, x1, 0.05, device="cpu")
    assert np.array_equal(got[1], entropic_plan(x0[1], x1[1], 0.05))
    assert np.abs(got[[0, 2]] - np.stack([entropic_plan(x0[i], x1[i], 0.05) for i in (0, 2)])).max() <= 1e-12


def test_refusals_are_those_of_entropic_plan():
    x0, x1 = _blocks(3, 6)
    with pytest.raises(ValueError, match="float64 limit"):
        entropic_plans(x0, x1, 1e-12, device="cpu")
    with pytest.raises(ValueError, match="same shape"):
        entropic_plans(x0, x1[:, :5], device="cpu")
    with pytest.raises(ValueError, match=r"\(n, k, \.\.\.\)"):
        entropic_plans(x0[0, :, 0], x1[0, :, 0], device="cpu")
    bad = x0.copy()
    bad[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        entropic_plans(bad, x1, device="cpu")
    with pytest.raises(ValueError, match="eps_rel"):
        entropic_plans(x0, x1, 0.0, device="cpu")
    with pytest.raises(ValueError, match="tol"):
        entropic_plans(x0, x1, tol=1e-20, device="cpu")


def test_a_batch_the_fast_path_cannot_certify_is_solved_by_the_reference(monkeypatch):
    x0, x1 = _blocks(3, 10)
    ref = np.stack([entropic_plan(a, b, 0.05) for a, b in zip(x0, x1)])
    solve = couplings._EntropicBatch.solve

    def unfinished_and_off(self, tol):
        plans = solve(self, tol)
        return [None, plans[1] * (1 + 1e-6), plans[2]]  # not converged; off its marginals; fine

    monkeypatch.setattr(couplings._EntropicBatch, "solve", unfinished_and_off)
    got = entropic_plans(x0, x1, 0.05, device="cpu", chunk=3)
    assert np.array_equal(got[:2], ref[:2])  # the reference's own plans
    assert np.abs(got[2] - ref[2]).max() <= 1e-12

    def refused(*args, **kwargs):
        raise ValueError("entropic OT did not reach tol")

    monkeypatch.setattr(entropic, "sinkhorn_log", refused)
    with pytest.raises(ValueError, match="did not reach tol"):  # never a plan off its marginals
        entropic_plans(x0, x1, 0.05, device="cpu", chunk=3)


def test_newton_steps_equal_the_reference_down_to_rounding():
    # tol 0: both run until the line search finds no ascent left at float64 precision, the
    # give-up path of _newton_semidual
    rng = np.random.default_rng(5)
    c = squared_distances(rng.standard_normal((32, 2)), sample_eight_gaussians(32, rng))
    e = 0.05 * c.mean()
    la = np.log(np.full(32, 1 / 32))
    g0 = rng.standard_normal(32) * e
    g_ref, _ = couplings._newton_semidual(la, la, c, e, g0, 0.0, 200)
    g, err = couplings._EntropicBatch(c[None], [e], "cpu").newton(torch.as_tensor(g0[None]), 0.0, 200)
    plan = couplings._potential_plan(la, c, g[0].numpy(), e)
    assert np.abs(32 * (plan - couplings._potential_plan(la, c, g_ref, e))).max() <= 1e-13
    assert float(err[0]) <= 1e-14


# ----------------------------------------------------------------------------------------------
# the draws
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sampling", ["row", "plan"])
def test_batched_draws_are_the_reference_draws(sampling):
    # same plan to rounding => same draws: measured 0 of 660,480 drawn indices differ
    # (13,120 batches, k in {16, 64, 256}, eps_rel in {0.05, 0.01}, both samplings)
    mismatches = 0
    for seed in range(40):
        x0, x1 = _blocks(4, 16, seed=seed)
        rng = np.random.default_rng(seed)
        ref = [batch_eot_coupling(a, b, rng, 0.05, sampling) for a, b in zip(x0, x1)]
        got = batch_eot_pairings(x0, x1, np.random.default_rng(seed), 0.05, sampling, device="cpu")
        mismatches += sum(int((r != g).sum()) for r, g in zip(ref, got))
    assert mismatches == 0


def test_draw_arguments_are_checked_before_solving():
    x0, x1 = _blocks(2, 4)
    with pytest.raises(ValueError, match="rng"):
        batch_eot_pairings(x0, x1, None, device="cpu")
    with pytest.raises(ValueError, match="sampling"):
        batch_eot_pairings(x0, x1, np.random.default_rng(0), sampling="bad", device="cpu")


@pytest.mark.parametrize("coupling", ["condot", "batchot", "batcheot", "stable"])
def test_blockwise_pairs_are_the_block_by_block_pairs(coupling):
    x0, x1 = _blocks(1, 96, seed=2)
    x0, x1 = x0[0], x1[0]
    rng = np.random.default_rng(1)
    parts = [pair(x0[s : s + 32], x1[s : s + 32], coupling, rng) for s in range(0, 96, 32)]
    got = blockwise_pair(x0, x1, coupling, 32, np.random.default_rng(1), device="cpu")
    assert np.array_equal(got[0], np.concatenate([a for a, _ in parts]))
    assert np.array_equal(got[1], np.concatenate([b for _, b in parts]))


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_small_blocks_enumerated_are_the_assignment_of_each_block(k):
    # blocks of k <= 5 are assigned by enumerating the k! permutations for all blocks at once
    rng = np.random.default_rng(k)
    n = 60 * k
    x0, x1 = rng.standard_normal((n, 2)), sample_eight_gaussians(n, rng)
    got0, got1 = blockwise_pair(x0, x1, "batchot", k, rng)
    assert np.array_equal(got0, x0)
    for s in range(0, n, k):
        assert np.array_equal(got1[s : s + k], x1[s : s + k][batch_ot_coupling(x0[s : s + k], x1[s : s + k])])


def test_enumerated_blocks_report_an_overflowing_cost_as_the_solver_does():
    x0 = np.array([[1e200, 0.0], [0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(ValueError, match="overflow"):
        blockwise_pair(x0, -x0, "batchot", 4, np.random.default_rng(0))


def test_optimal_assignment_of_a_cost_matrix_is_batch_ot_coupling():
    rng = np.random.default_rng(3)
    for k, d in ((7, 2), (130, 2), (40, 16)):
        x0, x1 = rng.standard_normal((k, d)), rng.standard_normal((k, d)) + 1.0
        assert np.array_equal(optimal_assignment(squared_distances(x0, x1), d), batch_ot_coupling(x0, x1))
    with pytest.raises(ValueError, match="square"):
        optimal_assignment(np.ones((2, 3)))
    with pytest.raises(ValueError, match="solver"):
        optimal_assignment(np.ones((2, 2)), solver="hungarian")


@pytest.mark.parametrize("sampling", ["row", "plan"])
def test_deferred_batch_eot_is_batch_eot_coupling_in_the_loop(sampling):
    # a loop whose generator draws the points and the pairs in turn: deferring the plans to one
    # batched solve gives the same pairs and leaves the generator where the loop leaves it
    def loop(deferred):
        rng = np.random.default_rng(11)
        pairs = []
        for _ in range(12):
            x0, x1 = rng.standard_normal((8, 2)), sample_eight_gaussians(8, rng)
            if deferred is None:
                pairs.append(batch_eot_coupling(x0, x1, rng, eps_rel=0.1, sampling=sampling))
            else:
                deferred.defer(x0, x1, rng)
        return (pairs if deferred is None else deferred.pairings()), rng.random()

    want, after = loop(None)
    got, after_deferred = loop(DeferredBatchEOT(0.1, sampling, device="cpu"))
    assert after == after_deferred
    assert all(np.array_equal(a, b) for a, b in zip(want, got)) and len(got) == len(want)


def test_deferred_batch_eot_recognises_only_batch_eot():
    import functools

    assert DeferredBatchEOT.of(batch_eot_coupling).sampling == "row"
    plan = DeferredBatchEOT.of(functools.partial(batch_eot_coupling, sampling="plan", eps_rel=0.2))
    assert (plan.sampling, plan.eps_rel) == ("plan", 0.2)
    assert DeferredBatchEOT.of(batch_ot_coupling) is None
    assert DeferredBatchEOT(sampling="row").pairings() == []
    with pytest.raises(ValueError, match="sampling"):
        DeferredBatchEOT(sampling="rows")


def test_the_cpu_chunk_fills_two_256_kernels():
    assert [couplings._cpu_chunk(k) for k in (16, 64, 128, 256, 512)] == [512, 32, 8, 2, 2]


# ----------------------------------------------------------------------------------------------
# the sampler drawing ahead and prefetching
# ----------------------------------------------------------------------------------------------
def _sampler(coupling: str, **kwargs) -> CoupledBatchSampler:
    return CoupledBatchSampler(FlowTarget("8gaussians", 2), 32, coupling, 16, 7, device="cpu", **kwargs)


def _sequence(sampler: CoupledBatchSampler, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    with sampler:
        return [sampler.draw() for _ in range(n)]


@pytest.mark.parametrize("coupling", ["condot", "batchot", "batcheot", "stable"])
@pytest.mark.parametrize(("ahead", "prefetch"), [(3, False), (1, True), (4, True)])
def test_drawing_ahead_and_prefetching_keep_the_sequence(coupling, ahead, prefetch):
    plain = _sequence(_sampler(coupling), 7)
    fast = _sequence(_sampler(coupling, ahead=ahead, prefetch=prefetch), 7)
    for (a0, a1), (b0, b1) in zip(plain, fast):
        assert np.array_equal(a0, b0) and np.array_equal(a1, b1)


def test_closing_a_prefetching_sampler_keeps_its_sequence():
    plain = _sequence(_sampler("batchot"), 5)
    s = _sampler("batchot", ahead=2, prefetch=True)
    got = [s.draw() for _ in range(2)]
    s.close()  # the group coupled in the background is kept
    got += [s.draw() for _ in range(3)]
    s.close()
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(plain, got))


def test_another_batch_size_only_when_nothing_is_drawn_ahead():
    s = _sampler("batchot", ahead=2)
    first = s.draw(batch=16)  # nothing drawn ahead yet: the plain sampler's draw
    assert np.array_equal(first[1], _sampler("batchot").draw(batch=16)[1])
    s.draw()
    with pytest.raises(ValueError, match="out of order"):
        s.draw(batch=16)
    with pytest.raises(ValueError, match="ahead"):
        _sampler("batchot", ahead=0)
    with pytest.raises(TypeError, match="prefetch"):
        _sampler("batchot", prefetch=1)


def test_an_error_in_the_background_is_raised_by_draw():
    s = _sampler("batcheot", prefetch=True, coupling_kwargs={"eps_rel": 1e-14})
    with pytest.raises(ValueError, match="float64 limit"):
        s.draw()
    s.close()


# ----------------------------------------------------------------------------------------------
# stable matching
# ----------------------------------------------------------------------------------------------
def _costs(kind: str, k: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "geometric":
        return squared_distances(rng.standard_normal((k, 2)), sample_eight_gaussians(k, rng))
    if kind == "rounded":  # ties between nearby distances
        return np.round(squared_distances(rng.standard_normal((k, 2)), rng.standard_normal((k, 2))), 1)
    if kind == "few values":  # ties everywhere
        return rng.integers(0, 4, (k, k)).astype(float)
    return np.full((k, k), 2.0)  # all tied: the tie-break alone decides


KINDS = ("geometric", "rounded", "few values", "constant")
STABLE_CASES = [(k, n, kind) for k, n in ((8, 100), (64, 25), (256, 4)) for kind in KINDS]
STABLE_CASES += [(1024, 1, "geometric"), (1024, 1, "few values")]  # Gale-Shapley takes 0.4 s at k = 1024


@pytest.mark.parametrize(("k", "n_batches", "kind"), STABLE_CASES)
def test_stable_matching_is_gale_shapley_and_greedy(k, n_batches, kind):
    rng = np.random.default_rng([k, len(kind)])
    for _ in range(n_batches):
        c = _costs(kind, k, rng)
        j = stable_matching(c)
        assert np.array_equal(j, gale_shapley(c)[0])
        assert np.array_equal(j, greedy_matching(c))
        if k <= 256:
            assert np.array_equal(j, gale_shapley(c, "cols")[0])


def test_stable_coupling_is_the_proposals_matching_from_either_side():
    x0, x1 = _blocks(1, 64, seed=4)
    c = squared_distances(x0[0], x1[0])
    for proposer, side in (("x0", "rows"), ("x1", "cols")):
        assert np.array_equal(stable_coupling(x0[0], x1[0], proposer=proposer), gale_shapley(c, side)[0])


def test_stable_matching_refuses_what_gale_shapley_refuses():
    for bad in (np.eye(3) * 1j, np.full((2, 2), np.nan), np.ones((2, 3)), np.ones((0, 0))):
        with pytest.raises((TypeError, ValueError)):
            stable_matching(bad)
