"""One executor interface for sweeps over seeds, sizes and couplings: in-process, local processes, Dask.

Sweeps submit independent tasks (pure functions of their parameters and seed) to an object with
the :class:`concurrent.futures.Executor` interface (``submit``, ``map``, ``shutdown``):

- :class:`InProcessExecutor` (default): each task at once in the calling process;
- a local process pool (``--workers N``, at most the CPU count);
- :class:`DaskExecutor` (``--scheduler tcp://host:port`` or ``local:N``): tasks on a Dask cluster
  through ``distributed.Client.get_executor()``. ``distributed`` is an optional extra
  (``pip install 'memgen-theory[dask]'``); nothing else here needs it.

Results do not depend on the backend or on the number of workers, to the last bit. Every task
carries its own seed, and every process that computes — the calling one and each worker — runs
BLAS, OpenMP and torch on :data:`TASK_THREADS` thread (:func:`pin_threads`): a multi-threaded
BLAS splits sums (dot products, blocked factorisations) by its thread count, so the same task
gives different last bits with a different count. Parallelism comes from workers, not threads.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

TASK_THREADS = 1
"""BLAS / OpenMP / torch threads of every computing process (see the module docstring)."""

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
CONNECT_TIMEOUT = "10s"
CONNECT_DEADLINE = 20.0
"""Seconds after which connecting to ``--scheduler`` gives up whatever answers there: ``distributed``'s
own timeout does not cover a server that accepts the connection and never speaks Dask."""
WORKER_WAIT = 30.0
"""Seconds to wait for a first worker of a scheduler that has none before saying so (the run then
keeps waiting: tasks start when a worker joins)."""
INSTALL_HINT = "pip install 'memgen-theory[dask]' (or: pip install 'dask[distributed]')"

ACCELERATOR_TASKS = frozenset({"numerics.training.train_task"})
"""Sweep tasks that train a model: on a Dask cluster given ``--resources`` they run on the workers
that offer them (GPU workers). A task function can also declare itself with :func:`uses_accelerator`."""


class ExecutorError(ValueError):
    """A usage error of the executor options: a bad worker count or scheduler address, a missing
    optional backend, an unreachable scheduler (``memgen`` exits 2)."""


def _stderr(msg: str) -> None:
    print(f"memgen: {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ threads
_pinned_pid: int | None = None


def pin_threads() -> None:
    """Run BLAS, OpenMP and torch on :data:`TASK_THREADS` threads in this process.

    Libraries already loaded are limited now (``threadpoolctl``, ``torch.set_num_threads``);
    libraries loaded later read the environment variables set here. Idempotent and free after
    the first call in a process. Speed: a single process no longer spreads one large BLAS call
    over the cores; use ``--workers N`` or ``--scheduler local:N`` to use them.
    """
    global _pinned_pid
    if _pinned_pid == os.getpid():
        return
    for var in THREAD_VARIABLES:
        os.environ[var] = str(TASK_THREADS)
    from threadpoolctl import threadpool_limits

    threadpool_limits(TASK_THREADS)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(TASK_THREADS)
    _pinned_pid = os.getpid()


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _worker_count(n: Any, what: str, notice: Callable[[str], None]) -> int:
    """``n`` as a count of local worker processes: a non-negative integer, at most the CPU count."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise ExecutorError(f"{what} must be a non-negative integer, got {n!r}")
    if n < 0:
        raise ExecutorError(f"{what} must be >= 0, got {n}")
    cpus = cpu_count()
    if n > cpus:
        notice(f"{what} {n} capped at {cpus} (the CPU count)")
        return cpus
    return n


# ------------------------------------------------------------------------------------ in-process
class InProcessExecutor(cf.Executor):
    """Runs each task at once in the calling process (no pickling, easy debugging).

    Creating one pins this process's threads (:func:`pin_threads`), as on a worker: a default
    :class:`~numerics.experiments.RunSpec` computes the numbers a pool or a cluster would.
    """

    def __init__(self) -> None:
        pin_threads()

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


def make_executor(
    workers: int | None = None,
    scheduler: str | None = None,
    resources: str | dict[str, float] | None = None,
    notice: Callable[[str], None] = _stderr,
) -> cf.Executor:
    """The executor of a run; also pins this process's threads (:func:`pin_threads`).

    Parameters
    ----------
    workers : local process pool of this many workers (at most the CPU count, with a notice);
        ``None``, 0 or 1 run in-process
    scheduler : a Dask scheduler, ``tcp://host:port`` (a running cluster) or ``local:N`` (a
        ``LocalCluster`` of N one-thread workers on the loopback interface, for this run)
    resources : with ``scheduler``: Dask resources that training tasks ask for (``"GPU=1"``)
    notice : called with one line when an option is adjusted

    Raises
    ------
    ExecutorError
        A bad count, address or combination, ``distributed`` not installed, no scheduler there.
    """
    pin_threads()
    if scheduler:
        if workers not in (None, 0, 1):
            raise ExecutorError("--workers is the local process pool; with --scheduler the cluster's workers run tasks")
        return DaskExecutor.connect(scheduler, resources=resources, notice=notice)
    if resources:
        raise ExecutorError("--resources places tasks on Dask workers: it needs --scheduler")
    n = 0 if workers is None else _worker_count(workers, "workers", notice)
    if n <= 1:
        return InProcessExecutor()
    import multiprocessing as mp

    return cf.ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"), initializer=pin_threads)


def shutdown_now(executor: cf.Executor) -> None:
    """Stop at once (Ctrl-C, SIGTERM): queued tasks cancelled, the worker processes of a local pool
    terminated rather than waited for, a Dask client closed."""
    # ProcessPoolExecutor has no public way to stop running workers before Python 3.14.
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        p.terminate()
    for p in processes:
        p.join(2.0)
    for p in processes:  # a worker that handles SIGTERM (a handler inherited through fork) is killed
        if p.is_alive():
            p.kill()
            p.join(5.0)


def sweep(executor: cf.Executor | None, fn: Callable[..., Any], tasks: Iterable[dict[str, Any]]) -> list[Any]:
    """Run ``fn(**task)`` for every task through ``executor`` and return results in task order.

    ``fn`` must be a module-level function (picklable) for process pools and clusters. An
    executor with a ``sweep`` method of its own (:class:`DaskExecutor`) runs the whole sweep.
    """
    executor = executor or InProcessExecutor()
    own = getattr(executor, "sweep", None)
    if own is not None:
        return own(fn, tasks)
    futures = [executor.submit(fn, **task) for task in tasks]
    return [f.result() for f in futures]


# ------------------------------------------------------------------------------------ Dask
def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ExecutorError(
            f"--scheduler needs Dask's 'distributed' package, which is not installed: {INSTALL_HINT}"
        ) from exc
    return distributed


def _check_address(scheduler: str) -> None:
    """A network address (``tcp://``, ``tls://``, ``ws://``) with its host and port: without a port,
    ``distributed`` tries for half a minute. Other transports (``inproc://``) pass as they are."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(scheduler)
        port = parts.port
    except ValueError as exc:
        raise ExecutorError(f"--scheduler {scheduler!r}: {exc}") from None
    if parts.scheme not in ("tcp", "tls", "ws", "wss"):
        return
    if not parts.hostname or port is None or parts.path not in ("", "/"):
        raise ExecutorError(f"--scheduler {scheduler!r}: expected tcp://host:port, with the port (e.g. :8786)")


def _client_within_deadline(distributed: Any, address: Any) -> Any:
    """A ``distributed.Client`` of ``address``, or ``TimeoutError`` after :data:`CONNECT_DEADLINE` seconds.

    The client is built on a daemon thread: a handshake that never completes is left behind
    there, not waited for."""
    box: dict[str, Any] = {}

    def connect() -> None:
        try:
            box["client"] = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=connect, name="memgen-dask-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_DEADLINE)
    if thread.is_alive():
        raise TimeoutError(f"no Dask handshake within {CONNECT_DEADLINE:g} s (is it a Dask scheduler?)")
    if "error" in box:
        raise box["error"]
    return box["client"]


def parse_resources(text: str | dict[str, float] | None) -> dict[str, float]:
    """``"GPU=1,MEM=2"`` -> ``{"GPU": 1.0, "MEM": 2.0}`` (the syntax of ``dask worker --resources``)."""
    if not text:
        return {}
    if isinstance(text, dict):
        return {str(k): float(v) for k, v in text.items()}
    out: dict[str, float] = {}
    for item in text.replace(" ", ",").split(","):
        if not item:
            continue
        name, sep, value = item.partition("=")
        try:
            amount = float(value)
        except ValueError:
            amount = -1.0
        if not sep or not name or amount <= 0:
            raise ExecutorError(f"--resources {text!r}: expected NAME=AMOUNT[,NAME=AMOUNT] with positive amounts")
        out[name] = amount
    return out


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def uses_accelerator(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` trains a model (goes to the workers that offer the run's ``--resources``)."""
    qualified = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}"
    return bool(getattr(fn, "uses_accelerator", False)) or qualified in ACCELERATOR_TASKS


def _task_worker() -> Any:
    """The Dask worker running the calling task, or ``None`` outside a Dask task."""
    if sys.modules.get("distributed") is None:  # never imported (or blocked): not in a Dask task
        return None
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:
        return None


def code_identity() -> str:
    """The package version and git commit of the memgen code this process runs."""
    from numerics.provenance import git_commit, package_version

    return f"memgen {package_version()} at {git_commit()}"


def current_worker() -> str:
    """The name of the Dask worker running the calling task, ``"in-process"`` elsewhere."""
    w = _task_worker()
    return "in-process" if w is None else str(w.name)


@contextlib.contextmanager
def _outside_thread_pool() -> Iterator[None]:
    """Inside a Dask task, leave the worker's thread pool while waiting (secede, then rejoin):
    a claim that waits for its sweep never holds a thread the sweep needs, so nesting cannot
    deadlock however few threads the cluster has."""
    if _task_worker() is None:
        yield
        return
    from distributed import rejoin, secede

    secede()
    try:
        yield
    finally:
        rejoin()


def _remote_call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, str, float]:
    """A task on a Dask worker: pinned threads, then ``fn``; returns its value, the worker and seconds."""
    pin_threads()
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, current_worker(), time.perf_counter() - t0


@dataclass(frozen=True)
class ProgressRelay:
    """A progress callback a task carries to its worker: each message goes back to the driver
    as a Dask event (``log_event`` on the worker, ``subscribe_topic`` on the driver)."""

    topic: str
    prefix: str = ""

    def __call__(self, msg: str) -> None:
        w = _task_worker()
        if w is not None:
            w.log_event(self.topic, self.prefix + msg)


class DaskExecutor(cf.Executor):
    """Tasks on a Dask cluster: single tasks through ``Client.get_executor()`` (``concurrent.futures``
    futures), sweeps through one ``Client.map``.

    Picklable: a copy sent with a task (inside its ``RunSpec``) submits through the worker's own
    client and waits outside the worker's thread pool, so a claim running as a task can sweep on
    the same cluster. Tasks submitted from inside a task get a higher priority than the claims
    still queued, so a started claim finishes before new ones start.

    A worker that dies mid-task: the scheduler reruns its tasks elsewhere (``distributed``'s
    ``allowed-failures``). A task that raises: its future raises the remote exception with the
    remote traceback.

    ``tasks`` records, per worker name, how many tasks this executor ran there and their seconds.
    """

    def __init__(self, client: Any = None, *, resources: dict[str, float] | None = None, cluster: Any = None) -> None:
        self._client = client
        self._owns_client = client is not None  # a worker's own client is never closed here
        self._cluster = cluster
        self.address: str | None = None if client is None else client.scheduler.address
        self.resources = dict(resources or {})
        self.holds_accelerator = False
        self.tasks: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def connect(
        cls, scheduler: str, resources: str | dict[str, float] | None = None, notice: Callable[[str], None] = _stderr
    ) -> DaskExecutor:
        """Connect to ``tcp://host:port``, or start ``local:N`` (a ``LocalCluster`` on 127.0.0.1)."""
        res = parse_resources(resources)
        kind, _, rest = scheduler.partition(":")
        if kind != "local" and not rest.startswith("//"):
            raise ExecutorError(f"--scheduler {scheduler!r}: expected tcp://host:port or local:N")
        if kind != "local":
            _check_address(scheduler)
        if kind == "local":
            try:
                n = int(rest)
            except ValueError:
                raise ExecutorError(f"--scheduler {scheduler!r}: N of local:N must be an integer") from None
            n = _worker_count(n, "local:N workers", notice)
            if n < 1:
                raise ExecutorError("--scheduler local:N needs N >= 1")
        distributed = _import_distributed()
        cluster = None
        try:
            if kind == "local":
                cluster = distributed.LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",  # loopback, any free port
                    resources=res or None,
                )
            client = _client_within_deadline(distributed, cluster or scheduler)
        except (OSError, TimeoutError) as exc:
            if cluster is not None:
                cluster.close()
            raise ExecutorError(f"could not reach the Dask scheduler at {scheduler}: {exc}") from None
        ex = cls(client, resources=res, cluster=cluster)
        ex._wait_for_a_worker(notice)
        ex._check_code(notice)
        ex._check_resources()
        return ex

    def _wait_for_a_worker(self, notice: Callable[[str], None]) -> None:
        """Say so when the scheduler has no worker after :data:`WORKER_WAIT` seconds (tasks would wait silently)."""
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT)
        except TimeoutError:
            notice(
                f"no worker has joined the scheduler {self.address} within {WORKER_WAIT:g} s; tasks wait until one "
                f"does (start workers with: dask worker {self.address})"
            )

    def _check_code(self, notice: Callable[[str], None]) -> None:
        """Every worker imports memgen, and the same code as this process (else a notice)."""
        try:
            theirs = self.client.run(code_identity)
        except Exception as exc:
            self.shutdown()
            raise ExecutorError(
                f"the workers of {self.address} cannot run memgen ({type(exc).__name__}: {exc}); "
                "install the same memgen on every worker"
            ) from None
        mine = code_identity()
        other = sorted({ident for ident in theirs.values() if ident != mine})
        if other:
            notice(f"workers of {self.address} run other memgen code ({', '.join(other)}) than this process ({mine})")

    def _check_resources(self) -> None:
        if not self.resources:
            return
        workers = self.client.scheduler_info()["workers"].values()
        offer = [w for w in workers if all(w.get("resources", {}).get(k, 0) >= v for k, v in self.resources.items())]
        if workers and not offer:
            wanted = ",".join(f"{k}={v:g}" for k, v in self.resources.items())
            self.shutdown()
            raise ExecutorError(
                f"no worker of {self.address} offers {wanted}; start them with: dask worker {self.address} --resources {wanted}"
            )

    # pickling: the client and cluster stay with the driver; a copy on a worker uses the worker's client
    def __getstate__(self) -> dict[str, Any]:
        return {"address": self.address, "resources": self.resources, "holds_accelerator": self.holds_accelerator}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(resources=state["resources"])
        self.address = state["address"]
        self.holds_accelerator = state["holds_accelerator"]

    @property
    def client(self) -> Any:
        if self._client is None:
            from distributed import get_client

            self._client = get_client(self.address)
        return self._client

    def for_task(self, *, holds_accelerator: bool = False) -> DaskExecutor:
        """The copy a task carries. ``holds_accelerator``: the task was given the run's resources
        (a training claim); the training tasks it submits then run on its own worker, since the
        resources it holds would keep them from starting anywhere else that has only those."""
        copy = DaskExecutor(resources=self.resources)
        copy.address = self.address
        copy.holds_accelerator = holds_accelerator and bool(self.resources)
        return copy

    def _placement(self, accelerator: bool) -> dict[str, Any]:
        if not (accelerator and self.resources):
            return {}
        worker = _task_worker() if self.holds_accelerator else None
        if worker is not None:
            return {"workers": [worker.address], "allow_other_workers": False}
        return {"resources": self.resources}

    def _submit(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], accelerator: bool, name: str
    ) -> cf.Future:
        """A future of ``(value, worker, seconds)``."""
        ex = self.client.get_executor(pure=False, **self._placement(accelerator))
        priority = 0 if _task_worker() is None else 1
        return ex.submit(_remote_call, fn, args, kwargs, priority=priority, key=f"{name}-{uuid.uuid4().hex}")

    def _record(self, done: tuple[Any, str, float]) -> Any:
        value, worker, seconds = done
        with self._lock:
            n, s = self.tasks.get(worker, (0, 0.0))
            self.tasks[worker] = [n + 1, s + seconds]
        return value

    def submit_task(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        accelerator: bool = False,
        name: str | None = None,
    ) -> cf.Future:
        """Submit ``fn(*args, **kwargs)``; ``accelerator``: place it on the workers offering the run's resources."""
        inner = self._submit(fn, args, kwargs or {}, accelerator, name or _name(fn))
        outer: cf.Future = cf.Future()

        def settle(f: cf.Future) -> None:
            try:
                outer.set_result(self._record(f.result()))
            except BaseException as exc:
                outer.set_exception(exc)

        inner.add_done_callback(settle)
        return outer

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        return self.submit_task(fn, args, kwargs, accelerator=uses_accelerator(fn))

    def _gather(self, fn: Callable[..., Any], calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> list[Any]:
        # one client.map for the whole sweep: a single graph update, about half the per-task cost
        # of one submit per task through cf futures
        client = self.client
        futures = client.map(
            _remote_call,
            [fn] * len(calls),
            [args for args, _ in calls],
            [kwargs for _, kwargs in calls],
            key=[f"{_name(fn)}-{uuid.uuid4().hex}" for _ in calls],
            pure=False,
            priority=0 if _task_worker() is None else 1,
            **self._placement(uses_accelerator(fn)),
        )
        try:
            with _outside_thread_pool():
                done = client.gather(futures)
        except BaseException:
            client.cancel(futures)
            raise
        return [self._record(d) for d in done]

    def sweep(self, fn: Callable[..., Any], tasks: Iterable[dict[str, Any]]) -> list[Any]:
        """``fn(**task)`` for every task on the cluster, results in task order (see :func:`sweep`)."""
        return self._gather(fn, [((), dict(t)) for t in tasks])

    def map(
        self, fn: Callable[..., Any], *iterables: Iterable[Any], timeout: float | None = None, chunksize: int = 1
    ) -> Iterator[Any]:
        return iter(self._gather(fn, [(args, {}) for args in zip(*iterables)]))

    def task_summary(self) -> dict[str, dict[str, float]]:
        """Per worker: tasks run through this executor and their seconds (for the verdict's ``where``)."""
        with self._lock:
            return {w: {"tasks": int(n), "seconds": round(s, 3)} for w, (n, s) in sorted(self.tasks.items())}

    @contextlib.contextmanager
    def relay_progress(self, callback: Callable[[str], None]) -> Iterator[str]:
        """Deliver the progress messages of tasks (:class:`ProgressRelay` on this topic) to ``callback``."""
        topic = f"memgen-progress-{uuid.uuid4().hex}"
        self.client.subscribe_topic(topic, lambda event: callback(event[1]))
        try:
            yield topic
        finally:
            self.client.unsubscribe_topic(topic)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close the driver's client, and the ``LocalCluster`` if this executor started it."""
        if self._owns_client:
            self._client.close()
            self._owns_client = False
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
