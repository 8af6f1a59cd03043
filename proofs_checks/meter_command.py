"""``memgen meter``: meter a velocity model trained elsewhere, on the user's own data.

::

    memgen meter --model pkg.mod:factory --data train.npy [--test test.npy] --path cosine \\
        --json m.json [--html m.html] [--samples N] [--seed S] [--steps K]

``--model`` names a module and a function in it, ``module:function``. **memgen imports that
module and calls the function, so it runs that module's code**, as ``python -c "import pkg.mod"``
would (the current folder is on the import path): name only code you trust. The function takes
no argument and returns the velocity model, a callable ``model(x, t)`` on torch tensors (``x``
of shape ``(M, d)``, ``t`` of shape ``(M,)``; a ``torch.nn.Module`` is evaluated in its own
dtype and device). ``--data`` and ``--test`` are ``.npy`` arrays of shape ``(N, d)``. Torch
and BLAS run on one thread, as in ``memgen verify``.

The meters (:func:`numerics.meters.meter`) are written as JSON and, with ``--html``, as one
self-contained page (plots embedded as PNG). Bad input — a missing or unreadable file, a wrong
shape, NaN or inf, a factory that cannot be imported or called, a model whose output is not a
finite ``(M, d)`` tensor — is a usage error: exit code 2 with one line saying what is wrong.
"""

from __future__ import annotations

import argparse
import base64
import html
import importlib
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from numerics.cache import atomic_write_text
from numerics.meters import MeterReport, meter
from numerics.provenance import jsonable


class MeterUsageError(ValueError):
    """Bad input to ``memgen meter`` (exit code 2)."""


def load_factory(spec: str) -> Any:
    """The function named by ``module:function`` (imports the module: runs its code).

    Raises
    ------
    MeterUsageError
        A spec without ``:``, a module that cannot be imported, a missing or non-callable name.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise MeterUsageError(f"--model must look like 'package.module:factory', got {spec!r}")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # the user's own module, as `python -m` would find it
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise MeterUsageError(f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}") from None
    factory = module
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise MeterUsageError(f"module {module_name!r} has no {attr!r} (factory not found)")
        factory = getattr(factory, part)
    if not callable(factory):
        raise MeterUsageError(f"{spec!r} is not callable: a factory returns the velocity model")
    return factory


def load_points(path: str, name: str) -> np.ndarray:
    """A finite ``(N, d)`` float64 array from a ``.npy`` file (no pickles)."""
    p = Path(path)
    if not p.is_file():
        raise MeterUsageError(f"{name} file {path} does not exist")
    try:
        arr = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise MeterUsageError(f"cannot read {name} file {path} as a .npy array: {exc}") from None
    if not isinstance(arr, np.ndarray) or arr.ndim != 2 or 0 in arr.shape:
        raise MeterUsageError(
            f"{name} must be a non-empty array of shape (N, d), got shape {getattr(arr, 'shape', '?')}"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise MeterUsageError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise MeterUsageError(f"{name} contains NaN or inf ({int(np.sum(~np.isfinite(arr)))} entries)")
    return arr


def _check_output(path: str | None) -> None:
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise MeterUsageError(f"output path {p} is a directory")
    if not p.parent.exists():
        raise MeterUsageError(f"folder {p.parent} of output {p} does not exist")


def _plots_png(r: MeterReport) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    top = max(float(r.nn_train.max()), *(float(a.max()) for a in (r.nn_test, r.test_nn_train) if a is not None))
    bins = np.linspace(0.0, top * 1.02, 50)
    ax.hist(r.nn_train, bins=bins, alpha=0.6, label="samples → nearest training point")
    if r.nn_test is not None:
        ax.hist(r.nn_test, bins=bins, alpha=0.6, label="samples → nearest test point")
        ax.hist(r.test_nn_train, bins=bins, histtype="step", color="k", density=False, label="test → nearest training")
    ax.set_xlabel("nearest-neighbour distance")
    ax.set_ylabel("count")
    ax.legend(fontsize=7)
    ax = axes[1]
    e = r.excess
    ax.errorbar(e.times, e.mean, yerr=e.se, fmt="o-")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("excess loss E|v_theta - v*|^2 (± SE)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _row(name: str, value: Any) -> str:
    return f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"


def meter_html(r: MeterReport, record: dict[str, Any]) -> str:
    """One self-contained page: the numbers, the seeds and the plots (embedded PNG)."""
    m = r.memorization
    rows = [
        _row("model", record["model"]),
        _row("training points (distinct)", f"{r.n_train} ({r.duplicates_removed} duplicates removed), d = {r.dim}"),
        _row("test points", r.n_test if r.n_test is not None else "none given"),
        _row("path, samples, RK4 steps, seed", f"{r.path}, {r.samples}, {r.steps}, {r.seed}"),
        _row("memorization ratio (r < 1/3)", f"{m.fraction:.4f} (95% CI {m.ci[0]:.4f} – {m.ci[1]:.4f})"),
        _row("excess loss, average over t", f"{r.excess.average:.4g}"),
        _row(
            "off-span fraction: samples / test",
            f"{r.off_span.fraction:.4g} / " + ("-" if r.test_off_span is None else f"{r.test_off_span.fraction:.4g}"),
        ),
    ]
    if r.w2 is not None:
        rows.append(
            _row(
                "W2(gen, train) vs W2(gen, test)",
                f"{r.w2.to_train:.4f} vs {r.w2.to_test:.4f} ({r.w2.points} points each)",
            )
        )
    if r.copying is not None:
        c = r.copying
        rows.append(
            _row(
                "C_T (Meehan et al. 2020; << 0: copying)", f"{c.statistic:.3f} ({int(c.kept.sum())} of {c.cells} cells)"
            )
        )
    png = base64.b64encode(_plots_png(r)).decode()
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>memgen meter</title>"
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}th{text-align:left;padding-right:1em}"
        "td,th{border-bottom:1px solid #ddd;padding:3px}</style></head><body>"
        f"<h1>memgen meter</h1><p>{html.escape(record['command'])}</p><table>{''.join(rows)}</table>"
        f"<h2>Nearest-neighbour distances and excess loss</h2><img alt='plots' src='data:image/png;base64,{png}' "
        "style='width:100%'><p>Left: a model that copies its training set puts its samples much nearer the training "
        "points than held-out test points are. Right: squared distance to the exact field of the training points per "
        "time (common random numbers, ± one standard error).</p></body></html>"
    )


def cmd_meter(args: argparse.Namespace) -> int:
    """Run ``memgen meter`` (see the module docstring); 0 on success, 2 on bad input."""
    from numerics.executor import pin_threads
    from numerics.paths import as_path

    pin_threads()  # torch and BLAS on one thread, as memgen verify: no oversubscription of shared cores
    try:
        for out in (args.json, args.html):
            _check_output(out)
        train = load_points(args.data, "--data")
        test = None if args.test is None else load_points(args.test, "--test")
        if test is not None and test.shape[1] != train.shape[1]:
            raise MeterUsageError(f"--test has dimension {test.shape[1]}, --data {train.shape[1]}")
        path = as_path(args.path)
        factory = load_factory(args.model)
        try:
            model = factory()
        except Exception as exc:
            raise MeterUsageError(f"the factory {args.model} raised {type(exc).__name__}: {exc}") from None
        if not callable(model):
            raise MeterUsageError(
                f"the factory {args.model} returned {type(model).__name__}, not a callable model(x, t)"
            )
        t0 = time.perf_counter()

        def progress(msg: str) -> None:
            print(f"[{time.perf_counter() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

        try:
            report = meter(
                model, train, test, path=path, samples=args.samples, steps=args.steps, seed=args.seed, progress=progress
            )
        except (TypeError, RuntimeError) as exc:
            raise MeterUsageError(f"metering {args.model} failed: {type(exc).__name__}: {exc}") from None
    except (MeterUsageError, ValueError) as exc:
        print(f"memgen meter: {exc}", file=sys.stderr)
        return 2
    options = [("--model", args.model), ("--data", args.data), ("--test", args.test), ("--path", args.path)]
    options += [("--samples", args.samples), ("--steps", args.steps), ("--seed", args.seed)]
    command = "memgen meter " + " ".join(f"{k} {v}" for k, v in options if v is not None)
    record = {"command": command, "model": args.model}
    atomic_write_text(args.json, json.dumps(jsonable({**record, **report.to_json()}), indent=2))
    if args.html:
        atomic_write_text(args.html, meter_html(report, record))
    m = report.memorization
    print(
        f"memorization ratio {m.fraction:.4f} (CI {m.ci[0]:.4f}-{m.ci[1]:.4f}), excess loss (mean over t) "
        f"{report.excess.average:.4g}"
        + ("" if report.copying is None else f", C_T {report.copying.statistic:.3f}")
        + f"; written to {args.json}"
        + (f" and {args.html}" if args.html else "")
        + f" in {report.seconds:.1f}s"
    )
    return 0


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def add_meter_parser(sub: Any, seed_type: Callable[[str], int]) -> None:
    """Register ``memgen meter`` on the sub-command parsers ``sub`` (``seed_type``: the CLI's parser of ``--seed``)."""
    p = sub.add_parser(
        "meter",
        help="meter a velocity model trained elsewhere (imports and runs the named module's code)",
        description=__doc__.split("::")[0].strip(),
    )
    p.add_argument(
        "--model", required=True, metavar="MODULE:FACTORY", help="module and factory; RUNS that module's code"
    )
    p.add_argument("--data", required=True, metavar="TRAIN.npy", help="training points (N, d)")
    p.add_argument("--test", metavar="TEST.npy", help="held-out points (M, d): W2 train vs test, C_T")
    p.add_argument(
        "--path", default="ot", help="probability path of the model: ot, cosine, vp, ot(0.01), 'alpha=...; sigma=...'"
    )
    p.add_argument("--json", required=True, metavar="PATH")
    p.add_argument("--html", metavar="PATH", help="one self-contained page with the plots")
    p.add_argument("--samples", type=_positive, default=1000, help="samples drawn from the model (default 1000)")
    p.add_argument("--steps", type=_positive, default=100, help="RK4 steps of the sampler (default 100)")
    p.add_argument("--seed", type=seed_type, default=0, help="seed of every random draw (default 0)")
    p.set_defaults(fn=cmd_meter)
