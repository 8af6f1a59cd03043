"""Judge of ``merger-goldt/kl-second-order`` (measurement: :mod:`numerics.experiments.merger_goldt.second_order`); its controls' wrong forms."""

from __future__ import annotations

import numpy as np
import sympy as sp

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import second_order as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.merger_goldt._shared import within_four_se
from proofs_checks.registry import Control, check
from theory import linear_diffusion as sym


def kl_mode_log_sign_flipped(r: np.ndarray) -> np.ndarray:
    """Per-mode KL :math:`\\frac12(r-1+\\ln r)`: the sign of the log term flipped."""
    return (r - 1 + np.log(r)) / 2


@check(
    "merger-goldt/kl-second-order",
    title="$\\mathbb E\\operatorname{tr}(S-I)^2=d(d+1)/N$ and KL $\\approx\\frac14$ of it",
    tag="derived",
    kinds=("symbolic", "monte-carlo"),
    tier=exp.KL_SECOND_ORDER,
    controls={
        "log-sign-flipped": Control(
            fault={"kl_mode": kl_mode_log_sign_flipped},
            breaks="E KL / (d(d+1)/4N) at N=5000*",
            why="per-mode KL (r - 1 + ln r)/2",
        )
    },
)
def check_kl_second_order(run: RunSpec, kl_mode=None) -> Verdict:
    """E tr(S-I)^2 = d(d+1)/N (known mean) and E KL ~ 1/4 of it, both directions (§2).

    Control: the per-mode KL with the sign of its log term flipped.
    """
    m = exp.second_order(run, kl_mode)
    sz = run.sizes(exp.KL_SECOND_ORDER)
    ev = Evidence.of("spec merger_goldt.md §2 (second-order expansion, derived)", m)
    n_sym, d_sym = sp.symbols("N d", positive=True, integer=True)
    moment = sp.simplify(sym.trace_moment_expr() - d_sym * (d_sym + 1) / n_sym)
    ev.holds(
        "SymPy: E tr(S-I)^2 - d(d+1)/N",
        moment == 0,
        measured=str(moment),
        expected="0",
        basis="theory",
        why="Isserlis moments",
    )
    r = sp.Symbol("r", positive=True)
    terms = [
        sp.simplify(e - (r - 1) ** 2 / 4) for e in (sym.kl_second_order_expr(), sym.kl_reverse_second_order_expr())
    ]
    ev.holds(
        "SymPy: second-order KL term - (r-1)^2/4, both directions",
        terms == [0, 0],
        measured=str(terms),
        expected="[0, 0]",
        basis="theory",
        why="exact series expansion",
    )
    mean, se = m.tr2.mean(1), m.tr2.std(1, ddof=1) / np.sqrt(m.tr2.shape[1])
    exact = m.d * (m.d + 1) / np.asarray(m.ns, dtype=float)
    within_four_se(
        ev,
        f"|E tr(S-I)^2 - d(d+1)/N| / SE at N={list(m.ns)} ({sz.sampling})",
        np.abs(mean - exact) / se,
        f"{sz.draws} draws",
    )
    for direction in ld.KL_DIRECTIONS:
        ratio = m.ratio(direction)
        for n, value in zip(m.ns, ratio):
            if n == max(m.ns):
                ev.within(
                    f"E KL / (d(d+1)/4N) at N={n} ({direction})",
                    value,
                    1.05,
                    atol=0.10,
                    basis="spec",
                    why="spec interval [0.95, 1.15]: higher-order terms are O(d/N)",
                    headline=direction == "forward",
                )
            else:
                ev.report(f"E KL / (d(d+1)/4N) at N={n} ({direction})", float(value))
    return ev.verdict()
