"""Minibatch couplings of Multisample Flow Matching (spec ``mfm.md`` §1.6).

Every coupling takes a batch of source points ``x0`` (noise) and target points ``x1`` (data),
both of shape ``(k, ...)`` (trailing axes are flattened for the cost), and returns an integer
index array describing the pairs:

* a 1-D array ``j`` of shape ``(k,)``: ``x0[i]`` is paired with ``x1[j[i]]`` for every ``i``.
  Exact couplings (independent, BatchOT, Stable) always return a **permutation**: every noise
  point and every data point is used exactly once (an exact plan is never sampled with
  replacement);
* only for ``batch_eot_coupling(..., sampling="plan")``: a 2-D array ``ij`` of shape ``(2, k)``
  of ``k`` pairs ``(x0[ij[0, n]], x1[ij[1, n]])`` drawn with replacement from the flat plan.

:func:`pair_indices` turns either form into explicit ``(i, j)`` and :func:`pair` applies it to
NumPy arrays or torch tensors. The cost is :math:`C_{ij}=\\|x_0^i-x_1^j\\|^2`, always in float64
whatever the input precision.

Reference and fast paths. :func:`entropic_plan` (NumPy), :func:`gale_shapley` and
:func:`greedy_matching` are the references the claims check. Training goes through
:func:`blockwise_pair` and :class:`CoupledBatchSampler`, which use the fast paths with the same
results: :func:`entropic_plans` / :func:`batch_eot_pairings` (many BatchEOT plans at once in torch,
float64, CUDA when present; plans equal to rounding, draws equal; :class:`DeferredBatchEOT` for a
loop that shares its generator with other draws), :func:`stable_matching`
(vectorised; the unique stable matching), and drawing ahead / prefetching in the sampler.

The package, one concept a module (each name is re-exported here):

* :mod:`~numerics.couplings.costs`: batches checked and their squared-distance cost;
* :mod:`~numerics.couplings.pairings`: index arrays of pairs (:func:`pair_indices`, :func:`is_permutation`, ...);
* :mod:`~numerics.couplings.assignment`: CondOT's identity and BatchOT's exact assignment;
* :mod:`~numerics.couplings.sinkhorn`: the log-domain entropic OT solver :func:`sinkhorn_log`;
* :mod:`~numerics.couplings.entropic`: BatchEOT, one plan or many at once;
* :mod:`~numerics.couplings.stable`: Stable, Gale–Shapley and its vectorised equivalent;
* :mod:`~numerics.couplings.faults`: the faulty couplings of the negative controls;
* :mod:`~numerics.couplings.registry`: the couplings by name (:data:`COUPLINGS`, :func:`get_coupling`);
* :mod:`~numerics.couplings.sampler`: paired minibatches for training (:func:`pair`, :func:`blockwise_pair`,
  :class:`CoupledBatchSampler`).
"""

from numerics.couplings.assignment import batch_ot_coupling, independent_coupling, optimal_assignment
from numerics.couplings.costs import Coupling, squared_distances, validate_batches
from numerics.couplings.entropic import (
    DeferredBatchEOT,
    _cpu_chunk,
    _EntropicBatch,
    batch_eot_coupling,
    batch_eot_pairings,
    entropic_plan,
    entropic_plans,
)
from numerics.couplings.faults import FAULTY_COUPLINGS, off_by_one_pairing, shuffled_pairing
from numerics.couplings.pairings import is_permutation, pair_indices, pairing_cost, plan_from_pairing
from numerics.couplings.registry import COUPLINGS, get_coupling
from numerics.couplings.sampler import CoupledBatchSampler, blockwise_pair, pair
from numerics.couplings.sinkhorn import _newton_semidual, _potential_plan, sinkhorn_log
from numerics.couplings.stable import gale_shapley, greedy_matching, stable_coupling, stable_matching

__all__ = [
    "COUPLINGS",
    "FAULTY_COUPLINGS",
    "CoupledBatchSampler",
    "Coupling",
    "DeferredBatchEOT",
    "_EntropicBatch",
    "_cpu_chunk",
    "_newton_semidual",
    "_potential_plan",
    "batch_eot_coupling",
    "batch_eot_pairings",
    "batch_ot_coupling",
    "blockwise_pair",
    "entropic_plan",
    "entropic_plans",
    "gale_shapley",
    "get_coupling",
    "greedy_matching",
    "independent_coupling",
    "is_permutation",
    "off_by_one_pairing",
    "optimal_assignment",
    "pair",
    "pair_indices",
    "pairing_cost",
    "plan_from_pairing",
    "shuffled_pairing",
    "sinkhorn_log",
    "squared_distances",
    "stable_coupling",
    "stable_matching",
    "validate_batches",
]
