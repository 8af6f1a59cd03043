"""Path text is read, never run: code in ``--path`` is refused before anything executes, and every
refusal is a ``PathError`` (``memgen`` exit 2) that comes within a second."""

from __future__ import annotations

import time

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from numerics.empirical_field import optimal_velocity
from numerics.experiments import RunSpec
from proofs_checks.cli import main
from theory import paths as P
from theory.expressions import FUNCTIONS, MAX_CHARS

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _touching(marker) -> str:
    return f"__import__('os').system('touch {marker}') or t"


@pytest.mark.parametrize(
    "alpha",
    [
        "{code}",
        "t + 0*({code})",
        "sin(({code}))",
        "(lambda: __import__('os').system('touch {marker}'))() or t",
        "t.__class__.__mro__[1].__subclasses__()",
        "eval(\"__import__('os').system('touch {marker}')\") or t",
        'exec(\'open("{marker}", "w")\') or t',
        "[open('{marker}', 'w') for _ in '1'] and t",
    ],
)
def test_path_text_never_runs_code(tmp_path, alpha):
    marker = tmp_path / "ran"
    spec = f"alpha={alpha.format(code=_touching(marker), marker=marker)}; sigma=1 - t"
    with pytest.raises(P.PathError, match="cannot parse alpha"):
        P.parse_path(spec)
    with pytest.raises(P.PathError):
        optimal_velocity(np.zeros((1, 2)), 0.5, np.ones((2, 2)), spec)
    with pytest.raises(P.PathError):
        RunSpec(path=spec)
    assert not marker.exists()


def test_cli_path_with_code_is_a_usage_error_and_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "ran"
    rc = main(["verify", "gao-li/off-subspace-decay", "--path", f"alpha={_touching(marker)}; sigma=1-t"])
    assert rc == 2 and not marker.exists()
    assert "cannot parse alpha" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("alpha=t+0*9**9**9; sigma=1-t", "exponent"),
        ("alpha=factorial(10**6)*t; sigma=1-t", "'factorial' is not allowed"),
        ("alpha=t**(10**10); sigma=1-t", "exponent"),
        ("alpha=exp(exp(1000))*t; sigma=1-t", "not a finite"),
        ("alpha=t*10**99999999999999999; sigma=1-t", "digits"),
        ("alpha=lambda: t; sigma=1-t", "lambda"),
        ("alpha=" + "+".join(["t"] * 3000) + "; sigma=1-t", f"more than {MAX_CHARS}"),
        ("alpha=(" + "+".join(["t"] * 300) + ")/300; sigma=1-t", "too large"),
        ("alpha=t; sigma=sign(1-t)*(1-t)", "'sign' is not allowed"),
        ("alpha=t; sigma=1-floor(t)/2-t/2", "'floor' is not allowed"),
        ("alpha=t; sigma=1 - t + sin(8000*pi*t)/100", "sigma_t must decrease"),
        ("alpha=t + I*t*(1-t); sigma=1-t", "not real"),
        ("", "empty"),
        ("   ", "empty"),
        ("alpha=t; alpha=t**2; sigma=1-t", "alpha more than once"),
        ("alpha=t; sigma=1-t; junk", "--path must be"),
        ("alpha=; sigma=1-t", "empty"),
    ],
)
def test_hostile_and_malformed_paths_are_refused_fast(spec, named):
    t0 = time.perf_counter()
    with pytest.raises(P.PathError, match=named):
        P.parse_path(spec)
    assert time.perf_counter() - t0 < 1.0


def test_sympy_input_is_checked_too():
    # The same conditions for paths built from SymPy objects (no text involved).
    with pytest.raises(P.PathError, match="not differentiable"):
        P.AffinePath(P.t, 1 - P.t + sp.floor(P.t) / 10)
    with pytest.raises(P.PathError, match="underflow"):
        P.AffinePath(P.t ** (10**10), 1 - P.t)
    with pytest.raises(P.PathError, match="not real"):
        P.AffinePath(P.t + sp.I * P.t * (1 - P.t), 1 - P.t)
    with pytest.raises(P.PathError, match="must be a SymPy expression"):
        P.AffinePath(object(), 1 - P.t)


def test_valid_text_reads_as_sympify_did():
    # The forms users write keep their meaning: ^ is a power, E and pi are constants, rationals stay exact.
    path = P.parse_path("alpha=sin(pi*t/2)^2; sigma=cos(pi*t/2)")
    assert path.alpha == sp.sin(sp.pi * P.t / 2) ** 2
    assert P.parse_path("alpha=t; sigma=1 - t/2").sigma == 1 - P.t / 2
    assert P.parse_path("alpha=(exp(t) - 1)/(E - 1); sigma=1 - t").alpha == (sp.exp(P.t) - 1) / (sp.E - 1)


def test_cli_refuses_an_empty_path(capsys):
    assert main(["verify", "common/gaussian-kl-closed-form", "--path", ""]) == 2
    assert "--path is empty" in capsys.readouterr().err


# ------------------------------------------------------------------ property: random expression trees
_NAMES = ["t", "t", "t", "pi", "E", "s", "os", "open", "__import__", "eval", "x_"]
_CALLS = [*FUNCTIONS, "factorial", "eval", "floor", "sign", "__import__", "getattr"]


def _tree(leaves: st.SearchStrategy[str], calls: list[str], hostile: bool) -> st.SearchStrategy[str]:
    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        forms = [
            st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "^"]), children).map(
                lambda x: f"({x[0]}){x[1]}({x[2]})"
            ),
            st.tuples(st.sampled_from(calls), children).map(lambda x: f"{x[0]}({x[1]})"),
            children.map(lambda x: f"-({x})"),
        ]
        if hostile:
            forms += [children.map(lambda x: f"({x}).__class__"), children.map(lambda x: f"lambda: {x}")]
        return st.one_of(*forms)

    return st.recursive(leaves, extend, max_leaves=12)


_LEAVES = st.one_of(
    st.sampled_from(_NAMES),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.sampled_from(["9**9**9", "10**400", "1/0", "'x'", "[t]", "t.real", "1e999"]),
)


@PROPERTY
@given(alpha=_tree(_LEAVES, _CALLS, True), sigma=st.one_of(st.just("1 - t"), _tree(_LEAVES, _CALLS, True)))
def test_random_expression_trees_give_a_path_or_a_path_error_within_a_second(alpha, sigma):
    t0 = time.perf_counter()
    try:
        path = P.parse_path(f"alpha={alpha}; sigma={sigma}")
    except P.PathError:
        pass
    else:
        assert isinstance(path, P.AffinePath)
        assert path.alpha.free_symbols | path.sigma.free_symbols <= {P.t}
    assert time.perf_counter() - t0 < 1.0


_VALID_LEAVES = st.one_of(st.just("t"), st.integers(1, 9).map(str), st.sampled_from(["pi", "E"]))


@PROPERTY
@given(extra=_tree(_VALID_LEAVES, list(FUNCTIONS), False))
def test_random_well_formed_trees_are_accepted_or_refused_by_a_named_condition(extra):
    # alpha = t * (1 + tiny * extra): often a valid path, else a condition or a parse limit named.
    t0 = time.perf_counter()
    try:
        P.parse_path(f"alpha=t*(1 + ({extra})/10**6); sigma=1 - t")
    except P.PathError as exc:
        assert str(exc)
    assert time.perf_counter() - t0 < 1.0
