"""Judge of ``merger-goldt/train-test-gap`` (measurement: :mod:`numerics.experiments.merger_goldt.train_test_gap`); its controls' wrong forms."""

from __future__ import annotations

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import train_test_gap as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


def weights_null_modes_dropped(lam_hat: np.ndarray, s: float, ridge: float = 0.0) -> np.ndarray:
    """Optimal per-mode weights set to 0 on the null modes (a pseudo-inverse in place of the inverse)."""
    return np.where(np.asarray(lam_hat) > 0, ld.mode_weights(lam_hat, s, ridge), 0.0)


def mode_weights_without_ridge(lam_hat: np.ndarray, s: float, ridge: float = 0.0) -> np.ndarray:
    """Per-mode weights that ignore the ridge."""
    return ld.mode_weights(lam_hat, s, 0.0)


@check(
    "merger-goldt/train-test-gap",
    title="large train–test gap for $N<d$ at small $t$; ridge closes it; small for $N>d$",
    tag="paper",
    kinds=("monte-carlo",),
    tier=exp.TRAIN_TEST_GAP,
    controls={
        "null-modes-dropped": Control(
            fault={"weights": weights_null_modes_dropped},
            breaks="N=200 ridge=0 t=1: E_test/E_train",
            why="w = 0 on the null modes (pseudo-inverse)",
        ),
        "ridge-ignored": Control(
            fault={"weights": mode_weights_without_ridge},
            breaks="N=200 ridge=0.1 t=1: E_test/E_train",
            why="weights computed with lambda = 0",
        ),
    },
)
def check_train_test_gap(run: RunSpec, weights=ld.mode_weights) -> Verdict:
    """(P3) A large train-test gap for N < d at small t, closed by ridge, small for N > d (d = 400, k = 1.5).

    Controls: weights without the null modes; weights without the ridge.
    """
    m = exp.train_test_gap(run, weights)
    small, large = min(m.ns), max(m.ns)
    ev = Evidence.of("spec merger_goldt.md §3 row train-test-gap (abstract P3)", m)
    why = "spec criterion (P3)"
    ev.at_least(
        f"N={small} ridge=0 t=1: E_test/E_train", m.ratio(small, 0.0, 1), 100.0, basis="spec", why=why, headline=True
    )
    ev.at_least(f"N={small} ridge=0 t=10: E_test/E_train", m.ratio(small, 0.0, 10), 10.0, basis="spec", why=why)
    ev.at_most(
        f"N={small} ridge=0.1 t=1: E_test/E_train",
        m.ratio(small, 0.1, 1),
        1.05,
        basis="spec",
        why=why + ": ridge closes the gap",
    )
    for t in (1, 10):
        ev.at_most(
            f"N={large} ridge=0 t={t}: E_test/E_train",
            m.ratio(large, 0.0, t),
            1.05,
            basis="spec",
            why=why + ": small for N > d",
        )
    ev.report(f"N={small} ridge=0.1 t=10: E_test/E_train", m.ratio(small, 0.1, 10))
    ev.report(f"N={small} E_test [ridge][t]", m.test[m.ns.index(small)].tolist())
    ev.report(f"N={small} E_train [ridge][t]", m.train[m.ns.index(small)].tolist())
    return ev.verdict()
