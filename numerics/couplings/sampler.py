"""Applying a coupling: paired batches (:func:`pair`), blockwise pairing of minibatches
(:func:`blockwise_pair`) and the seeded sampler of paired minibatches training draws from
(:class:`CoupledBatchSampler`: drawing ahead, prefetching in a background thread).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from numerics.couplings.assignment import (
    _ENUMERATE_MAX_K,
    _check_solver,
    _enumerated_assignments,
    _optimal_permutation,
    batch_ot_coupling,
)
from numerics.couplings.costs import _DIRECT_COST_MAX_DIM, Coupling, _cost_matrix
from numerics.couplings.entropic import batch_eot_coupling, batch_eot_pairings
from numerics.couplings.pairings import pair_indices
from numerics.couplings.registry import get_coupling
from theory.validation import dense_guard, integer, real_array


def pair(
    x0: Any, x1: Any, coupling: str | Coupling, rng: np.random.Generator | None = None, **kwargs: Any
) -> tuple[Any, Any]:
    """Paired batches ``(x0[i], x1[j])`` for training with the given coupling.

    Parameters
    ----------
    x0, x1 : ndarray or torch.Tensor, shape (k, ...)
        Same type out as in (torch tensors keep their device, dtype and autograd graph).
    coupling : str or callable
        A name in :data:`COUPLINGS` or a coupling function.
    rng : numpy.random.Generator, optional
        Needed by random couplings (BatchEOT).
    **kwargs
        Passed to the coupling (``eps_rel``, ``sampling``, ``proposer``).

    Returns
    -------
    x0_paired, x1_paired
    """
    fn = get_coupling(coupling)
    idx = fn(x0, x1, rng, **kwargs)
    i, j = pair_indices(idx, int(np.shape(x0)[0]) if not hasattr(x0, "detach") else int(x0.shape[0]))
    if hasattr(x0, "detach"):
        import torch

        ti = torch.as_tensor(i, dtype=torch.long, device=x0.device)
        tj = torch.as_tensor(j, dtype=torch.long, device=x1.device)
        return x0[ti], x1[tj]
    return np.asarray(x0)[i], np.asarray(x1)[j]


def blockwise_pair(
    x0: np.ndarray,
    x1: np.ndarray,
    coupling: str,
    k: int,
    rng: np.random.Generator,
    *,
    device: Any = None,
    **coupling_kwargs: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Paired minibatch, the coupling :func:`pair` solved in blocks of ``k``.

    The blocks are paired in order, each drawing from ``rng`` as :func:`pair` would; BatchEOT
    solves the plans of all blocks at once (:func:`batch_eot_pairings`, same pairs as block by
    block).

    Parameters
    ----------
    x0, x1 : ndarray, shape (B, d)
        Noise and data of one minibatch (or of several, one after the other); ``B`` must be a
        multiple of ``k``.
    coupling : str
        A key of :data:`COUPLINGS`.
    k : int
        Coupling block size (``k = 1``: independent pairs).
    rng : numpy.random.Generator
        For randomised couplings (BatchEOT sampling).
    device : str or torch.device, optional
        Where BatchEOT's plans are solved (:func:`entropic_plans`; ``None``: CUDA when present).

    Returns
    -------
    x0_paired, x1_paired : ndarray, shape (B, d)
        Row ``i`` of both is one pair; pairs never cross a block.
    """
    for name, x in (("x0", x0), ("x1", x1)):
        real_array(x, name, ndim=2)  # refuses complex, object and NaN input (the arrays keep their dtype)
    x0 = np.asarray(x0)
    x1 = np.asarray(x1)
    if x0.shape != x1.shape:
        raise ValueError(f"x0 and x1 must be (B, d) arrays of one shape, got {x0.shape} and {x1.shape}")
    k = integer(k, "k", 1)
    if x0.shape[0] % k:
        raise ValueError(f"block size k={k!r} must be a positive divisor of the batch size {x0.shape[0]}")
    fn = get_coupling(coupling)
    if k == 1:  # a block of one point: the only pairing is the independent one
        return x0, x1
    n = x0.shape[0] // k
    if fn is batch_eot_coupling:
        pairings = batch_eot_pairings(x0.reshape(n, k, -1), x1.reshape(n, k, -1), rng, device=device, **coupling_kwargs)
    elif fn is batch_ot_coupling and set(coupling_kwargs) <= {"solver"}:
        # the blocks of batches checked above: batch_ot_coupling's cost and assignment, block by
        # block, without checking every block again (the same arrays, so the same permutations)
        solver = coupling_kwargs.get("solver", "auto")
        _check_solver(solver)
        dense_guard((k, k), "cost matrix", copies=1 if x0.shape[1] <= _DIRECT_COST_MAX_DIM else 3)
        a, b = x0.astype(np.float64, copy=False), x1.astype(np.float64, copy=False)
        small = _enumerated_assignments(a, b, k) if k <= _ENUMERATE_MAX_K else None
        pairings = (
            small
            if small is not None
            else [
                _optimal_permutation(_cost_matrix(a[s : s + k], b[s : s + k]), a.shape[1], solver)
                for s in range(0, n * k, k)
            ]
        )
    else:
        pairings = [fn(x0[s : s + k], x1[s : s + k], rng, **coupling_kwargs) for s in range(0, n * k, k)]
    offsets = np.arange(n) * k
    if all(np.ndim(p) == 1 for p in pairings):  # permutations (or row draws): every x0 once, in order
        j = np.asarray(pairings)
        if j.shape != (n, k) or not np.issubdtype(j.dtype, np.integer) or j.min() < 0 or j.max() >= k:
            raise ValueError(f"the coupling {coupling!r} returned pairings outside [0, {k}) or of the wrong shape")
        return x0[np.arange(n * k)], x1[(j + offsets[:, None]).ravel()]
    ij = [pair_indices(p, k) for p in pairings]
    i = np.concatenate([b + i for b, (i, _) in zip(offsets, ij)])
    j = np.concatenate([b + j for b, (_, j) in zip(offsets, ij)])
    return x0[i], x1[j]


class CoupledBatchSampler:
    """Draws paired minibatches ``(x0, x1)`` of one coupling from its own seeded streams.

    Noise :math:`x_0\\sim\\mathcal N(0,I)`, data :math:`x_1\\sim q_1` (``target.sample(n, rng)``) and
    the coupling's randomness each come from a separate generator seeded from ``seed``, so the
    same seed gives the same sequence of paired batches regardless of the model being trained.

    **Drawing ahead.** With ``ahead = m`` the next ``m`` minibatches are drawn and coupled in one
    go (BatchEOT: all their blocks in one batched solve, :func:`entropic_plans`, which is what a
    GPU needs to be busy); with ``prefetch`` the next such group is coupled in a background
    thread while the caller uses the current one (the exact BatchOT and Stable solvers release
    the GIL, so they run beside a training step). Either way the sequence of minibatches is the
    one drawn without them: each stream is only read by one thread at a time, in the same order
    (noise, data and coupling streams are separate generators, so drawing several minibatches
    first and coupling them afterwards reads each stream exactly as one minibatch after the
    other does). The streams are then ahead of the minibatches returned so far.

    Parameters
    ----------
    target : object with ``dim`` and ``sample(n, rng)`` (e.g. :class:`numerics.datasets.FlowTarget`)
    batch : int
        Pairs per minibatch (a multiple of ``k``).
    coupling : str
        A key of :data:`COUPLINGS`, solved in blocks of ``k`` (:func:`blockwise_pair`).
    k : int
    seed : int or list of int
    coupling_kwargs : dict
        Passed to the coupling (``eps_rel``, ``sampling`` for BatchEOT).
    ahead : int
        Minibatches drawn and coupled together (default 1; for BatchEOT on a GPU tens, so that
        the batched solve has enough plans).
    prefetch : bool
        Couple the next group in a background thread (default off). Call :meth:`close` (or use
        the sampler as a context manager) to stop it.
    device : str or torch.device, optional
        Where BatchEOT's plans are solved (``None``: CUDA when present, else the CPU).
    """

    STREAM_DATA, STREAM_NOISE, STREAM_COUPLING = 1, 2, 3

    def __init__(
        self,
        target: Any,
        batch: int,
        coupling: str,
        k: int,
        seed: int | list[int],
        coupling_kwargs: dict[str, Any] | None = None,
        *,
        ahead: int = 1,
        prefetch: bool = False,
        device: Any = None,
    ) -> None:
        batch, k = integer(batch, "batch", 1), integer(k, "k", 1)
        if batch % k:
            raise ValueError(f"batch ({batch!r}) must be a positive multiple of the block size k ({k!r})")
        get_coupling(coupling)
        if not isinstance(prefetch, bool):
            raise TypeError(f"prefetch must be True or False, got {prefetch!r}")
        self.target, self.batch, self.coupling, self.k = target, batch, coupling, k
        base = [integer(s, "seed", 0) for s in np.atleast_1d(seed)]
        self.noise_rng = np.random.default_rng([*base, self.STREAM_NOISE])
        self.data_rng = np.random.default_rng([*base, self.STREAM_DATA])
        self.coupling_rng = np.random.default_rng([*base, self.STREAM_COUPLING])
        self.kwargs = dict(coupling_kwargs or {})
        self.ahead, self.prefetch, self.device = integer(ahead, "ahead", 1), prefetch, device
        self._ready: deque[tuple[np.ndarray, np.ndarray]] = deque()
        self._pool: Any = None
        self._next: Any = None  # the future of the group being coupled in the background

    def draw(self, batch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One paired minibatch (float64): ``x1[i]`` is the data point coupled to ``x0[i]``.

        ``batch`` other than the sampler's is drawn at once, and only while nothing is drawn
        ahead (otherwise it would take the streams out of order: ``ValueError``).
        """
        if batch is not None and integer(batch, "batch", 1) != self.batch:
            if self._ready or self._next is not None:
                raise ValueError(
                    f"cannot draw a minibatch of {batch} while minibatches of {self.batch} are drawn ahead "
                    "(it would read the random streams out of order); use a separate sampler"
                )
            return self._couple(1, batch)[0]
        if not self._ready:
            self._ready.extend(self._next_group())
        return self._ready.popleft()

    def _next_group(self) -> list[tuple[np.ndarray, np.ndarray]]:
        if not self.prefetch:
            return self._couple(self.ahead, self.batch)
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coupled-batches")
        if self._next is None:
            self._next = self._pool.submit(self._couple, self.ahead, self.batch)
        group = self._next.result()
        # one worker: groups are coupled one after the other, in the order submitted
        self._next = self._pool.submit(self._couple, self.ahead, self.batch)
        return group

    def _couple(self, m: int, b: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """``m`` minibatches of ``b`` pairs: their points drawn in turn, then coupled in one call."""
        points = [
            (self.noise_rng.standard_normal((b, self.target.dim)), self.target.sample(b, self.data_rng))
            for _ in range(m)
        ]
        x0 = np.concatenate([p for p, _ in points])
        x1 = np.concatenate([q for _, q in points])
        a0, a1 = blockwise_pair(x0, x1, self.coupling, self.k, self.coupling_rng, device=self.device, **self.kwargs)
        return [(a0[s : s + b], a1[s : s + b]) for s in range(0, m * b, b)]

    def close(self) -> None:
        """Stop the background thread; the group it was coupling is kept, so the sampler stays usable
        and its sequence unchanged (an error raised there is raised by the next :meth:`draw`)."""
        if self._pool is None:
            return
        self._pool.shutdown(wait=True)
        self._pool = None
        if self._next is not None and self._next.exception() is None:
            self._ready.extend(self._next.result())
            self._next = None

    def __enter__(self) -> CoupledBatchSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
