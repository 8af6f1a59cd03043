"""SymPy derivations of the CondOT path and the Gaussian coupling family."""

from __future__ import annotations

import numpy as np
import pytest

from numerics.gaussian_family import GaussianCoupling
from theory.couplings import (
    condot_field_residuals,
    gaussian_1d_reference_numeric,
    gaussian_family_blocks_numeric,
    gaussian_family_blocks_residual,
)


@pytest.mark.claim("mfm/condot-conditional-field")
def test_condot_residuals_are_zero():
    assert all(r == 0 for r in condot_field_residuals().values())


@pytest.mark.parametrize("d", [1, 2])
def test_expanded_blocks_equal_closed_forms(d):
    assert gaussian_family_blocks_residual(d) == 0


@pytest.mark.claim("mfm/marginal-field-pushforward")
def test_symbolic_blocks_match_numpy():
    fam = GaussianCoupling(rho=0.7, phi=0.3)
    el = fam.sqrt_sigma
    sym = gaussian_family_blocks_numeric(2)(0.4, 0.7, 0.3, el[0, 0], el[0, 1], el[1, 1])
    for a, b in zip(sym, fam.blocks(0.4)):
        assert np.allclose(a, b, atol=1e-13)


@pytest.mark.claim("mfm/condot-gaussian-reference-values")
def test_closed_form_values_rho0():
    f = gaussian_1d_reference_numeric()
    # loss = s pi / 2 and KE = m^2 + s^2 + 1 - s pi / 2 for the independent coupling
    for m, s in [(0.0, 1.0), (2.0, 0.5)]:
        assert float(f["loss_rho0"](m, s)) == pytest.approx(s * np.pi / 2, rel=1e-12)
        assert float(f["ke_rho0"](m, s)) == pytest.approx(m * m + s * s + 1 - s * np.pi / 2, rel=1e-12)


def test_blocks_reject_other_dimensions():
    with pytest.raises(ValueError):
        gaussian_family_blocks_numeric(3)
