"""Paths defined in SymPy: derivations proved, bad paths refused with the violated condition named."""

from __future__ import annotations

import pickle
import time

import numpy as np
import pytest
import sympy as sp
import torch

from theory import paths as P

BUILT_INS = {"ot": P.ot, "ot-0.01": lambda: P.ot(0.01), "cosine": P.cosine, "vp": P.vp, "ve": P.ve}


@pytest.mark.parametrize("name", list(BUILT_INS))
def test_derived_identities_are_zero(name):
    path = BUILT_INS[name]()
    res = path.residuals()
    assert all(P.is_zero(r) for r in res.values()), res
    # The closed-form inverse of every built-in, at 50 digits.
    assert path.inverse_error() < 1e-25


@pytest.mark.parametrize("name", list(BUILT_INS))
def test_inverse_round_trips_in_float64(name):
    path = BUILT_INS[name]()
    f = path.functions()
    ts = np.linspace(0.05, 0.95, 7)
    taus = -np.log(f["sigma"](ts) / float(path.sigma0))
    np.testing.assert_allclose(f["time_of_tau"](taus), ts, rtol=1e-9)


def test_forcing_is_positive_and_switch_time_is_where_it_doubles():
    # g_t = 1/sin(pi t/2) on the cosine path: twice its end value 1 at t = 1/3; constant on OT.
    assert P.ot(0.01).t_switch == 0.0
    assert P.cosine().t_switch == pytest.approx(1 / 3, abs=1e-12)
    g = P.vp().functions()["forcing"]
    # VP: g_t = 1/alpha_t, so the switch is where alpha_t = 1/2.
    assert float(P.vp().functions()["alpha"](P.vp().t_switch)) == pytest.approx(0.5, abs=1e-10)
    assert np.all(g(np.linspace(0.0, 1.0, 101)) > 0)


def test_tau_end_reaches_t_one_in_float64():
    assert P.ot().tau_end == P.TAU_AT_T_ONE
    assert P.ot(0.01).tau_end == pytest.approx(-np.log(0.01))
    steep = P.parse_path("alpha=t; sigma=(1-t)**3")
    # sigma_t = e^{-40} is still 1.6e-6 away from t = 1: integrate until t is 1 in float64.
    assert steep.tau_end > 100 and float(steep.functions()["sigma"](1 - 2.0**-53)) > 0


def test_ot_path_matches_the_numerics_path():
    from numerics.paths import CondOTPath

    f = P.ot(0.01).functions()
    ts = np.linspace(0, 1, 11)
    np.testing.assert_allclose(f["sigma"](ts), CondOTPath(0.01).sigma(ts), rtol=0, atol=1e-15)
    np.testing.assert_allclose(f["forcing"](ts), 1 / 0.99, rtol=1e-15)


@pytest.mark.parametrize("name", ["cosine", "vp", "ve"])
def test_torch_and_mpmath_lambdified_agree_with_numpy(name):
    path = BUILT_INS[name]()
    ts = np.linspace(0.1, 0.9, 5)
    for key in ("alpha", "sigma", "d_alpha", "d_sigma", "forcing"):
        a = path.functions("numpy")[key](ts)
        b = path.functions("torch")[key](torch.tensor(ts, dtype=torch.float64)).numpy()
        c = np.array([float(path.functions("mpmath")[key](v)) for v in ts])
        np.testing.assert_allclose(a, b, rtol=1e-14)
        np.testing.assert_allclose(a, c, rtol=1e-13)


def test_vp_sigma_keeps_precision_near_one():
    # 1 - alpha^2 formed with expm1: sigma_t ~ sqrt(beta_min (1 - t)) to full relative precision.
    u = 1e-12
    got = float(P.vp().functions()["sigma"](1 - u))
    assert got == pytest.approx(np.sqrt(0.1 * u), rel=1e-3)


def test_approximate_sources_are_stated():
    path = P.vp()
    assert 0 < path.alpha0 < 1e-2 and path.sigma1 == 0.0
    assert "instead of N(0," in path.source_note
    assert "exactly" in P.cosine().source_note
    assert P.ve().alpha0 > 0 and P.ve().sigma1 > 0


def test_built_ins_are_derived_once():
    t0 = time.perf_counter()
    for make in BUILT_INS.values():
        make().functions()
        make().t_switch  # noqa: B018 - derived and cached
    assert time.perf_counter() - t0 < 5.0
    assert P.ve() is P.ve()


def test_paths_pickle_without_their_lambdified_functions():
    path = P.cosine()
    path.functions()
    back = pickle.loads(pickle.dumps(path))
    assert back.record() == path.record()
    np.testing.assert_allclose(back.functions()["forcing"](0.5), 1 / np.sin(np.pi / 4))


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("alpha=t; sigma=t", "sigma_0 must be > 0"),
        ("alpha=t - 1; sigma=1 - t", "alpha_1 must be > 0"),
        ("alpha=1; sigma=1 - t", "alpha_0 = 1 > 0"),
        ("alpha=t; sigma=1 - t + 3*t*(1 - t)", "sigma_t must decrease"),
        ("alpha=t*(1 - 9*sin(pi*t)**2/10); sigma=1 - t", "log-SNR"),
        ("alpha=t; sigma=-1 + 0*t", "sigma_0 must be > 0"),
        ("alpha=t; sigma=(1 - t) - t/2", "sigma_1 must be >= 0"),
        ("alpha=t*s; sigma=1 - t", "depend on t only"),
        ("alpha=t+; sigma=1 - t", "cannot parse"),
        ("gamma=t", "--path must be"),
        ("nope", "--path must be"),
        ("vp(1, x)", "must be numbers"),
        ("ve(0.01, 100)", "sigma_max > sigma_min"),
    ],
)
def test_bad_paths_name_the_violated_condition(spec, named):
    with pytest.raises(P.PathError, match=named):
        P.parse_path(spec)


def test_user_path_from_the_command_line():
    path = P.parse_path("alpha=sin(pi*t/2); sigma=cos(pi*t/2)")
    assert sp.simplify(path.alpha - P.cosine().alpha) == 0
    assert P.parse_path("cosine") is P.cosine()
    assert P.parse_path("vp(0.1, 20)") is P.vp(0.1, 20.0)
    assert P.parse_path("ot(0.01)").parameters == (("sigma_min", 0.01),)
    assert path.time_of_tau is None  # a user path is inverted numerically (numerics.paths)
