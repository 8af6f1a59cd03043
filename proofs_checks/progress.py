"""Progress a person can follow: one overall bar with an ETA, the item in progress, timings kept.

The ETA comes from the durations of the last run of the same tier (kept in ``timings-<tier>.json``
in the cache folder, per claim or figure id: a spec-size run takes far longer than a fast one);
items never timed count as the median of the known ones. On a terminal
the bar is drawn with ``rich``; in a log (CI, a pipe) each item gets one plain line with the ETA.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from numerics.cache import DEFAULT_CACHE_DIR, atomic_write_text


def timings_path(tier: str = "fast") -> Path:
    """Where the durations of the last run of ``tier`` are kept."""
    return DEFAULT_CACHE_DIR / f"timings-{tier}.json"


def expected_seconds(path: Path | None = None, tier: str = "fast") -> dict[str, float]:
    """Durations of the last run of ``tier`` (or those kept at ``path``) per claim or figure id
    (empty when never timed)."""
    path = timings_path(tier) if path is None else path
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(0.0, seconds)
    return f"{seconds / 60:.0f}m{seconds % 60:02.0f}s" if seconds >= 60 else f"{seconds:.0f}s"


class Progress:
    """Overall progress over ``items`` (claim or figure ids) with an ETA from the last run's timings."""

    def __init__(self, items: list[str], label: str, timings: Path | None = None, tier: str = "fast") -> None:
        self.items, self.label = list(items), label
        self.path = Path(timings) if timings is not None else timings_path(tier)
        self.expected = expected_seconds(self.path)
        known = [self.expected[i] for i in self.items if i in self.expected]
        self.default = statistics.median(known) if known else None
        self.measured: dict[str, float] = {}
        self.current: str | None = None
        self.t_item = self.t0 = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self.bar = None
        if self.tty and self.items:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self.bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA {task.fields[eta]}"),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(label, total=len(self.items), eta=self.eta_text())

    def _guess(self, item: str) -> float | None:
        return self.expected.get(item, self.default)

    def eta(self) -> float | None:
        """Seconds left: the expected time of every item not started, plus what remains of the current one."""
        left = [i for i in self.items if i not in self.measured and i != self.current]
        guesses = [self._guess(i) for i in left]
        if any(g is None for g in guesses):
            return None
        rest = sum(guesses)
        if self.current is not None:
            cur = self._guess(self.current)
            if cur is None:
                return None
            rest += max(cur - (time.perf_counter() - self.t_item), 0.0)
        return rest

    def eta_text(self) -> str:
        return _fmt(self.eta())

    def start(self, item: str) -> None:
        self.current, self.t_item = item, time.perf_counter()
        if self.bar is not None:
            self.bar.update(self.task, description=f"{self.label}: {item}", eta=self.eta_text())
        else:
            n = len(self.measured) + 1
            print(f"[{n}/{len(self.items)}] {item} ... (ETA {self.eta_text()})", file=sys.stderr, flush=True)

    def note(self, msg: str) -> None:
        if self.bar is not None:
            self.bar.console.print(f"  {msg}", style="dim")
        else:
            print(f"    {msg}", file=sys.stderr, flush=True)

    def done(self, item: str, seconds: float | None = None) -> None:
        self.measured[item] = time.perf_counter() - self.t_item if seconds is None else seconds
        self.current = None
        if self.bar is not None:
            self.bar.update(self.task, advance=1, eta=self.eta_text())

    def close(self) -> None:
        """Stop the bar and keep this run's timings for the next ETA."""
        if self.bar is not None:
            self.bar.stop()
        if self.measured:
            try:
                atomic_write_text(self.path, json.dumps({**self.expected, **self.measured}, indent=1, sort_keys=True))
            except OSError:  # timings are a convenience: a read-only cache folder must not fail the run
                pass
