"""Select claims and run their checks (used by ``memgen verify`` and ``memgen report``)."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import sys
import traceback
from collections.abc import Callable, Iterable

from numerics.executor import DaskExecutor, ProgressRelay, current_worker, pin_threads
from numerics.experiments import RunSpec
from proofs_checks.claims import CLAIMS, Claim, all_claims, get_claim, get_paper, load_catalog, suggest
from proofs_checks.evidence import RegistryError, Verdict
from proofs_checks.registry import run_check, run_controls


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
    independent claims run in parallel, one task each, longest first (by the last run's timings);
    the training claims of one paper form one task, since they share trained models. On a Dask cluster (``run.executor`` a :class:`~numerics.executor.DaskExecutor`)
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


def claim_groups(claims: list[Claim], expected: dict[str, float] | None = None) -> list[list[Claim]]:
    """Claims batched for parallel workers (:func:`group_key`): the training claims of one paper
    together, which one worker then trains once, every other claim alone; longest first."""
    groups: dict[str, list[Claim]] = {}
    for c in claims:
        groups.setdefault(group_key(c), []).append(c)
    known = expected or {}
    default = sorted(known.values())[len(known) // 2] if known else 0.0

    def cost(group: list[Claim]) -> float:
        return sum(known.get(c.id, default) for c in group)

    return sorted(groups.values(), key=cost, reverse=True)


def _run_group(claim_ids: list[str], run: RunSpec, controls: bool = False) -> list[Verdict]:
    """One task of :func:`_run_on_pool` (module level: picklable): each claim's check, then its controls."""
    pin_threads()
    return [run_claim(cid, run, controls) for cid in claim_ids]


def _run_on_pool(
    claims: list[Claim],
    run: RunSpec,
    pool: cf.ProcessPoolExecutor,
    on_start: Callable[[Claim], None] | None,
    on_done: Callable[[Claim, Verdict], None] | None,
    controls: bool,
) -> list[Verdict]:
    from numerics.executor import InProcessExecutor
    from proofs_checks.progress import expected_seconds

    worker_run = dataclasses.replace(run, executor=InProcessExecutor(), progress=_quiet)
    by_id = {c.id: c for c in claims}
    futures = {
        pool.submit(_run_group, [c.id for c in group], worker_run, controls): group
        for group in claim_groups(claims, expected_seconds(tier=run.tier))
    }
    done: dict[str, Verdict] = {}
    for fut in cf.as_completed(futures):
        try:
            verdicts = fut.result()
        except Exception as exc:  # the worker itself failed (not a check): error verdicts, never a hang
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            verdicts = [
                Verdict(c.id, False, "-", error=f"{type(exc).__name__}: {exc}\n{tb}", tier=run.tier)
                for c in futures[fut]
            ]
        for v in verdicts:
            if on_start:
                on_start(by_id[v.claim_id])
            done[v.claim_id] = v
            if on_done:
                on_done(by_id[v.claim_id], v)
    return [done[c.id] for c in claims]


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
