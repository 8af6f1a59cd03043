"""Judges of ``merger-goldt/optimal-ridge`` and ``merger-goldt/early-stopping`` (measurement: :mod:`numerics.experiments.merger_goldt.regularisation`); their controls' wrong forms."""

from __future__ import annotations

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import regularisation as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


def mode_recursion_without_ridge(lam_hat: np.ndarray, schedule: ld.Schedule, **kw) -> ld.GeneratedModes:
    """The recursion with the ridge dropped from the denoiser weights."""
    return ld.mode_recursion(lam_hat, schedule, **{**kw, "ridge": 0.0})


def mode_recursion_at_convergence(lam_hat: np.ndarray, schedule: ld.Schedule, **kw) -> ld.GeneratedModes:
    """The recursion with the converged weights whatever the training time (early stopping ignored)."""
    return ld.mode_recursion(lam_hat, schedule, **{**kw, "train_time": None})


@check(
    "merger-goldt/optimal-ridge",
    title="ridge strongly reduces KL for $N<d$, barely for $N\\gg d$",
    tag="paper",
    kinds=("monte-carlo",),
    tier=exp.OPTIMAL_RIDGE,
    controls={
        "ridge-ignored": Control(
            fault={"recursion": mode_recursion_without_ridge},
            breaks="N=50: min over lambda of KL / KL(lambda=0)*",
            why="the generated law computed without the ridge",
        )
    },
)
def check_optimal_ridge(run: RunSpec, recursion=ld.mode_recursion) -> Verdict:
    """(P3) Ridge reduces the KL a lot for N < d (interior optimum), little for N >> d (d = 100, seed 0).

    Control: the ridge dropped from the generated law.
    """
    m = exp.optimal_ridge(run, recursion)
    small, large = m.ns.index(min(m.ns)), m.ns.index(max(m.ns))
    ev = Evidence.of("spec merger_goldt.md §3 row optimal-ridge (abstract P3)", m)
    kl = m.kl[small]  # (k, ridge)
    best = kl.argmin(axis=1)
    ev.at_most(
        f"N={m.ns[small]}: min over lambda of KL / KL(lambda=0), per k={list(m.ks)}",
        kl.min(axis=1) / kl[:, 0],
        0.5,
        basis="spec",
        why="spec criterion",
        headline=True,
    )
    ev.holds(
        f"N={m.ns[small]}: minimiser lambda* interior, per k",
        bool(np.all((best > 0) & (best < len(m.grid) - 1))),
        measured=[m.grid[i] for i in best],
        expected=f"0 < lambda* < {m.grid[-1]}",
        basis="spec",
        why="spec criterion: optimal ridge > 0",
    )
    ev.at_least(
        f"N={m.ns[large]}: min over lambda of KL / KL(lambda=0), per k",
        m.kl[large].min(axis=1) / m.kl[large][:, 0],
        0.8,
        basis="spec",
        why="spec criterion",
    )
    for name, i in (("small", small), ("large", large)):
        ev.report(f"N={m.ns[i]} ({name}): KL/d [k][lambda]", m.kl[i].tolist(), f"lambda grid {list(m.grid)}")
    return ev.verdict()


@check(
    "merger-goldt/early-stopping",
    title="interior optimal training time for $N<d$, little gain for $N\\gg d$",
    tag="paper",
    kinds=("monte-carlo",),
    tier=exp.EARLY_STOPPING,
    controls={
        "training-time-ignored": Control(
            fault={"recursion": mode_recursion_at_convergence},
            breaks="N=50: KL(tau*) / KL(tau_max)*",
            why="the generated law computed with the converged weights",
        )
    },
)
def check_early_stopping(run: RunSpec, recursion=ld.mode_recursion) -> Verdict:
    """(P3) Early stopping: interior optimum of the KL and of the t = 1 test error in training time for N < d.

    Gradient-flow weights (§1.3) in the recursion (§1.6). Control: the converged weights at every time.
    """
    m = exp.early_stopping(run, recursion)
    small, large = m.ns.index(min(m.ns)), m.ns.index(max(m.ns))
    ev = Evidence.of("spec merger_goldt.md §3 row early-stopping (abstract P3); GF weights of §1.3", m)
    taus = np.array(m.grid)
    kl = m.kl[small]  # (k, tau)
    best = kl.argmin(axis=1)
    interior = (best > 0) & (best < taus.size - 1)
    ev.holds(
        f"N={m.ns[small]}: KL argmin eta*tau interior, per k={list(m.ks)}",
        bool(np.all(interior)),
        measured=taus[best].tolist(),
        expected="interior tau*",
        basis="spec",
        why="spec criterion",
    )
    ev.at_most(
        f"N={m.ns[small]}: KL(tau*) / KL(tau_max), per k",
        kl.min(axis=1) / kl[:, -1],
        0.5,
        basis="spec",
        why="spec criterion",
        headline=True,
    )
    after = [np.diff(row[i:]).min(initial=0.0) / row[-1] for row, i in zip(kl, best)]
    ev.at_least(
        f"N={m.ns[small]}: KL non-decreasing after tau*, min relative step",
        after,
        -1e-12,
        basis="spec",
        why="spec criterion; 1e-12 relative slack for float64 rounding on the plateau",
    )
    ev.at_least(
        f"N={m.ns[large]}: KL(tau*) / KL(tau_max), per k",
        m.kl[large].min(axis=1) / m.kl[large][:, -1],
        0.7,
        basis="spec",
        why="spec criterion",
    )
    best_err = m.test_t1[small].argmin(axis=1)
    ev.holds(
        f"N={m.ns[small]}: test error at t=1 has an interior minimum, per k",
        bool(np.all((best_err > 0) & (best_err < taus.size - 1))),
        measured=taus[best_err].tolist(),
        expected="interior tau*",
        basis="spec",
        why="spec criterion",
    )
    return ev.verdict()
