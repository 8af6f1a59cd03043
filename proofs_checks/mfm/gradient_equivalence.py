"""Judge of ``mfm/lemma-3.1-gradient-equivalence``: Lemma 3.1 by Monte Carlo."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.mfm import gradient_equivalence as exp
from numerics.gaussian_family import GaussianCoupling
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.mfm._common import FOUR_SE, tag
from proofs_checks.registry import Control, check


def field_of_another_coupling(fam: GaussianCoupling, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The marginal field of the member ``rho = 0.9, phi = 0``: not the regression function of ``fam``'s pairs."""
    return exp.marginal_field(GaussianCoupling(mu=fam.mu, sigma=fam.sigma, rho=0.9), x, t)


@check(
    "mfm/lemma-3.1-gradient-equivalence",
    title="any marginal-preserving coupling gives the FM gradient",
    tag="reported",
    kinds=("monte-carlo",),
    tier=exp.LEMMA_31,
    controls={
        "field-of-another-coupling": Control(
            fault={"field": field_of_another_coupling},
            breaks="*max |cross term| / SE*",
            sizes={"pairs": 50_000},
            why="the FM field of the rho = 0.9 member against every member's pairs",
        )
    },
)
def check_lemma_31(run: RunSpec, field=exp.marginal_field) -> Verdict:
    """Lemma 3.1: for a marginal-preserving coupling the JCFM - FM cross term vanishes and the gradients agree.

    Control: the FM field of another member of the family.
    """
    m = exp.gradient_equivalence(run, field)
    ev = Evidence.of("Lemma 3.1 (reported), spec mfm.md §1.3 and §3", m)
    for (rho, phi), cz, gz in zip(m.members, m.cross_z, m.grad_z):
        ev.at_most(
            f"{tag(rho, phi)}: max |cross term| / SE over Theta",
            np.abs(cz).max(),
            4.0,
            basis="statistical",
            why=FOUR_SE,
        )
        ev.at_most(
            f"{tag(rho, phi)}: max |grad JCFM - grad FM| / SE (12 components)",
            np.abs(gz).max(),
            4.0,
            basis="statistical",
            why=FOUR_SE + " (common random numbers, paired difference)",
        )
    ev.at_most(
        "max |z| over members, Theta and components",
        max(np.abs(m.cross_z).max(), np.abs(m.grad_z).max()),
        4.0,
        basis="statistical",
        why=FOUR_SE,
        headline=True,
    )
    return ev.verdict()
