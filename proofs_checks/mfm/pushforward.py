"""Judge of ``mfm/marginal-field-pushforward``: the marginal field's affine flow."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.mfm import pushforward as exp
from numerics.gaussian_family import GaussianCoupling
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.mfm._common import DOP853, tag
from proofs_checks.registry import Control, check


class ScaledFieldCoupling(GaussianCoupling):
    """A family member whose marginal field is scaled by 1.01."""

    def field_coefficients(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        a, b = super().field_coefficients(t)
        return 1.01 * a, 1.01 * b


@check(
    "mfm/marginal-field-pushforward",
    title="the coupling's marginal field transports $q_0$ to $q_1$",
    tag="reported",
    kinds=("high-precision-ode",),
    tier=exp.PUSHFORWARD,
    controls={
        "field-scaled": Control(
            fault={"family": ScaledFieldCoupling}, breaks="*max |moment error|", why="the marginal field scaled by 1.01"
        )
    },
)
def check_marginal_pushforward(run: RunSpec, family=GaussianCoupling) -> Verdict:
    """The DOP853 affine flow of the marginal field has the mean and covariance of :math:`X_t`.

    Control: the field scaled by 1.01.
    """
    m = exp.marginal_pushforward(run, family)
    ev = Evidence("Lemma 3.1 (reported), spec mfm.md §1.5 and §3 (affine flow, DOP853 rtol 1e-12)")
    for (rho, phi), gap, errs in zip(m.members, m.blocks_gap, m.moment_error):
        ev.at_most(
            f"{tag(rho, phi)}: SymPy vs NumPy covariance blocks", gap, 1e-12, basis="numerical", why="float64 rounding"
        )
        for tt, err in zip(m.times, errs):
            ev.at_most(f"{tag(rho, phi)}, t={tt}: max |moment error|", err, 1e-9, basis="numerical", why=DOP853)
    ev.at_most(
        "max moment error over members and times",
        m.moment_error.max(),
        1e-9,
        basis="numerical",
        why=DOP853,
        headline=True,
    )
    return ev.verdict()
