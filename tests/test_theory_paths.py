"""Paths defined in SymPy: derivations proved, bad paths refused with the violated condition named."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

from theory import paths as P


@pytest.mark.parametrize("make", [P.ot, P.cosine, P.vp, lambda: P.ot(0.01)], ids=["ot", "cosine", "vp", "ot-0.01"])
def test_derived_identities_simplify_to_zero(make):
    path = make()
    assert all(r == 0 for r in path.residuals().values()), path.residuals()
    assert path.time_of_tau is not None
    f = path.functions()
    ts = np.linspace(0.05, 0.95, 7)
    taus = -np.log(f["sigma"](ts) / float(path.sigma0))
    np.testing.assert_allclose(f["time_of_tau"](taus), ts, rtol=1e-9)


def test_ot_path_matches_the_numerics_path():
    from numerics.paths import CondOTPath

    f = P.ot(0.01).functions()
    ts = np.linspace(0, 1, 11)
    np.testing.assert_allclose(f["sigma"](ts), CondOTPath(0.01).sigma(ts), rtol=0, atol=1e-15)
    np.testing.assert_allclose(f["forcing"](ts), 1 / 0.99, rtol=1e-15)


def test_torch_lambdified_agrees_with_numpy():
    path = P.cosine()
    ts = np.linspace(0.1, 0.9, 5)
    for name in ("alpha", "sigma", "d_alpha", "d_sigma", "forcing"):
        a = path.functions("numpy")[name](ts)
        b = path.functions("torch")[name](torch.tensor(ts, dtype=torch.float64)).numpy()
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_vp_states_its_approximate_source():
    path = P.vp()
    assert 0 < path.alpha0 < 1e-2 and path.sigma1 == 0.0
    assert "instead of N(0, I)" in path.source_note
    assert "exactly" in P.cosine().source_note


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("alpha=t; sigma=t", "sigma_0 must be > 0"),
        ("alpha=t - 1; sigma=1 - t", "alpha_1 must be > 0"),
        ("alpha=1; sigma=1 - t", "alpha_0 = 1 > 0"),
        ("alpha=t; sigma=1 - t + 3*t*(1 - t)", "sigma_t must decrease"),
        ("alpha=t*(1 - 9*sin(pi*t)**2/10); sigma=1 - t", "log-SNR"),
        ("alpha=t*s; sigma=1 - t", "depend on t only"),
        ("gamma=t", "--path must be"),
        ("nope", "--path must be"),
    ],
)
def test_bad_paths_name_the_violated_condition(spec, named):
    with pytest.raises(P.PathError, match=named):
        P.parse_path(spec)


def test_user_path_from_the_command_line():
    path = P.parse_path("alpha=sin(pi*t/2); sigma=cos(pi*t/2)")
    assert sp.simplify(path.alpha - P.cosine().alpha) == 0
    assert P.parse_path("cosine").name == "cosine"
