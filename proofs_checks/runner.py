"""Select claims and run their checks (used by ``memgen verify`` and ``memgen report``)."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from numerics.executor import DaskExecutor, ProgressRelay, current_worker, pin_threads
from numerics.experiments import Prerequisite, RunSpec
from proofs_checks.claims import CLAIMS, Claim, all_claims, get_claim, get_paper, load_catalog, suggest
from proofs_checks.evidence import RegistryError, Verdict
from proofs_checks.registry import get_check_spec, run_check, run_controls


def select_claims(ids: Iterable[str] = (), paper: str | None = None, full: bool = False) -> list[Claim]:
    """Claims named by ``ids`` (any tier), else every claim of ``paper`` (or of all papers)
    in the fast tier, plus the full tier when ``full``.

    Raises
    ------
    RegistryError
        For an unknown id or paper (the message names the closest ids).
    """
    load_catalog()
    ids = list(ids)
    if paper is not None:
        get_paper(paper)
    if ids:
        unknown = [i for i in ids if i not in CLAIMS]
        if unknown:
            raise RegistryError("; ".join(f"unknown claim id {u!r}{suggest(u)}" for u in unknown))
        claims = [get_claim(i) for i in dict.fromkeys(ids)]
        return [c for c in claims if paper is None or c.paper == paper]
    return [c for c in all_claims(paper) if full or c.tier == "fast"]


def run_claims(
    claims: list[Claim],
    run: RunSpec,
    on_start: Callable[[Claim], None] | None = None,
    on_done: Callable[[Claim, Verdict], None] | None = None,
    controls: bool = False,
) -> list[Verdict]:
    """Run each claim's check; a check that raises gives an error verdict. Verdicts in claim order.

    With ``controls``, each claim's negative controls run right after its check, in the same task
    (so they share its trained models), and its verdict records their outcomes (:attr:`Verdict.controls`).

    In-process they run here one after the other. With a local process pool (``--workers N``)
    independent claims run in parallel, one task each, longest first (by the last run's timings, else
    at ``--full`` the committed records' times); the training claims of one paper form one task, since
    they share trained models, except those that declare a plan: their training runs first as
    prerequisites spread over the workers (:func:`pool_tasks`), then each claim is a task of its own,
    handed out as soon as its prerequisites are done. On a Dask cluster (``run.executor`` a :class:`~numerics.executor.DaskExecutor`)
    each claim is one task, :func:`run_claim` with a picklable copy of ``run`` (the
    executor a copy that submits sweeps from the worker, progress relayed to ``run.progress``);
    ``on_start`` and ``on_done`` are then called as each verdict comes back. Each verdict's
    ``where`` names the worker (``"in-process"`` here) and, on a cluster, the workers that ran its
    sweep tasks.
    """
    pin_threads()
    if isinstance(run.executor, DaskExecutor):
        return _run_on_cluster(claims, run, run.executor, on_start, on_done, controls)
    if isinstance(run.executor, cf.ProcessPoolExecutor):
        return _run_on_pool(claims, run, run.executor, on_start, on_done, controls)
    out = []
    for c in claims:
        if on_start:
            on_start(c)
        v = run_claim(c.id, run, controls)
        out.append(v)
        if on_done:
            on_done(c, v)
    return out


def run_claim(claim_id: str, run: RunSpec, controls: bool = False) -> Verdict:
    """:func:`~proofs_checks.registry.run_check`, then with ``controls`` its negative controls
    (:func:`~proofs_checks.registry.run_controls`), with the worker (and the device, for a training
    claim) recorded in ``where``: the task each claim is on a cluster."""
    v = run_check(claim_id, run)
    if controls:
        v.controls = run_controls(claim_id, run)
    v.where["worker"] = current_worker()
    tasks = run.executor.task_summary() if isinstance(run.executor, DaskExecutor) else {}
    if tasks:  # the sweep tasks this claim submitted, per worker
        v.where["tasks"] = tasks
    torch = sys.modules.get("torch")
    if torch is not None and "training" in get_claim(claim_id).kinds:
        v.where["device"] = "cuda" if torch.cuda.is_available() else "cpu"
    return v


def group_key(claim: Claim) -> str:
    """The batch a claim runs in on parallel workers: the trained models it shares (:attr:`Claim.models`,
    by default ``<paper>/training`` for every training claim of a paper), the claim's own id otherwise
    (also the tests' xdist group)."""
    if claim.models:
        return claim.models
    return f"{claim.paper}/training" if "training" in claim.kinds else claim.id


def median_seconds(expected: dict[str, float]) -> float:
    """The expected seconds of a claim never timed: the median of those timed (0 when none is)."""
    return sorted(expected.values())[len(expected) // 2] if expected else 0.0


def claim_groups(claims: list[Claim], expected: dict[str, float] | None = None) -> list[list[Claim]]:
    """Claims batched for parallel workers (:func:`group_key`): the training claims of one paper
    together, which one worker then trains once, every other claim alone; longest first."""
    groups: dict[str, list[Claim]] = {}
    for c in claims:
        groups.setdefault(group_key(c), []).append(c)
    known = expected or {}
    default = median_seconds(known)

    def cost(group: list[Claim]) -> float:
        return sum(known.get(c.id, default) for c in group)

    return sorted(groups.values(), key=cost, reverse=True)


def _run_group(claim_ids: list[str], run: RunSpec, controls: bool = False) -> list[Verdict]:
    """One task of :func:`_run_on_pool` (module level: picklable): each claim's check, then its controls."""
    pin_threads()
    return [run_claim(cid, run, controls) for cid in claim_ids]


def _run_prerequisite(p: Prerequisite) -> float:
    """One prerequisite task of :func:`_run_on_pool`: its seconds (an error is reported, not raised: the claims
    that need the work then do it themselves, and any error becomes theirs)."""
    pin_threads()
    t0 = time.perf_counter()
    p()
    return time.perf_counter() - t0


@dataclass
class _Task:
    """One pool task: a prerequisite, or claims run together; ``after`` the prerequisite keys it waits for."""

    name: str
    cost: float
    claims: list[Claim]
    prerequisite: Prerequisite | None = None
    after: set[str] = dataclasses.field(default_factory=set)


def prerequisites(claims: list[Claim], run: RunSpec, controls: bool = False) -> dict[str, list[Prerequisite]]:
    """The prerequisites of each claim that declares a plan (:meth:`CheckSpec.prerequisites`), work that another
    prerequisite of these claims also does left out (:attr:`~numerics.experiments.Prerequisite.parts`)."""
    wanted = {c.id: spec.prerequisites(run, controls) for c in claims if (spec := get_check_spec(c.id)) is not None}
    unique = {p.key: p for ps in wanted.values() for p in ps}
    kept: dict[str, Prerequisite] = {}
    covered: set[str] = set()
    for p in sorted(unique.values(), key=lambda p: (-len(p.parts), p.key)):  # largest first: subsets drop out
        if not p.parts <= covered:
            kept[p.key] = p
            covered |= p.parts
    owner = {part: k for k, p in kept.items() for part in p.parts}
    return {cid: [kept[k] for k in dict.fromkeys(owner[x] for p in ps for x in p.parts)] for cid, ps in wanted.items()}


def pool_tasks(claims: list[Claim], run: RunSpec, controls: bool, expected: dict[str, float]) -> list[_Task]:
    """The tasks of a pool run: each prerequisite once; a claim that needs prerequisites alone, after them (its
    models are then in the cache, so it no longer has to share a worker with the claims that train them); every
    other group of :func:`claim_groups` as one task."""
    default = median_seconds(expected)
    needs = prerequisites(claims, run, controls)
    tasks: dict[str, _Task] = {}
    for group in claim_groups(claims, expected):
        planned = [c for c in group if needs.get(c.id)]
        for c in planned:
            for p in needs[c.id]:
                cost = expected.get(f"prerequisite {p.label}", p.cost)
                tasks.setdefault(p.key, _Task(p.label, cost, [], p))
            # never timed: first among the ready tasks (a claim over trained models evaluates them at length)
            cost = expected.get(c.id, UNTIMED_PLANNED_COST)
            tasks[c.id] = _Task(c.id, cost, [c], after={p.key for p in needs[c.id]})
        rest = [c for c in group if not needs.get(c.id)]
        if rest:
            tasks[rest[0].id] = _Task(rest[0].id, sum(expected.get(c.id, default) for c in rest), rest)
    return list(tasks.values())


def _run_on_pool(
    claims: list[Claim],
    run: RunSpec,
    pool: cf.ProcessPoolExecutor,
    on_start: Callable[[Claim], None] | None,
    on_done: Callable[[Claim, Verdict], None] | None,
    controls: bool,
) -> list[Verdict]:
    """Tasks (:func:`pool_tasks`) handed to the pool one per free worker, the longest ready one first, so a claim
    whose prerequisites finish early does not queue behind everything submitted before."""
    from numerics.executor import InProcessExecutor
    from proofs_checks.progress import expected_seconds
    from proofs_checks.records import recorded_seconds

    worker_run = dataclasses.replace(run, executor=InProcessExecutor(), progress=_quiet)
    by_id = {c.id: c for c in claims}
    expected = expected_seconds(tier=run.tier)
    if run.tier == "spec":  # a machine that never ran --full: the committed records' times order the work
        expected = {**recorded_seconds([c.id for c in claims]), **expected}
    waiting = pool_tasks(claims, worker_run, controls, expected)
    n_workers = getattr(pool, "_max_workers", 1)
    unfinished = {t.prerequisite.key for t in waiting if t.prerequisite is not None}
    labels = {t.prerequisite.key: t.name for t in waiting if t.prerequisite is not None}
    running: dict[cf.Future, _Task] = {}
    done: dict[str, Verdict] = {}
    PREREQUISITE_SECONDS.clear()
    while waiting or running:
        ready = sorted((t for t in waiting if not (t.after & unfinished)), key=lambda t: -t.cost)
        for t in ready[: max(0, n_workers - len(running))]:
            waiting.remove(t)
            if t.prerequisite is not None:
                running[pool.submit(_run_prerequisite, t.prerequisite)] = t
            else:
                running[pool.submit(_run_group, [c.id for c in t.claims], worker_run, controls)] = t
        finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
        for fut in finished:
            t = running.pop(fut)
            if t.prerequisite is not None:
                unfinished.discard(t.prerequisite.key)
                try:
                    PREREQUISITE_SECONDS[t.name] = fut.result()
                    run.progress(f"{t.name}: done in {PREREQUISITE_SECONDS[t.name]:.0f}s")
                except Exception as exc:  # the claims that need it train it themselves and report any error
                    run.progress(f"{t.name}: failed ahead ({type(exc).__name__}: {exc}); its claims will redo it")
                continue
            try:
                verdicts = fut.result()
            except Exception as exc:  # the worker itself failed (not a check): error verdicts, never a hang
                tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                verdicts = [
                    Verdict(c.id, False, "-", error=f"{type(exc).__name__}: {exc}\n{tb}", tier=run.tier)
                    for c in t.claims
                ]
            for v in verdicts:
                if t.after:  # the training it found in the cache, done ahead by other tasks
                    v.details["prerequisite_seconds"] = {
                        lab: round(PREREQUISITE_SECONDS[lab], 3)
                        for lab in (labels[k] for k in sorted(t.after))
                        if lab in PREREQUISITE_SECONDS
                    }
                if on_start:
                    on_start(by_id[v.claim_id])
                done[v.claim_id] = v
                if on_done:
                    on_done(by_id[v.claim_id], v)
    return [done[c.id] for c in claims]


UNTIMED_PLANNED_COST = 1e9
PREREQUISITE_SECONDS: dict[str, float] = {}
"""Seconds of each prerequisite of the last pool run, by label (``memgen verify`` prints and times them)."""


def _quiet(msg: str) -> None:
    return None


def _run_on_cluster(
    claims: list[Claim],
    run: RunSpec,
    ex: DaskExecutor,
    on_start: Callable[[Claim], None] | None,
    on_done: Callable[[Claim, Verdict], None] | None,
    controls: bool,
) -> list[Verdict]:
    out: list[Verdict | None] = [None] * len(claims)
    with ex.relay_progress(run.progress) as topic:
        futures = {}
        for i, c in enumerate(claims):
            trains = "training" in c.kinds
            task_run = dataclasses.replace(
                run, executor=ex.for_task(holds_accelerator=trains), progress=ProgressRelay(topic, f"{c.id}: ")
            )
            futures[ex.submit_task(run_claim, (c.id, task_run, controls), accelerator=trains, name=f"claim {c.id}")] = i
        for fut in cf.as_completed(futures):
            c = claims[futures[fut]]
            try:
                v = fut.result()
            except Exception as exc:  # the task itself failed (not the check): an error verdict, never a hang
                tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                v = Verdict(c.id, False, "-", error=f"{type(exc).__name__}: {exc}\n{tb}", tier=run.tier)
                v.where = {"worker": "unknown"}
            if on_start:
                on_start(c)
            out[futures[fut]] = v
            if on_done:
                on_done(c, v)
    return [v for v in out if v is not None]
