"""Judge of ``mfm/gaussian-condot-is-ot``: the independent-coupling flow map of Gaussians is the Brenier map."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.mfm import condot_is_ot as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.mfm._common import DOP853
from proofs_checks.registry import Control, check

ROTATED_PHI = np.pi / 4  # a rotation in the coupling: the flow map is no longer the symmetric Brenier map


@check(
    "mfm/gaussian-condot-is-ot",
    title="for Gaussian targets the independent-coupling flow map is already the OT map",
    tag="derived",
    kinds=("high-precision-ode",),
    tier=exp.CONDOT_IS_OT,
    controls={
        "rotated-coupling": Control(
            fault={"phi": ROTATED_PHI}, breaks="max_rho ||M(1) - Sigma^1/2||", why="phi = pi/4: not the Brenier map"
        )
    },
)
def check_gaussian_condot_is_ot(run: RunSpec, phi: float = 0.0) -> Verdict:
    """For :math:`\\phi=0` the marginal flow map is :math:`x\\mapsto\\mu+\\Sigma^{1/2}x` (Brenier), so :math:`C=W_2^2`.

    Control: the rotated coupling :math:`\\phi=\\pi/4`.
    """
    m = exp.flow_map_at_one(run, phi)
    ev = Evidence("spec mfm.md §2 (derived: commuting covariance blocks), §3")
    ev.at_most("max_rho ||M(1) - Sigma^1/2||", m.map_error.max(), 1e-9, basis="numerical", why=DOP853, headline=True)
    ev.at_most("max_rho ||m(1) - mu||", m.shift_error.max(), 1e-9, basis="numerical", why=DOP853)
    ev.report("C(psi_1) - W2^2 per rho", dict(zip(map(str, m.rhos), m.cost_minus_w2.tolist())))
    ev.detail("phi", phi)
    return ev.verdict()
