"""Unit tests of the minibatch couplings: permutations, solver agreement, edge cases, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.couplings import (
    COUPLINGS,
    batch_eot_coupling,
    batch_ot_coupling,
    blockwise_pair,
    entropic_plan,
    gale_shapley,
    greedy_matching,
    is_permutation,
    pair,
    pair_indices,
    pairing_cost,
    sinkhorn_log,
    squared_distances,
    stable_coupling,
)
from numerics.datasets import sample_eight_gaussians

EXACT = ("condot", "batchot", "stable")


def _batch(k, d=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((k, d)), rng.standard_normal((k, d)) + 1.0


@pytest.mark.claim("mfm/batchot-permutation-optimal")
@pytest.mark.parametrize("name", EXACT)
@pytest.mark.parametrize("k", [1, 2, 17, 300, 600])
def test_exact_couplings_return_permutations(name, k):
    x0, x1 = _batch(k)
    j = COUPLINGS[name](x0, x1, np.random.default_rng(0))
    assert is_permutation(j)


@pytest.mark.claim("mfm/batchot-permutation-optimal")
def test_scipy_and_pot_agree_above_switch_size():
    x0, x1 = _batch(600, seed=3)
    c = squared_distances(x0, x1)
    r = np.arange(600)
    j_s = batch_ot_coupling(x0, x1, solver="scipy")
    j_p = batch_ot_coupling(x0, x1, solver="pot")
    assert is_permutation(j_p)
    assert c[r, j_p].sum() == pytest.approx(c[r, j_s].sum(), rel=1e-12)


def test_batchot_beats_other_couplings_on_one_batch():
    x0, x1 = _batch(64, seed=5)
    rng = np.random.default_rng(1)
    costs = {n: pairing_cost(x0, x1, COUPLINGS[n](x0, x1, rng)) for n in COUPLINGS}
    assert all(costs["batchot"] <= v + 1e-12 for v in costs.values())


@pytest.mark.parametrize("name", list(COUPLINGS))
def test_ties_and_duplicates_are_defined(name):
    x = np.zeros((6, 2))
    y = np.repeat(np.arange(3.0)[:, None], 2, axis=0) * np.ones((1, 2))
    idx = COUPLINGS[name](x, y, np.random.default_rng(0))
    i, j = pair_indices(idx, 6)
    assert i.shape == j.shape == (6,)
    if name in EXACT:
        assert is_permutation(idx)


@pytest.mark.parametrize("name", list(COUPLINGS))
def test_float32_and_torch_input(name):
    x0, x1 = _batch(10)
    rng = np.random.default_rng(0)
    j32 = COUPLINGS[name](x0.astype(np.float32), x1.astype(np.float32), np.random.default_rng(0))
    a, b = pair(torch.as_tensor(x0, dtype=torch.float32), torch.as_tensor(x1, dtype=torch.float32), name, rng)
    assert isinstance(a, torch.Tensor) and a.dtype == torch.float32 and a.shape == (10, 2)
    assert j32.shape == (10,)


@pytest.mark.parametrize("name", list(COUPLINGS))
@pytest.mark.parametrize(
    "bad",
    [
        (np.zeros((0, 2)), np.zeros((0, 2))),
        (np.zeros((3, 2)), np.zeros((4, 2))),
        (np.zeros((3, 2)), np.zeros((3, 3))),
        (np.array([[np.nan, 0.0]]), np.zeros((1, 2))),
        (np.zeros((2, 2)), np.array([[np.inf, 0.0], [0.0, 0.0]])),
    ],
)
def test_bad_input_raises(name, bad):
    with pytest.raises(ValueError):
        COUPLINGS[name](*bad, np.random.default_rng(0))


def test_eot_needs_a_generator_and_valid_options():
    x0, x1 = _batch(4)
    with pytest.raises(ValueError, match="rng"):
        batch_eot_coupling(x0, x1, None)
    with pytest.raises(ValueError, match="sampling"):
        batch_eot_coupling(x0, x1, np.random.default_rng(0), sampling="bad")
    with pytest.raises(ValueError, match="eps_rel"):
        entropic_plan(x0, x1, eps_rel=0.0)
    with pytest.raises(ValueError, match="proposer"):
        stable_coupling(x0, x1, proposer="bad")


def test_eot_plan_sampling_returns_pairs():
    x0, x1 = _batch(8)
    ij = batch_eot_coupling(x0, x1, np.random.default_rng(0), sampling="plan")
    assert ij.shape == (2, 8)
    a, b = pair(x0, x1, "batcheot", np.random.default_rng(0), sampling="plan")
    assert a.shape == b.shape == (8, 2)


@pytest.mark.claim("mfm/batcheot-limits")
@pytest.mark.parametrize("eps_rel", [1e-4, 0.05, 10.0])
def test_sinkhorn_matches_pot_and_is_doubly_stochastic(eps_rel):
    import ot

    x0, x1 = _batch(32, seed=2)
    pi = entropic_plan(x0, x1, eps_rel)
    assert np.abs(pi.sum(0) - 1).max() < 1e-9 and np.abs(pi.sum(1) - 1).max() < 1e-9
    if eps_rel >= 0.05:
        c = squared_distances(x0, x1)
        u = np.full(32, 1 / 32)
        p = ot.sinkhorn(u, u, c, eps_rel * c.mean(), method="sinkhorn_log", stopThr=1e-13, numItermax=100_000)
        assert np.abs(32 * p - pi).max() < 1e-8


def test_sinkhorn_rejects_bad_arguments():
    c = np.ones((2, 2))
    with pytest.raises(ValueError):
        sinkhorn_log(np.ones(2) / 2, np.ones(2) / 2, c, -1.0)
    with pytest.raises(ValueError):
        sinkhorn_log(np.ones(2) / 2, np.ones(3) / 3, c, 1.0)


@pytest.mark.claim("mfm/stable-matching-properties")
def test_gale_shapley_equals_greedy_and_is_side_free():
    x0, x1 = _batch(40, seed=9)
    c = squared_distances(x0, x1)
    j, n = gale_shapley(c)
    assert np.array_equal(j, greedy_matching(c))
    assert np.array_equal(j, gale_shapley(c, "cols")[0])
    assert n <= 40 * 40


def test_high_dimensional_cost_uses_blas_path_accurately():
    x0, x1 = _batch(5, d=300, seed=4)
    from scipy.spatial.distance import cdist

    assert np.allclose(squared_distances(x0, x1), cdist(x0, x1, "sqeuclidean"), rtol=1e-10)


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
    _, b1 = blockwise_pair(x0, x1, "batchot", 1, rng)
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


def test_faulty_couplings_keep_the_marginals_but_not_the_geometry():
    """The controls' single faults are permutations (both marginals kept) that lose the coupling's low cost."""
    from numerics.couplings import FAULTY_COUPLINGS, batch_ot_coupling, is_permutation

    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((64, 2)), rng.standard_normal((64, 2)) + 1.0
    cost = {name: ((a - b[fn(a, b, rng)]) ** 2).sum(1).mean() for name, fn in FAULTY_COUPLINGS.items()}
    for fn in FAULTY_COUPLINGS.values():
        assert is_permutation(fn(a, b, rng))
    independent = ((a - b) ** 2).sum(1).mean()
    assert cost["batchot-off-by-one"] > 2 * ((a - b[batch_ot_coupling(a, b)]) ** 2).sum(1).mean()
    assert abs(cost["stable-shuffled"] - independent) < 0.5 * independent
