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

import difflib
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

    for info in pkgutil.iter_modules(figures.__path__, "figures."):
        if info.name != __name__ and info.name not in LOAD_ERRORS:
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


def render(fig_id: str, run: RunSpec | None = None, out: Path = DEFAULT_OUT) -> dict[str, Path]:
    """Draw figure ``fig_id`` for ``run`` and write PNG, PDF, data and sidecar under ``out``; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = get_figure(fig_id)
    run = run or RunSpec(cache=DiskCache())
    t0 = time.perf_counter()
    result = spec.fn(run)
    elapsed = time.perf_counter() - t0
    stem = _stem(Path(out), fig_id)
    paths = {k: stem.with_suffix(f".{k}") for k in ("png", "pdf", "npz", "json")}
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
        "files": {k: p.name for k, p in paths.items()},
    }
    atomic_write_text(paths["json"], json.dumps(sidecar, indent=2))
    return paths
