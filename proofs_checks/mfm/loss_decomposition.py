"""Judge of ``mfm/lemma-3.2-loss-decomposition``: Lemma 3.2, the loss."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.mfm import loss_decomposition as exp
from numerics.gaussian_family import GaussianCoupling
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.mfm._common import FOUR_SE
from proofs_checks.registry import Control, check


def unconditional_spread(fam: GaussianCoupling, t: float) -> float:
    """:math:`\\operatorname{tr}\\mathrm{Cov}(D)` in place of the conditional spread :math:`\\sigma_t^2`."""
    return float(np.trace(fam.blocks(t)[2]))


@check(
    "mfm/lemma-3.2-loss-decomposition",
    title="$\\mathcal L_{\\rm JCFM}=\\mathcal L_{\\rm FM}+\\mathbb E\\sigma_t^2$; optimum = conditional spread",
    tag="reported",
    kinds=("symbolic", "monte-carlo"),
    tier=exp.LEMMA_32_LOSS,
    controls={
        "unconditional-spread": Control(
            fault={"spread": unconditional_spread},
            breaks="*MC min L_JCFM vs quad E sigma^2",
            sizes={"pairs": 20_000},
            why="tr Cov(D) in place of the conditional spread",
        )
    },
)
def check_lemma_32_loss(run: RunSpec, spread=exp.conditional_spread) -> Verdict:
    """Lemma 3.2: :math:`\\min\\mathcal L_{\\rm JCFM}=\\mathbb E\\sigma_t^2` (quad vs MC), :math:`\\mathcal L_{\\rm JCFM}=\\mathcal L_{\\rm FM}+\\mathbb E\\sigma_t^2`, decreasing in :math:`\\rho`.

    Control: the unconditional spread :math:`\\operatorname{tr}\\mathrm{Cov}D`.
    """
    m = exp.loss_decomposition(run, spread)
    ev = Evidence("Lemma 3.2 (reported content, derived form), spec mfm.md §1.3, §1.5, §3", m.seeds["mc"])
    zs = []
    for rho, q, loss, diff in zip(m.rhos, m.quad, m.min_loss, m.jcfm_minus_fm):
        if rho < 1.0:
            zs.append(abs(loss.mean - q) / loss.se)
            ev.within(
                f"rho={rho}: MC min L_JCFM vs quad E sigma^2",
                loss.mean,
                q,
                atol=4 * loss.se + 1e-12,
                basis="statistical",
                why=FOUR_SE,
            )
            ev.within(
                f"rho={rho}: L_JCFM(theta) - L_FM(theta) vs E sigma^2",
                diff.mean,
                q,
                atol=4 * diff.se,
                basis="statistical",
                why=FOUR_SE + " (paired difference)",
            )
        else:
            ev.at_most(
                "rho=1: E sigma^2 (quad)",
                abs(q),
                1e-10,
                basis="numerical",
                why="deterministic coupling; float64 rounding",
            )
            ev.at_most("rho=1: MC loss of the exact field", loss.mean, 1e-10, basis="numerical", why="float64 rounding")
    ev.at_most(
        "max over rho < 1 of |MC min L - quad| / SE", max(zs), 4.0, basis="statistical", why=FOUR_SE, headline=True
    )
    ev.at_least(
        "min over consecutive rho of E sigma^2 decrease",
        -np.diff(m.quad).max(),
        1e-10,
        basis="numerical",
        why="strictly decreasing; quad to 1e-12",
    )
    ev.report("E sigma^2 by rho", dict(zip(map(str, m.rhos), m.quad.tolist())))
    return ev.verdict()
