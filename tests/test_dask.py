"""The Dask backend (loopback only): claims and sweeps on a LocalCluster of two one-thread workers
give the in-process numbers, nest without deadlock, survive a killed worker, report errors with
the remote traceback, and place training tasks by Dask resources."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from numerics.executor import (  # noqa: E402
    DaskExecutor,
    ExecutorError,
    InProcessExecutor,
    ProgressRelay,
    make_executor,
    sweep,
)
from numerics.experiments import RunSpec  # noqa: E402
from proofs_checks.claims import PAPERS, Paper, register_paper, unregister_paper  # noqa: E402
from proofs_checks.cli import main  # noqa: E402
from proofs_checks.evidence import Evidence, Verdict  # noqa: E402
from proofs_checks.registry import check  # noqa: E402
from proofs_checks.runner import run_claims, select_claims  # noqa: E402

pytestmark = pytest.mark.xdist_group("dask")  # one cluster, on one pytest worker

TASKS = [{"seed": s, "n": 200} for s in range(16)]


def _draw(seed: int, n: int, pause: float = 0.0) -> list[float]:
    """A seeded sweep task with BLAS work (its last bits depend on the thread count)."""
    time.sleep(pause)
    r = np.random.default_rng(seed)
    a = r.normal(size=(n, n))
    x = r.normal(size=200_000)
    return [float(np.linalg.eigvalsh(a @ a.T).sum()), float(x @ x)]


def _sweep_inside(executor: DaskExecutor, seed: int) -> list[list[float]]:
    """A task that sweeps, as a claim does."""
    return sweep(executor, _draw, [{"seed": seed + i, "n": 50} for i in range(4)])


def _boom(x: int) -> None:
    raise ValueError(f"boom {x}")


def _resource_restrictions(where: str = "") -> dict[str, float]:
    from distributed import get_worker
    from distributed.worker import thread_state

    return dict(get_worker().state.tasks[thread_state.key].resource_restrictions or {})


_resource_restrictions.uses_accelerator = True  # type: ignore[attr-defined]


def _train_inside(executor: DaskExecutor) -> list[dict[str, float]]:
    """A training claim holding the accelerator that submits its own training tasks."""
    return sweep(executor, _resource_restrictions, [{}, {}])


def _say(relay: ProgressRelay, msg: str) -> None:
    relay(msg)


TOY_CLAIM = "toy-sweep/sum-of-draws"


def check_sum_of_draws(run: RunSpec) -> Verdict:
    """A claim whose check sweeps through ``run.executor`` (the common/ claims do not sweep)."""
    values = sweep(run.executor, _draw, [{"seed": s, "n": 50} for s in range(6)])
    ev = Evidence("toy", seed=0)
    ev.holds(
        "draws are finite", bool(np.all(np.isfinite(values))), measured=float(np.sum(values)), why="toy", basis="theory"
    )
    return ev.verdict()


def register_toy_paper() -> None:
    """Register the toy paper and its check in this process (the driver, and each worker via client.run)."""
    if "toy-sweep" in PAPERS:
        return
    register_paper(
        Paper(id="toy-sweep", title="a paper whose claim sweeps", source_note="registered by a test", order=999)
    )
    check(TOY_CLAIM, title="draws are finite", tag="derived", kinds=("monte-carlo",))(check_sum_of_draws)


_FIGURE_SWEEPS: list[dict] = []


def _figure_with_a_sweep(run: RunSpec):
    import matplotlib.pyplot as plt

    from figures.registry import FigureOutput

    values = sweep(run.executor, _draw, TASKS[:4])
    _FIGURE_SWEEPS.append(run.executor.task_summary())
    fig, ax = plt.subplots()
    ax.plot([v[0] for v in values])
    return FigureOutput(fig, {"values": np.array(values)}, {"tasks": 4}, "a sweep drawn from a cluster")


@pytest.fixture(scope="module")
def cluster():
    c = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    )
    yield c
    c.close()


@pytest.fixture
def dask_executor(cluster):
    ex = make_executor(scheduler=cluster.scheduler_address)
    yield ex
    ex.shutdown()


def test_sweep_equals_in_process(dask_executor):
    assert sweep(dask_executor, _draw, TASKS) == sweep(InProcessExecutor(), _draw, TASKS)
    ran = dask_executor.task_summary()
    assert set(ran) <= {"0", "1"} and sum(w["tasks"] for w in ran.values()) == len(TASKS)


def test_common_paper_on_cluster_matches_in_process(cluster, tmp_path):
    here, there = tmp_path / "here.json", tmp_path / "there.json"
    assert main(["verify", "--paper", "common", "--json", str(here)]) == 0
    assert main(["verify", "--paper", "common", "--scheduler", cluster.scheduler_address, "--json", str(there)]) == 0
    a, b = (json.loads(p.read_text())["claims"] for p in (here, there))
    assert [c["id"] for c in a] == [c["id"] for c in b]
    assert [c["measured"] for c in a] == [c["measured"] for c in b]
    assert all(c["where"]["worker"] == "in-process" for c in a)
    assert all(c["where"]["worker"] in ("0", "1") and c["where"]["host"] for c in b)


@pytest.fixture
def toy_paper(dask_executor):
    register_toy_paper()
    dask_executor.client.run(register_toy_paper)
    yield
    import proofs_checks.registry as reg

    reg._CHECKS.pop(TOY_CLAIM, None)
    unregister_paper("toy-sweep")


def test_claim_that_sweeps_runs_its_sweep_on_the_cluster(dask_executor, toy_paper):
    claims = select_claims([TOY_CLAIM])
    (here,) = run_claims(claims, RunSpec())
    (there,) = run_claims(claims, RunSpec(executor=dask_executor))
    assert there.passed and [c.measured for c in there.comparisons] == [c.measured for c in here.comparisons]
    assert there.where["worker"] in ("0", "1") and here.where["worker"] == "in-process"
    assert set(there.where["tasks"]) <= {"0", "1"} and sum(w["tasks"] for w in there.where["tasks"].values()) == 6


def test_workers_running_other_code_are_named(cluster, monkeypatch):
    import numerics.provenance

    monkeypatch.setattr(numerics.provenance, "git_commit", lambda: "another-commit")  # this process only
    notes: list[str] = []
    make_executor(scheduler=cluster.scheduler_address, notice=notes.append).shutdown()
    assert len(notes) == 1 and "run other memgen code" in notes[0] and "another-commit" in notes[0]


def test_figures_sweep_on_the_cluster(cluster, tmp_path, monkeypatch):
    from figures import registry

    spec = registry.FigureSpec("common/fig-dask-sweep", "common", "sweep", (), _figure_with_a_sweep)
    monkeypatch.setattr(registry, "FIGURES", {spec.id: spec})
    monkeypatch.setattr(registry, "LOAD_ERRORS", {})
    monkeypatch.setattr(registry, "load_all", lambda: registry.FIGURES)
    argv = ["figures", spec.id, "--scheduler", cluster.scheduler_address, "--out", str(tmp_path)]
    assert main(argv) == 0
    data = np.load(tmp_path / "common__fig-dask-sweep.npz")["values"]
    assert data.tolist() == sweep(None, _draw, TASKS[:4])
    assert set(_FIGURE_SWEEPS[-1]) <= {"0", "1"} and sum(w["tasks"] for w in _FIGURE_SWEEPS[-1].values()) == 4


def test_nested_sweeps_do_not_deadlock(dask_executor):
    """Both worker threads run a task that sweeps: the sweeps still run (the waiting tasks secede)."""
    outer = [dask_executor.submit(_sweep_inside, dask_executor.for_task(), s) for s in (0, 10)]
    got = [f.result(timeout=60) for f in outer]
    assert got == [_sweep_inside(InProcessExecutor(), s) for s in (0, 10)]


def test_errors_come_back_with_the_remote_traceback(dask_executor):
    with pytest.raises(ValueError, match="boom 3") as info:
        sweep(dask_executor, _boom, [{"x": 3}])
    assert any(entry.name == "_boom" for entry in info.traceback)
    # a run that fails inside and around the check (an unknown size): an error verdict, not a hang
    run = RunSpec(executor=dask_executor).with_sizes("common/gaussian-kl-closed-form", bogus=1)
    (v,) = run_claims(select_claims(["common/gaussian-kl-closed-form"]), run)
    assert v.status == "error" and "has no size 'bogus'" in v.error and "Traceback" in v.error


def test_progress_messages_reach_the_driver(dask_executor):
    got: list[str] = []
    with dask_executor.relay_progress(got.append) as topic:
        dask_executor.submit(_say, ProgressRelay(topic, "claim: "), "trained 3 of 4").result(timeout=30)
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    assert got == ["claim: trained 3 of 4"]


def test_training_tasks_go_to_workers_with_the_resources(cluster):
    with pytest.raises(ExecutorError, match="offers GPU=1"):
        make_executor(scheduler=cluster.scheduler_address, resources="GPU=1")
    gpu = distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,  # in-process workers, inproc:// transport
        dashboard_address="127.0.0.1:0",
        resources={"GPU": 1},
    )
    try:
        ex = make_executor(scheduler=gpu.scheduler_address, resources="GPU=1")
        try:
            assert sweep(ex, _resource_restrictions, [{}]) == [{"GPU": 1.0}]
            assert sweep(ex, _draw, [{"seed": 0, "n": 3}]) == [_draw(0, 3)]  # not training: no restriction
            # a claim holding the only GPU submits training tasks: they run on its worker, no deadlock
            claim = ex.submit_task(_train_inside, (ex.for_task(holds_accelerator=True),), accelerator=True)
            assert claim.result(timeout=30) == [{}, {}]
        finally:
            ex.shutdown()
    finally:
        gpu.close()


def test_local_scheduler_option_starts_and_stops_a_cluster():
    ex = make_executor(scheduler="local:1")
    try:
        assert sweep(ex, _draw, TASKS[:2]) == sweep(None, _draw, TASKS[:2])
        cluster = ex._cluster
        assert cluster is not None and cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    finally:
        ex.shutdown()
    assert ex._cluster is None and cluster.status.name == "closed"


def test_worker_killed_mid_sweep_run_completes(dask_executor):
    """SIGKILL one worker process while the sweep runs: Dask reruns its tasks, the numbers are the same."""
    client = dask_executor.client
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    tasks = [dict(t, pause=0.25) for t in TASKS]
    result: list = []
    sweeping = threading.Thread(target=lambda: result.append(sweep(dask_executor, _draw, tasks)))
    sweeping.start()
    time.sleep(1.0)  # a few tasks done, the victim busy with one
    os.kill(pids[victim], signal.SIGKILL)
    sweeping.join(timeout=60)
    assert not sweeping.is_alive()
    assert result == [sweep(InProcessExecutor(), _draw, TASKS)]
    client.wait_for_workers(2, timeout=30)
    assert pids[victim] not in client.run(os.getpid).values()  # the worker was replaced: it really died


def test_controls_run_in_the_claims_task_on_the_cluster(dask_executor):
    claims = select_claims(["common/gaussian-kl-closed-form"])
    (here,) = run_claims(claims, RunSpec(), controls=True)
    (there,) = run_claims(claims, RunSpec(executor=dask_executor), controls=True)
    assert there.where["worker"] in ("0", "1") and there.controls is not None and not there.control_defects()
    assert {k: c.broke for k, c in there.controls.items()} == {k: c.broke for k, c in here.controls.items()}
