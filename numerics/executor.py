"""One executor interface for sweeps over seeds, sizes and couplings.

Sweeps submit independent tasks (pure functions of their parameters and seed) to an object with
the :class:`concurrent.futures.Executor` interface (``submit``, ``map``, ``shutdown``). The
default runs them in-process; ``--workers N`` uses a local process pool. Because every task
carries its own seed, results do not depend on the number of workers. A cluster backend only
has to provide the same three methods.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any


class InProcessExecutor(cf.Executor):
    """Runs each task at once in the calling process (no pickling, easy debugging)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future, as a pool would
            fut.set_exception(exc)
        return fut

    def map(
        self, fn: Callable[..., Any], *iterables: Iterable[Any], timeout: float | None = None, chunksize: int = 1
    ) -> Iterator[Any]:
        return (fn(*args) for args in zip(*iterables))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


def _init_worker() -> None:
    # One BLAS/torch thread per worker: N workers should use N cores, not N x cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # torch is optional for non-training sweeps
        pass


def make_executor(workers: int | None = None) -> cf.Executor:
    """In-process executor for ``workers in (None, 0, 1)``, else a local process pool.

    Raises
    ------
    ValueError
        If ``workers`` is negative.
    """
    if workers is not None and workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    if not workers or workers == 1:
        return InProcessExecutor()
    import multiprocessing as mp

    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_init_worker)


def sweep(executor: cf.Executor | None, fn: Callable[..., Any], tasks: Iterable[dict[str, Any]]) -> list[Any]:
    """Run ``fn(**task)`` for every task through ``executor`` and return results in task order.

    ``fn`` must be a module-level function (picklable) for process pools.
    """
    executor = executor or InProcessExecutor()
    futures = [executor.submit(fn, **task) for task in tasks]
    return [f.result() for f in futures]
