r"""Judges of claim ``gao-li/softmax-concentration``: concentration of the posterior weight of the conditioning point."""

from __future__ import annotations

import numpy as np
from scipy import special

from numerics.experiments import RunSpec
from numerics.experiments.gao_li.softmax_concentration import (
    MIN_EVENTS,
    SOFTMAX_CONCENTRATION,
    concentration_bound,
    softmax_concentration,
)
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import SYMPY
from proofs_checks.registry import Control, check


def bound_without_log_n(a: np.ndarray, eps: float, n: int) -> np.ndarray:
    """The union bound without :math:`\\log(N-1)` in its threshold."""
    return special.ndtr(-a / 2 + np.log((1 - eps) / eps) / a).sum(axis=-1)


def bound_times_ten(a: np.ndarray, eps: float, n: int) -> np.ndarray:
    """The union bound scaled by 10 (valid, but uninformative)."""
    return 10.0 * concentration_bound(a, eps, n)


@check(
    "gao-li/softmax-concentration",
    title="stand-in for Theorem D.2: exact law of weight log-ratios and a union bound on $\\Pr[w_j<1-\\varepsilon]$",
    tag="derived",
    kinds=("monte-carlo",),
    tier=SOFTMAX_CONCENTRATION,
    controls={
        "no-log-n": Control(
            fault={"bound": bound_without_log_n},
            breaks="union-bound terms vs exact P*",
            sizes={"draws": 10_000},
            why="the threshold of the union bound without log(N - 1)",
        ),
        "times-ten": Control(
            fault={"bound": bound_times_ten},
            breaks="bound / P_hat / sqrt(N-1)*",
            sizes={"draws": 10_000},
            why="a valid but uninformative bound: 10 times the derived one",
        ),
    },
)
def check_softmax_concentration(run: RunSpec, bound=concentration_bound) -> Verdict:
    """Stand-in for Theorem D.2: exact law of :math:`\\log(w_i/w_j)` and the union bound on :math:`\\Pr[w_j<1-\\varepsilon]`.

    One-sided (MC below the bound + 3 SE), per-term exactness (each term is the exact probability
    of its event, which fixes the threshold including :math:`\\log(N-1)`) and tightness (within
    1.5 of its rare-event ratio :math:`\\sqrt{N-1}`). Controls: no :math:`\\log(N-1)`; a bound 10 times too large.
    """
    m = softmax_concentration(run, bound)
    ev = Evidence.of("stand-in for Theorem D.2 (derived union bound, spec gao_li.md §2)", m)
    ev.holds(
        "log(w_i/w_j) = -a^2/2 - a Z (symbolic)",
        m.log_ratio_residual == "0",
        basis="theory",
        why=SYMPY,
        measured=m.log_ratio_residual,
    )
    for c in m.cases:
        label = f"({c.dataset}, sigma_min={c.sigma_min}, eps={c.eps})"
        ev.at_most(
            f"max_t [P_hat - bound - 3 SE] {label}",
            m.excess(c),
            0.0,
            basis="statistical",
            why="MC within 3 SE of the bound (spec)",
        )
        if c.sigma_min == 0.0:
            tail = c.bound[m.grid >= 0.5]
            ev.holds(
                f"bound non-increasing for t >= 0.5 and -> 0 {label}",
                bool(np.all(np.diff(tail) <= 1e-15) and tail[-1] < 1e-6),
                basis="theory",
                why="derived limit t -> 1",
                measured=float(tail[-1]),
            )
    z = m.term_z()
    z_crit = float(special.ndtri(1 - 0.005 / z.size))
    ev.at_most(
        "union-bound terms vs exact P[w_i/w_j > eps/((1-eps)(N-1))]: max |P_hat - term| / SE",
        float(z.max()),
        z_crit,
        basis="statistical",
        why=f"two-sided Bonferroni at family level 1% over {z.size} terms with >= {MIN_EVENTS} MC events",
    )
    ratios = np.concatenate([m.tightness(c) for c in m.cases])
    ev.at_most(
        f"bound / P_hat / sqrt(N-1) where bound <= 1 and >= {MIN_EVENTS} MC events (max over {ratios.size})",
        float(ratios.max()) if ratios.size else np.nan,
        1.5,
        basis="theory",
        why="rare-event limit of the union bound's excess is sqrt(N-1) (threshold shift log(N-1)/a); "
        "1.5 covers finite-a terms and <= 20% MC error (4 SE)",
        headline=True,
    )
    for name, p in m.ks_pvalues.items():
        ev.p_value(
            f"KS of (log(w_i/w_j) + a^2/2)/(-a) vs N(0,1) at t=0.5 ({name})",
            p,
            alpha=0.01,
            why="level 0.01, fixed seed",
        )
    return ev.verdict()
