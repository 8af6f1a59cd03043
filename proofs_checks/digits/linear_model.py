"""Judges of ``digits/kl-d-over-4n`` and ``digits/transition-at-n-equals-d`` (measurements: :mod:`numerics.experiments.digits.linear_model`)."""

from __future__ import annotations

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments.digits import linear_model as exp
from proofs_checks.digits._shared import K_SE
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


@check(
    "digits/kl-d-over-4n",
    title="with the digits as population, the linear model's excess KL per dimension is "
    "$\\kappa\\,d/(4N)$ ($\\kappa$ the digits' fourth-moment factor), not the Gaussian $d/(4N)$",
    tag="derived",
    kinds=("monte-carlo",),
    tier=exp.DIGITS_KL_LAW,
    controls={
        "gaussian-fourth-moment": Control(
            fault={"kappa": 1.0},
            breaks="|Q(N=*) - kappa (d+1)/(4d)|*",
            why="the Gaussian fourth moment (kappa = 1) instead of the digits' own",
        ),
    },
)
def check_digits_kl_law(run: RunSpec, kappa: float | None = None) -> Verdict:
    """[extension of Merger & Goldt] With the digits as population, Q = (N/d)(excess KL/d) tends to kappa (d+1)/(4d).

    Second order in S - I, E tr(S - I)^2 = (E|z|^4 - d)/N for whitened draws z: the Gaussian
    d(d+1)/N times kappa. Control: kappa = 1 (the Gaussian law).
    """
    m = exp.digits_kl_law(run)
    sz = run.sizes(exp.DIGITS_KL_LAW)
    k = m.kappa if kappa is None else kappa
    ev = Evidence.of(
        "extension of Merger & Goldt's d/(4N) law ([reported] for Gaussian data) to the digits population; "
        "second-order expansion of the KL (derived)",
        m,
    )
    mean, se = m.q_mean()
    gauss = (m.d + 1) / (4 * m.d)
    pred = k * gauss
    n_max = m.ns[-1]
    ev.at_most(
        f"|Q(N={n_max}) - kappa (d+1)/(4d)| / SE, both directions, sigma^2=beta",
        np.abs(mean[-1] - pred) / se[-1],
        K_SE,
        basis="statistical",
        why=f"Monte Carlo over {sz.seeds} training sets, {K_SE:g} SE; the finite-N and higher-order terms of the "
        f"expansion are not subtracted (N/d = {n_max / m.d:.0f}; the reported N-series shows them)",
        expected=f"kappa (d+1)/(4d) = {pred:.4f} (kappa = {k:.4f})",
        headline=True,
    )
    ev.at_least(
        f"(Q(N={n_max}) - (d+1)/(4d)) / SE, both directions: departure from the Gaussian law",
        (mean[-1] - gauss) / se[-1],
        K_SE,
        basis="statistical",
        why=f"the digits' kappa = {m.kappa:.4f} > 1 lifts Q above the Gaussian (d+1)/(4d) = {gauss:.4f}; "
        f"asserted at {K_SE:g} SE",
        expected=f">= {K_SE:g} SE above {gauss:.4f}",
    )
    for i, direction in enumerate(ld.KL_DIRECTIONS):
        ev.report(f"Q vs N, {direction} [N]", mean[:, i].tolist(), f"N = {list(m.ns)}; SE {se[:, i].tolist()}")
    ev.report("kappa of the digits population", m.kappa)
    return ev.verdict()


@check(
    "digits/transition-at-n-equals-d",
    title="on the digits spectrum the KL per dimension drops sharply as $N$ crosses $d=61$",
    tag="derived",
    kinds=("monte-carlo",),
    tier=exp.DIGITS_TRANSITION,
    controls={
        "mean-known": Control(
            fault={"mean": "known"},
            breaks="null-mode count - max(d-N+1, 0)*",
            why="centred on the population mean: the estimated mean's lost rank is not there",
        ),
    },
)
def check_digits_transition(run: RunSpec, mean: str = "estimated") -> Verdict:
    """[extension of Merger & Goldt (P2)] On the digits spectrum KL/d drops sharply as N crosses d = 61.

    The criteria are those of ``merger-goldt/transition-at-n-equals-d`` on the real spectrum.
    Control: the data centred on the population mean (one rank more).
    """
    m = exp.digits_transition(run, mean)
    ev = Evidence.of(
        "extension of Merger & Goldt (abstract P2) to the digits spectrum; criteria of merger-goldt/transition-at-n-equals-d",
        m,
    )
    expected = np.maximum(m.d - m.distinct + 1, 0)
    ev.within(
        "null-mode count - max(d-N+1, 0), N distinct points drawn, every set",
        np.abs(m.null_modes - expected).max(),
        0,
        basis="theory",
        why="exact: a sample covariance of N distinct points centred on their mean has rank N - 1 (draws with "
        "replacement may repeat a point; the digits covariance has no null direction)",
    )
    ev.at_least(
        "KL/d(N/d=0.5) / KL/d(N/d=2) (sigma^2=beta)",
        m.kl[m.at(0.5)] / m.kl[m.at(2.0)],
        5.0,
        basis="spec",
        why="the criterion of merger-goldt/transition-at-n-equals-d (spec merger_goldt.md §3): a sharp drop across N = d",
        headline=True,
    )
    q = m.ns / m.d * (m.kl - m.population)
    ev.at_least(
        "Q(N/d=0.5) / Q(N/d=10) (sigma^2=beta)",
        q[m.at(0.5)] / q[m.at(10.0)],
        2.0,
        basis="spec",
        why="the same claim's criterion: super-linear regime below d",
    )
    ev.report("KL/d vs N/d [ratio]", m.kl.tolist(), f"N/d = {list(m.ratios)}; population KL/d {m.population:.3g}")
    return ev.verdict()
