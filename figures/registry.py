"""Figure registry and the writer that gives every figure its data and provenance.

A figure function takes a :class:`~numerics.experiments.RunSpec` — the same run description the
checks get, so a figure plots the very measurement its claim judges (from the cache when the
check already made it) — and returns a :class:`FigureOutput` (a matplotlib figure, the arrays it
plots, its parameters and caption). :func:`render` writes ``<id>.png``, ``<id>.pdf``,
``<id>.npz`` (data) and ``<id>.json`` (sidecar: parameters, seed, package version, git commit,
elapsed seconds, claim ids) atomically. Every module of this package registers its figures with
:func:`figure` and is found without being listed anywhere.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import io
import json
import pkgutil
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from numerics.cache import DiskCache, atomic_write_bytes, atomic_write_text
from numerics.experiments import RunSpec
from numerics.provenance import git_commit, jsonable, package_version

DEFAULT_OUT = Path(__file__).resolve().parent / "out"
FIGURE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*/fig-[a-z0-9.\-]+$")


@dataclass
class FigureOutput:
    fig: Any
    data: dict[str, Any]
    params: dict[str, Any]
    caption: str
    seed: Any = None


@dataclass(frozen=True)
class FigureSpec:
    id: str
    paper: str
    title: str
    claims: tuple[str, ...]
    fn: Callable[[RunSpec], FigureOutput]
    slow: bool = False


FIGURES: dict[str, FigureSpec] = {}


def figure(fig_id: str, title: str, claims: tuple[str, ...] = (), slow: bool = False):
    """Register a figure function under ``<paper>/fig-<slug>``.

    ``slow`` marks figures that train models (drawn by ``memgen figures`` all the same; the
    flag only tells tests to skip them by default).
    """
    if not FIGURE_ID.match(fig_id):
        raise ValueError(f"figure id must look like '<paper>/fig-<slug>', got {fig_id!r}")
    paper = fig_id.split("/", 1)[0]

    def deco(fn: Callable[[RunSpec], FigureOutput]):
        if fig_id in FIGURES and FIGURES[fig_id].fn is not fn:
            raise ValueError(f"duplicate figure id {fig_id!r}")
        FIGURES[fig_id] = FigureSpec(fig_id, paper, title, tuple(claims), fn, slow)
        return fn

    return deco


LOAD_ERRORS: dict[str, str] = {}


def load_all() -> dict[str, FigureSpec]:
    """Import every module of the ``figures`` package (each registers its figures) and return them.

    A module that fails to import is recorded in :data:`LOAD_ERRORS` (and reported by
    ``memgen figures``) instead of hiding the figures of the other modules.
    """
    import figures

    # every module, in sub-packages too (figures/<paper>/<topic>.py)
    for info in pkgutil.walk_packages(figures.__path__, "figures."):
        if not info.ispkg and info.name != __name__ and info.name not in LOAD_ERRORS:
            try:
                importlib.import_module(info.name)
            except Exception as exc:
                LOAD_ERRORS[info.name] = f"{type(exc).__name__}: {exc}"
    return FIGURES


def get_figure(fig_id: str) -> FigureSpec:
    load_all()
    if fig_id not in FIGURES:
        close = difflib.get_close_matches(fig_id, list(FIGURES), n=3, cutoff=0.4)
        hint = f"; closest ids: {', '.join(close)}" if close else ""
        raise KeyError(f"unknown figure id {fig_id!r}{hint}")
    return FIGURES[fig_id]


def _stem(out: Path, fig_id: str) -> Path:
    return out / fig_id.replace("/", "__")


@dataclass(frozen=True)
class Rendered:
    """What :func:`render` did: the files, whether they were up to date already, how long it took."""

    id: str
    paths: dict[str, Path]
    skipped: bool
    seconds: float
    error: str | None = None


def _code_digest() -> str:
    """Hash of every source file a figure's numbers can depend on (figures, numerics, theory)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for pkg in ("figures", "numerics", "theory"):
        for f in sorted((root / pkg).rglob("*.py")) + sorted((root / pkg).rglob("*.json")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def fingerprint(fig_id: str, run: RunSpec) -> str:
    """Identifies a figure's inputs: its id, the run (tier, seed, size overrides), the package
    version and the code it is drawn from. An unchanged fingerprint means an unchanged figure."""
    blob = json.dumps(
        {"id": fig_id, "run": jsonable(run.key()), "version": package_version(), "code": _code_digest()}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _paths(out: Path, fig_id: str) -> dict[str, Path]:
    stem = _stem(Path(out), fig_id)
    return {k: stem.with_suffix(f".{k}") for k in ("png", "pdf", "npz", "json")}


def up_to_date(fig_id: str, run: RunSpec, out: Path) -> bool:
    """Whether every file of the figure exists and its sidecar records the current fingerprint."""
    paths = _paths(out, fig_id)
    if not all(p.exists() for p in paths.values()):
        return False
    try:
        return json.loads(paths["json"].read_text()).get("fingerprint") == fingerprint(fig_id, run)
    except (OSError, ValueError):
        return False


def render(fig_id: str, run: RunSpec | None = None, out: Path = DEFAULT_OUT, force: bool = False) -> Rendered:
    """Draw figure ``fig_id`` for ``run`` and write PNG, PDF, data and sidecar under ``out``.

    A figure whose files exist with the current :func:`fingerprint` is not drawn again unless
    ``force``.
    """
    return _render_spec(get_figure(fig_id), run or RunSpec(cache=DiskCache()), out, force)


def _render_spec(spec: FigureSpec, run: RunSpec, out: Path, force: bool) -> Rendered:
    fig_id = spec.id
    if not force and up_to_date(fig_id, run, out):
        return Rendered(fig_id, _paths(out, fig_id), True, 0.0)
    t0 = time.perf_counter()
    _draw(spec, run, Path(out), t0)
    return Rendered(fig_id, _paths(out, fig_id), False, time.perf_counter() - t0)


def _draw(spec: FigureSpec, run: RunSpec, out: Path, t0: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_id = spec.id
    result = spec.fn(run)
    elapsed = time.perf_counter() - t0
    paths = _paths(out, fig_id)
    result.fig.text(0.005, 0.005, f"{fig_id} · claims: {', '.join(spec.claims) or '-'}", fontsize=6, color="0.4")
    for fmt in ("png", "pdf"):
        buf = io.BytesIO()
        result.fig.savefig(buf, format=fmt, dpi=130 if fmt == "png" else None, bbox_inches="tight")
        atomic_write_bytes(paths[fmt], buf.getvalue())
    plt.close(result.fig)
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in result.data.items()})
    atomic_write_bytes(paths["npz"], buf.getvalue())
    sidecar = {
        "id": fig_id,
        "title": spec.title,
        "caption": result.caption,
        "claims": list(spec.claims),
        "parameters": jsonable(result.params),
        "seed": jsonable(result.seed),
        "package_version": package_version(),
        "git_commit": git_commit(),
        "elapsed_seconds": round(elapsed, 3),
        "tier": run.tier,
        "fingerprint": fingerprint(fig_id, run),
        "files": {k: p.name for k, p in paths.items()},
    }
    atomic_write_text(paths["json"], json.dumps(sidecar, indent=2))


def _render_task(fig: FigureSpec | str, run: RunSpec, out: Path, force: bool) -> Rendered:
    """One figure, in this process or a worker (module level: picklable; the spec's function travels
    by reference, so the worker imports its module); errors come back as values."""
    t0 = time.perf_counter()
    fig_id = fig if isinstance(fig, str) else fig.id
    try:
        spec = get_figure(fig) if isinstance(fig, str) else fig
        return _render_spec(spec, run, out, force)
    except Exception as exc:
        return Rendered(fig_id, {}, False, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")


def render_all(
    ids: list[str],
    run: RunSpec,
    out: Path = DEFAULT_OUT,
    force: bool = False,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[Rendered], None] | None = None,
) -> list[Rendered]:
    """Draw the figures ``ids``; independent figures render in parallel through ``run.executor``.

    With the in-process executor they are drawn one after the other; with a local process pool
    (``--workers``) each figure is one task (its sweeps then run in that worker); on a Dask
    cluster (``--scheduler``) figures are drawn here and their sweeps are the cluster's tasks. A
    figure that raises is reported in its :class:`Rendered` (``error``) and never hides the others.
    """
    import concurrent.futures as cf

    if not isinstance(run.executor, cf.ProcessPoolExecutor):
        results = []
        for fid in ids:
            if on_start:
                on_start(fid)
            r = _render_task(fid, run, out, force)
            results.append(r)
            if on_done:
                on_done(r)
        return results
    from numerics.executor import InProcessExecutor

    worker_run = dataclasses.replace(run, executor=InProcessExecutor(), progress=_quiet_progress)
    specs = {fid: FIGURES.get(fid, fid) for fid in ids}
    futures = {run.executor.submit(_render_task, specs[fid], worker_run, out, force): fid for fid in ids}
    done: dict[str, Rendered] = {}
    for fut in cf.as_completed(futures):
        r = fut.result()
        done[r.id] = r
        if on_done:
            on_done(r)
    return [done[fid] for fid in ids]


def _quiet_progress(msg: str) -> None:
    return None
