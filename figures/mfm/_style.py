"""Labels, colours and the seed-band helper shared by the ``mfm/`` figures."""

from __future__ import annotations

import numpy as np

EXACT_LABELS = {
    "condot": "CondOT (independent)",
    "batchot": "BatchOT",
    "batcheot": "BatchEOT (eps_rel 0.05)",
    "stable": "Stable (Gale–Shapley)",
}

COUPLING_LABELS = {"condot": "CondOT", "batchot": "BatchOT", "batcheot": "BatchEOT", "stable": "Stable"}
COLORS = {"condot": "C0", "batchot": "C3", "batcheot": "C2", "stable": "C1"}
ALL = {c: c for c in COUPLING_LABELS}
TWO = {"condot": "condot", "batchot": "batchot"}


def mean_se(values: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=np.float64)
    return v.mean(axis), v.std(axis=axis, ddof=1) / np.sqrt(v.shape[axis])
