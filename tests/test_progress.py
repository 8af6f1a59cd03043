"""Progress and its ETA: durations kept per tier, so a spec-size run never borrows the fast run's."""

from __future__ import annotations

import json

from proofs_checks.progress import Progress, expected_seconds


def test_timings_are_kept_per_tier(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("proofs_checks.progress.DEFAULT_CACHE_DIR", tmp_path)
    fast = Progress(["a", "b"], "verify", tier="fast")
    for item, sec in (("a", 2.0), ("b", 4.0)):
        fast.start(item)
        fast.done(item, sec)
    fast.close()
    assert json.loads((tmp_path / "timings-fast.json").read_text()) == {"a": 2.0, "b": 4.0}
    assert expected_seconds(tier="spec") == {}
    assert Progress(["a", "b"], "verify", tier="spec").eta() is None  # never timed at spec size
    assert Progress(["a", "b"], "verify", tier="fast").eta() == 6.0
