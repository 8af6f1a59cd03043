"""Judge of ``merger-goldt/transition-at-n-equals-d`` (measurement: :mod:`numerics.experiments.merger_goldt.transition`); its controls' wrong forms."""

from __future__ import annotations

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import transition as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


@check(
    "merger-goldt/transition-at-n-equals-d",
    title="KL per dimension drops sharply as $N$ crosses $d$",
    tag="paper",
    kinds=("monte-carlo",),
    tier=exp.TRANSITION,
    controls={
        "mean-known": Control(
            fault={"mean": "known"},
            breaks="null-mode count - max(d-N+1, 0)*",
            why="centred on the true mean: the estimated mean's lost rank is not there",
        ),
    },
)
def check_transition(run: RunSpec, mean="estimated") -> Verdict:
    """(P2) The KL per dimension drops sharply as N crosses d; null modes number max(d-N+1, 0).

    Control: the data centred on the true mean (one rank more).
    """
    m = exp.transition(run, mean)
    ev = Evidence.of("spec merger_goldt.md §3 row transition-at-n-equals-d (abstract P2)", m)
    expected = np.maximum(m.d - m.ns + 1, 0)[:, None, None]
    ev.within(
        "null-mode count - max(d-N+1, 0), every set",
        np.abs(m.null_modes - expected).max(),
        0,
        basis="theory",
        why="rank of a sample covariance centred on its mean: N - 1",
    )
    beta = ld.SAMPLER_SIGMAS.index("beta")
    kl, q = m.kl[:, :, beta], m.q()[:, :, beta]
    ev.at_least(
        "KL/d(N/d=0.5) / KL/d(N/d=2) per k (sigma^2=beta)",
        kl[m.at(0.5)] / kl[m.at(2.0)],
        5.0,
        basis="spec",
        why="spec criterion: sharp drop across N = d",
        headline=True,
    )
    ev.at_least(
        "Q(N/d=0.5) / Q(N/d=10) per k (sigma^2=beta)",
        q[m.at(0.5)] / q[m.at(10.0)],
        2.0,
        basis="spec",
        why="spec criterion: super-linear regime below d",
    )
    ev.report("KL/d vs N/d, sigma^2=beta [ratio][k]", kl.tolist())
    ev.report("KL/d vs N/d, sigma^2=beta_tilde [ratio][k] (inf below d: f(0)=0)", m.kl[:, :, 1 - beta].tolist())
    return ev.verdict()
