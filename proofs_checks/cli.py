"""The ``memgen`` command: ``list``, ``verify``, ``figures``, ``report``, ``cache``.

Exit codes: 0 every selected claim verified (or the command succeeded), 1 a claim refuted or
inconclusive (a finding, reported in the ledger), 2 usage error (unknown id or paper, bad option),
3 a check raised, or (``verify --controls``) a negative control did not fail on the comparison it
names: a check that cannot be shown to fail is a defect.

This module is the composition root of the suite: it is the one place in ``proofs_checks`` that
imports ``figures`` (to draw them); checks and figures otherwise only share ``numerics``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from numerics.experiments import RunSpec
from proofs_checks.claims import all_claims, get_claim, get_paper
from proofs_checks.evidence import PASSING, RegistryError, Verdict, describe_failure, format_value, status_summary
from proofs_checks.outputs import check_folder, check_report_outputs, check_verify_outputs
from proofs_checks.progress import Progress
from proofs_checks.registry import check_spec_tiers

REPO_ROOT = Path(__file__).resolve().parent.parent


def _console():
    from rich.console import Console

    # a wide table when piped to a file or CI log, the terminal's width otherwise
    return Console(highlight=False, width=None if sys.stdout.isatty() else 180)


def _summary_cells(v: Verdict) -> tuple[str, str, str]:
    """Measured, expected, tolerance of the headline comparison (first failing, else the marked one)."""
    c = v.headline()
    if c is None:
        return "-", "-", "-"
    n = sum(x.asserted for x in v.comparisons)
    more = f" (+{n - 1})" if n > 1 else ""
    return format_value(c.measured) + more, format_value(c.expected), c.tolerance


def _sizes_cell(v: Verdict) -> str:
    if not v.sizes:
        return "-"
    if not v.short_of_spec:
        return "spec"
    return "reduced: " + ", ".join(
        f"{k}={format_value(_dotted(v.sizes, k))}/{format_value(_dotted(v.spec_sizes, k))}" for k in v.short_of_spec
    )


def _controls_cell(v: Verdict) -> tuple[str, str]:
    """How many of the claim's controls failed as they should (the defects named), and its style."""
    if v.controls is None:
        return "not run", "dim"
    defects = v.control_defects()
    if not defects:
        return f"{len(v.controls)} of {len(v.controls)} fail as they should", "green"
    return f"{len(defects)} of {len(v.controls)} did not fail: {', '.join(defects)}", "red"


def _dotted(d: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        d = d[part]
    return d


def cmd_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from figures.registry import load_all

    if args.paper is not None:
        get_paper(args.paper)
    tiers = check_spec_tiers()
    t = Table(title="claims")
    for col in ("id", "tag", "kind", "tier", "check", "fast sizes"):
        t.add_column(col)
    for c in all_claims(args.paper):
        tier = tiers.get(c.id)
        sizes = (
            "-"
            if tier is None
            else ("spec" if not tier.reduced_fields else "reduced: " + ", ".join(tier.reduced_fields))
        )
        t.add_row(c.id, c.tag, " + ".join(c.kinds), c.tier, "yes" if c.id in tiers else "no", sizes)
    con = _console()
    con.print(t)
    ft = Table(title="figures")
    for col in ("id", "claims", "trains models"):
        ft.add_column(col)
    for f in load_all().values():
        if args.paper is None or f.paper == args.paper:
            ft.add_row(f.id, ", ".join(f.claims), "yes" if f.slow else "no")
    con.print(ft)
    return 3 if _report_load_errors() else 0


def _record_cells(verdicts: list[Verdict], run: dict[str, Any]) -> dict[str, str]:
    """Each claim's spec-size record in a few words: its status and date, and whether this run finds it current."""
    from proofs_checks.records import load_records, record_state

    recs = load_records([v.claim_id for v in verdicts])
    out = {}
    for v in verdicts:
        state = record_state(recs.get(v.claim_id), v.to_json(), run)
        if state.state in ("none", "unusable"):
            out[v.claim_id] = f"[dim]{state.state}[/]" if state.state == "none" else "[red]unusable[/]"
        else:
            style = {"current": "green", "stale": "yellow"}.get(state.state, "dim")
            out[v.claim_id] = f"{state.status} {state.date[:10]}, [{style}]{state.state}[/]"
    return out


def _verdicts_table(verdicts: list[Verdict], records: dict[str, str] | None = None):
    from rich.table import Table

    from proofs_checks.registry import get_claim

    t = Table(title="memgen verify")
    with_controls = any(v.controls is not None for v in verdicts)
    cols = ("id", "tag", "measured", "expected", "tolerance", "status", "sizes", "time")
    for col in cols + (("controls",) if with_controls else ()) + (("spec record",) if records else ()):
        t.add_column(col, overflow="fold")
    for v in verdicts:
        m, e, tol = _summary_cells(v)
        style = STATUS_STYLE[v.status]
        row = [v.claim_id, get_claim(v.claim_id).tag, m, e, tol, f"[{style}]{v.status}[/]", _sizes_cell(v)]
        row.append(f"{v.seconds:.1f}s")
        if with_controls:
            text, control_style = _controls_cell(v)
            row.append(f"[{control_style}]{text}[/]")
        if records:
            row.append(records.get(v.claim_id, ""))
        t.add_row(*row)
    return t


STATUS_STYLE = {
    "verified": "green",
    "verified-reduced": "yellow",
    "inconclusive": "magenta",
    "refuted": "red",
    "error": "red",
    "not-run": "dim",
}


def _verdicts_markdown(verdicts: list[Verdict]) -> str:
    lines = [
        "| id | tag | measured | expected | tolerance | status | sizes | time | controls |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        m, e, tol = _summary_cells(v)
        controls, _ = _controls_cell(v)
        lines.append(
            f"| `{v.claim_id}` | {get_claim(v.claim_id).tag} | {m} | {e} | {tol} | {v.status} | {_sizes_cell(v)} "
            f"| {v.seconds:.1f}s | {controls} |"
        )
    return "\n".join(lines) + "\n"


def _start_run(args: argparse.Namespace, bar: Progress) -> tuple[Any, RunSpec]:
    """The executor (in-process, ``--workers`` pool or ``--scheduler`` cluster) and the run."""
    from numerics.cache import DiskCache
    from numerics.executor import make_executor
    from theory.validation import max_dense_bytes

    try:
        path = RunSpec(path=args.path).path if args.path is not None else None  # refused before any work
        cache = DiskCache()
        max_dense_bytes()  # MEMGEN_MAX_DENSE_GB read now: a bad value must not wait for a cache miss
        executor = make_executor(args.workers, args.scheduler, args.resources)
    except BaseException:
        bar.close()
        raise
    run = RunSpec(
        tier="spec" if args.full else "fast",
        seed=args.seed,
        executor=executor,
        cache=cache,
        progress=bar.note,
        path=path,
    )
    return executor, run


def _write_verify_files(args: argparse.Namespace, verdicts: list[Verdict], writer: Any, record: dict) -> Path | None:
    """``--markdown`` and the ledger beside ``--json``; returns the ledger's HTML page (``None`` without ``--json``)."""
    from numerics.cache import atomic_write_text
    from proofs_checks.report import write_ledger

    if args.markdown:
        atomic_write_text(args.markdown, _verdicts_markdown(verdicts))
    if not args.json:
        return None
    meta = {**record, **writer.meta}
    paths, _ = write_ledger(list(writer.records.values()), Path(args.json).parent, Path(args.figures_dir), meta)
    return paths["html"]


def _report_load_errors() -> bool:
    """Print the judge modules that failed to import (their claims are missing): a bug, exit 3."""
    from proofs_checks.registry import load_errors

    errors = load_errors()
    for module, error in errors.items():
        print(f"judge module {module} failed to import (its claims are missing): {error}", file=sys.stderr)
    return bool(errors)


def _time_table(verdicts: list[Verdict], ahead: dict[str, float], wall: float) -> Any:
    """Seconds per claim (check, controls) and per prerequisite run ahead, slowest first, with the wall time."""
    from rich.table import Table

    table = Table(title=f"time per claim (wall {wall / 60:.1f} min)")
    for col, justify in (
        ("claim / work ahead", "left"),
        ("status", "left"),
        ("check s", "right"),
        ("controls s", "right"),
    ):
        table.add_column(col, justify=justify)
    rows = [(v.claim_id, v.status, v.seconds, sum(c.seconds for c in (v.controls or {}).values())) for v in verdicts]
    rows += [(f"ahead: {label}", "", s, 0.0) for label, s in ahead.items()]
    for name, status, s, cs in sorted(rows, key=lambda r: -(r[2] + r[3])):
        table.add_row(name, status, f"{s:.1f}", f"{cs:.1f}" if cs else "")
    total = sum(r[2] + r[3] for r in rows)
    table.add_row("total (CPU-bound work, all workers)", "", f"{total:.0f}", "")
    return table


def cmd_verify(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from numerics.executor import TASK_THREADS, shutdown_now
    from proofs_checks import records
    from proofs_checks import verdicts_file as vf
    from proofs_checks.evidence import verdict_from_json
    from proofs_checks.runner import PREREQUISITE_SECONDS, run_claims, select_claims

    claims = select_claims(args.ids, args.paper, args.full)
    if args.records_dir:  # read and written there, by this process and its workers, the ledger included
        os.environ[records.RECORDS_ENV] = str(Path(args.records_dir).resolve())
    if _report_load_errors():
        return 3
    if not claims:
        print("no claim selected", file=sys.stderr)
        return 2
    # Output paths are checked before any work: a wrong path must not cost a whole run.
    check_verify_outputs(args.json, args.markdown)
    if args.resume and not args.json:
        raise vf.VerdictsFileError("--resume needs --json PATH (the file of the run to resume)")
    if args.record and not args.full:
        print("--record writes spec-size records: give --full too", file=sys.stderr)
        return 2
    tier = "spec" if args.full else "fast"
    record = vf.run_record(tier, args.seed)
    kept = vf.resumable(args.json, record, controls=args.controls) if args.resume else []
    kept_ids = {r["id"] for r in kept}
    todo = [c for c in claims if c.id not in kept_ids]
    writer = vf.VerdictsWriter(args.json, record, [r for r in kept if r["id"] in {c.id for c in claims}])
    if kept:
        print(f"resuming: {len(kept_ids & {c.id for c in claims})} claims kept from {args.json}", file=sys.stderr)

    bar = Progress([c.id for c in todo], "verify", tier=tier)
    executor, run = _start_run(args, bar)
    t0 = time.perf_counter()

    fast: dict[str, dict[str, Any]] = {}
    written: list[str] = []
    mach = records.machine(args.workers, TASK_THREADS) if args.record else {}

    def done(c: Any, v: Verdict) -> None:
        writer.add(v.to_json() | {"tag": get_claim(v.claim_id).tag})
        # with --controls the claim's task also ran its controls: the ETA and the pool's order count them
        bar.done(c.id, v.seconds + sum(x.seconds for x in (v.controls or {}).values()))
        if args.record and v.status != "error":  # written now: a later interruption must not lose it
            records.write_record(records.make_record(v.to_json(), fast.get(c.id), record, mach))
            written.append(c.id)

    interrupted = False
    t_spec = time.perf_counter()
    try:
        if args.record:
            fast_claims = [c for c in todo if c.tier == "fast"]
            bar.note(f"record: the fast tier of {len(fast_claims)} claims first (the values later runs compare with)")
            run_claims(fast_claims, replace(run, tier="fast"), on_done=lambda c, v: fast.__setitem__(c.id, v.to_json()))
            bar.note(f"record: fast tier measured in {time.perf_counter() - t0:.0f}s; now the spec's sizes")
        t_spec = time.perf_counter()
        run_claims(todo, run, on_start=lambda c: bar.start(c.id), on_done=done, controls=args.controls)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.measured.update({f"prerequisite {k}": v for k, v in PREREQUISITE_SECONDS.items()})
        bar.close()
        if interrupted:
            shutdown_now(executor)
        else:
            executor.shutdown()
    verdicts = [verdict_from_json(writer.records[c.id]) for c in claims if c.id in writer.records]
    if interrupted:
        print(
            f"interrupted: {len(verdicts)} of {len(claims)} verdicts kept in {args.json or '(no --json file)'}; "
            "rerun with --resume to finish",
            file=sys.stderr,
        )
        return 130
    writer.finish([c.id for c in claims])
    ledger = _write_verify_files(args, verdicts, writer, record)  # files first: a closed stdout must not lose them
    con = _console()
    con.print(_verdicts_table(verdicts, _record_cells(verdicts, record)))
    for v in verdicts:
        if v.error:
            con.print(f"[red]{v.claim_id}: {v.error.strip().splitlines()[0]}[/]")
        for c in v.failing():
            con.print(f"[{STATUS_STYLE[v.status]}]{v.claim_id}: {describe_failure(c)}[/]")
    defects = [(v, name) for v in verdicts for name in v.control_defects()]
    for v, name in defects:
        con.print(f"[red]{v.claim_id}: {(v.controls or {})[name].describe(name)}[/]")
    if args.path:
        own = [v.claim_id for v in verdicts if not isinstance(v.details.get("path"), dict)]
        con.print(
            f"path {args.path!r}: followed by {len(verdicts) - len(own)} claims; {len(own)} ran on their own path"
        )
    n_pass = sum(v.status in PASSING for v in verdicts)
    con.print(status_summary(Counter(v.status for v in verdicts), len(verdicts)))
    # "passed" counts verified claims only: an inconclusive or refuted claim is not a pass
    con.print(f"{n_pass} passed, {len(verdicts) - n_pass} failed in {time.perf_counter() - t0:.1f}s")
    if args.controls:
        n_controls = sum(len(v.controls or {}) for v in verdicts)
        con.print(
            f"controls: {n_controls - len(defects)} of {n_controls} fail on the comparison they name"
            + (f"; {len(defects)} do not (a defect of the check)" if defects else "")
        )
    if args.full:
        con.print(_time_table(verdicts, dict(PREREQUISITE_SECONDS), time.perf_counter() - t_spec))
    if written:
        con.print(f"records: {len(written)} written to {records.records_root()}")
    if ledger is not None:
        con.print(f"ledger: {ledger}")
    if defects or any(v.status == "error" for v in verdicts):
        return 3
    return 0 if n_pass == len(verdicts) else 1


def cmd_figures(args: argparse.Namespace) -> int:
    from figures.registry import LOAD_ERRORS, get_figure, load_all, render_all

    figs = load_all()
    if args.ids:
        try:
            specs = [get_figure(i) for i in args.ids]
        except KeyError as exc:
            print(f"memgen: {exc.args[0]}", file=sys.stderr)
            return 2
    else:
        if args.paper is not None:
            get_paper(args.paper)
        specs = [f for f in figs.values() if args.paper is None or f.paper == args.paper]
    check_folder(args.out, "--out")
    bar = Progress([f.id for f in specs], "figures", tier="spec" if args.full else "fast")
    executor, run = _start_run(args, bar)

    def done(r: Any) -> None:
        state = "up to date" if r.skipped else ("FAILED" if r.error else f"{r.seconds:.1f}s")
        bar.note(f"{r.id}: {state}")
        bar.done(r.id, r.seconds)

    try:
        results = render_all([f.id for f in specs], run, Path(args.out), args.force, on_start=bar.start, on_done=done)
    finally:
        bar.close()
        executor.shutdown()
    for module, err in LOAD_ERRORS.items():
        print(f"memgen: figure module {module} failed to import: {err}", file=sys.stderr)
    failed = [r for r in results if r.error]
    for r in failed:
        print(f"memgen: figure {r.id} failed: {r.error}", file=sys.stderr)
    skipped = sum(r.skipped for r in results)
    print(
        f"{len(results) - len(failed)} figures in {args.out} ({skipped} up to date, "
        f"{len(results) - len(failed) - skipped} drawn), {len(failed)} failed"
    )
    return 1 if failed or LOAD_ERRORS else 0


def cmd_report(args: argparse.Namespace) -> int:
    from proofs_checks import verdicts_file as vf
    from proofs_checks.report import write_ledger

    out = Path(args.out)
    source = Path(args.from_json) if args.from_json is not None else out / "verdicts.json"
    check_report_outputs(args.out, source)
    if not source.exists() and not args.from_json:
        print(f"no {source}: running the fast-tier checks and their controls first", file=sys.stderr)
        ns = build_parser().parse_args(["verify", "--controls", "--json", str(source)])
        cmd_verify(ns)
    data = vf.load(source)
    meta = {**data.get("run", {}), **data.get("meta", {})}
    paths, ledger = write_ledger(data["claims"], out, Path(args.figures_dir), meta)
    for p in ledger["papers"]:
        print(f"{p['paper']}: {p['summary']}")
    print(ledger["summary"])
    print(f"ledger written to {paths['md']} and {paths['html']}")
    return 0


def cmd_cache(args: argparse.Namespace) -> int:
    from numerics.cache import DiskCache

    cache = DiskCache(args.dir) if args.dir else DiskCache()
    if args.action == "clear":
        print(f"removed {cache.clear()} files from {cache.root}")
        return 0
    entries = cache.entries()
    bad = [e for e in entries if not e.ok]
    if args.action == "verify":
        for e in bad:
            print(f"damaged: {e.path.name}: {e.problem}")
        if args.remove_damaged:
            cache.remove_damaged()
            print(f"removed {len(bad)} damaged entries")
        print(f"{len(entries) - len(bad)} of {len(entries)} entries verified in {cache.root}")
        return 1 if bad and not args.remove_damaged else 0
    for e in entries:
        state = "ok" if e.ok else f"DAMAGED ({e.problem})"
        print(f"{e.name:28s} {e.size / 1e6:9.2f} MB  {e.created:25s} {e.version:10s} {state}")
    print(f"{len(entries)} entries, {sum(e.size for e in entries) / 1e6:.1f} MB in {cache.root}")
    return 0


def _non_negative_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return n


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """Seed and where the work runs (``verify`` and ``figures``)."""
    p.add_argument(
        "--seed", type=_non_negative_int, help="derive every draw from this seed (>= 0) instead of the spec seeds"
    )
    p.add_argument(
        "--workers", type=_non_negative_int, default=None, help="local process pool for sweeps (at most the CPU count)"
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=os.environ.get("MEMGEN_SCHEDULER") or None,
        help="run claims and sweeps on Dask: tcp://host:port (a running scheduler) or local:N (N local workers); "
        "default MEMGEN_SCHEDULER; needs pip install 'memgen-theory[dask]'",
    )
    p.add_argument(
        "--path",
        metavar="PATH",
        help="affine Gaussian path of the claims that follow one: ot, cosine, vp, ve, ot(0.01), vp(0.1, 20) or "
        "'alpha=<expr in t>; sigma=<expr in t>' (e.g. 'alpha=sin(pi*t/2); sigma=cos(pi*t/2)')",
    )
    p.add_argument(
        "--resources",
        metavar="NAME=N",
        help="with --scheduler: Dask resources training tasks ask for, e.g. GPU=1 (workers started with "
        "dask worker ADDRESS --resources GPU=1)",
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memgen", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    pl = sub.add_parser("list", help="claims and figures with tags and tiers")
    pl.add_argument("--paper", help="a paper id (common, gao-li, mfm, merger-goldt, ...)")
    pl.set_defaults(fn=cmd_list)

    pv = sub.add_parser("verify", help="run claim checks")
    pv.add_argument("ids", nargs="*", help="claim ids (default: every fast-tier claim of --paper or of all papers)")
    pv.add_argument("--paper", help="a paper id")
    pv.add_argument("--full", action="store_true", help="full tier: larger sizes, longer training")
    _add_run_options(pv)
    pv.add_argument(
        "--controls",
        action="store_true",
        help="also run each claim's negative controls (after its check, in the same task) and record in the verdict "
        "whether each fails on the comparison it names; one that does not is a defect of the check (exit 3)",
    )
    pv.add_argument("--json", metavar="PATH")
    pv.add_argument("--markdown", metavar="PATH")
    pv.add_argument(
        "--resume", action="store_true", help="keep the verified claims of --json PATH from the same run; run the rest"
    )
    pv.add_argument(
        "--figures-dir",
        default=str(REPO_ROOT / "figures" / "out"),
        help="figures shown in the ledger written beside --json",
    )
    pv.add_argument(
        "--record",
        action="store_true",
        help="with --full: write each claim's spec-size record (one JSON per claim, with the fast tier's values "
        "from the same commit, measured first) as it finishes",
    )
    pv.add_argument(
        "--records-dir",
        metavar="DIR",
        default=None,
        help="where records are read and written (default: MEMGEN_RECORDS or proofs_checks/records)",
    )
    pv.set_defaults(fn=cmd_verify)

    pf = sub.add_parser("figures", help="regenerate figures (PNG + PDF + data + JSON sidecar)")
    pf.add_argument("ids", nargs="*", help="figure ids (default: all)")
    pf.add_argument("--paper", help="a paper id")
    pf.add_argument("--out", default=str(REPO_ROOT / "figures" / "out"))
    pf.add_argument("--full", action="store_true")
    _add_run_options(pf)
    pf.add_argument("--force", action="store_true", help="redraw figures whose inputs and code are unchanged")
    pf.set_defaults(fn=cmd_figures)

    pr = sub.add_parser("report", help="write the claims ledger (Markdown, HTML, JSON)")
    pr.add_argument("--out", default="reports")
    pr.add_argument("--from", dest="from_json", metavar="JSON", help="verdicts written by verify --json")
    pr.add_argument("--figures-dir", default=str(REPO_ROOT / "figures" / "out"))
    pr.set_defaults(fn=cmd_report)

    pc = sub.add_parser("cache", help="list, verify or clear the disk cache of models and measurements")
    pc.add_argument("action", choices=("list", "verify", "clear"))
    pc.add_argument("--dir", help="cache folder (default: MEMGEN_CACHE or .cache/)")
    pc.add_argument("--remove-damaged", action="store_true", help="with verify: delete entries that fail verification")
    pc.set_defaults(fn=cmd_cache)

    from proofs_checks.meter_command import add_meter_parser

    add_meter_parser(sub, _non_negative_int)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    restore = _interrupt_on_sigterm()
    try:
        return args.fn(args)
    except RegistryError as exc:
        print(f"memgen: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"memgen: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # stdout closed early (memgen ... | head -1): the files are written already
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a writer whose reader left
    finally:
        restore()


def _interrupt_on_sigterm() -> Any:
    """SIGTERM (a job scheduler, ``kill``) as Ctrl-C: the run stops through its ``finally`` blocks, so the
    pool's workers are stopped and the finished verdicts kept. Returns what restores the previous handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    return lambda: signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
