"""Figure registry and the writer that gives every figure its data and provenance.

A figure function takes a :class:`FigureContext` and returns a :class:`FigureOutput` (a
matplotlib figure, the arrays it plots, its parameters and caption). :func:`render` writes
``<id>.png``, ``<id>.pdf``, ``<id>.npz`` (data) and ``<id>.json`` (sidecar: parameters, seed,
package version, git commit, elapsed seconds, claim ids) atomically.
"""

from __future__ import annotations

import difflib
import io
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from numerics.cache import DiskCache, atomic_write_bytes, atomic_write_text

PAPERS = ("common", "gao-li", "mfm", "merger-goldt")
DEFAULT_OUT = Path(__file__).resolve().parent / "out"


@dataclass
class FigureContext:
    out: Path = DEFAULT_OUT
    seed: int | None = None
    full: bool = False
    executor: Any = None
    cache: DiskCache = field(default_factory=DiskCache)
    progress: Callable[[str], None] = field(default=lambda msg: None)

    def __post_init__(self) -> None:
        if self.executor is None:
            from numerics.executor import InProcessExecutor

            self.executor = InProcessExecutor()

    def seed_for(self, default: int) -> int | list[int]:
        return default if self.seed is None else [int(self.seed), int(default)]

    def rng(self, default: int) -> np.random.Generator:
        return np.random.default_rng(self.seed_for(default))


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
    fn: Callable[[FigureContext], FigureOutput]
    slow: bool = False


FIGURES: dict[str, FigureSpec] = {}


def figure(fig_id: str, title: str, claims: tuple[str, ...] = (), slow: bool = False):
    """Register a figure function under ``<paper>/fig-<slug>``.

    ``slow`` marks figures that train models (drawn by ``memgen figures`` all the same; the
    flag only tells tests to skip them by default).
    """
    paper, _, slug = fig_id.partition("/")
    if paper not in PAPERS or not slug.startswith("fig-"):
        raise ValueError(f"figure id must look like '<paper>/fig-<slug>', got {fig_id!r}")

    def deco(fn: Callable[[FigureContext], FigureOutput]):
        if fig_id in FIGURES and FIGURES[fig_id].fn is not fn:
            raise ValueError(f"duplicate figure id {fig_id!r}")
        FIGURES[fig_id] = FigureSpec(fig_id, paper, title, tuple(claims), fn, slow)
        return fn

    return deco


# One module per paper (the learned-model figures of two papers sit in a module beside it).
FIGURE_MODULES = (
    "figures.gao_li",
    "figures.gao_li_learned",
    "figures.mfm",
    "figures.mfm_learned",
    "figures.merger_goldt",
)


def load_all() -> dict[str, FigureSpec]:
    import importlib

    for name in FIGURE_MODULES:
        importlib.import_module(name)
    return FIGURES


def get_figure(fig_id: str) -> FigureSpec:
    load_all()
    if fig_id not in FIGURES:
        close = difflib.get_close_matches(fig_id, list(FIGURES), n=3, cutoff=0.4)
        hint = f"; closest ids: {', '.join(close)}" if close else ""
        raise KeyError(f"unknown figure id {fig_id!r}{hint}")
    return FIGURES[fig_id]


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).resolve().parent
        )
        sha = out.stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
        return (sha + ("-dirty" if dirty else "")) if sha else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def package_version() -> str:
    try:
        from importlib.metadata import version

        return version("memgen-theory")
    except Exception:
        return "unknown"


def _stem(out: Path, fig_id: str) -> Path:
    return out / fig_id.replace("/", "__")


def render(fig_id: str, ctx: FigureContext | None = None) -> dict[str, Path]:
    """Draw figure ``fig_id`` and write PNG, PDF, data and sidecar; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spec = get_figure(fig_id)
    ctx = ctx or FigureContext()
    t0 = time.perf_counter()
    result = spec.fn(ctx)
    elapsed = time.perf_counter() - t0
    stem = _stem(Path(ctx.out), fig_id)
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
    from proofs_checks.registry import _jsonable

    sidecar = {
        "id": fig_id,
        "title": spec.title,
        "caption": result.caption,
        "claims": list(spec.claims),
        "parameters": _jsonable(result.params),
        "seed": _jsonable(result.seed),
        "package_version": package_version(),
        "git_commit": git_commit(),
        "elapsed_seconds": round(elapsed, 3),
        "full": ctx.full,
        "files": {k: p.name for k, p in paths.items()},
    }
    atomic_write_text(paths["json"], json.dumps(sidecar, indent=2))
    return paths
