r"""Gao & Li 2024, the exact flow of an empirical target: the measurements of the 17 exact-flow claims.

Setting (spec ``gao_li.md`` §1): prior :math:`\mathcal N(0,I_d)`, target uniform over the rows of
a data set of :mod:`numerics.datasets`, an affine Gaussian path (:mod:`numerics.paths`; the spec's
conditional OT path :class:`~numerics.paths.CondOTPath` with :math:`\sigma_{\min}\in\{0,0.01\}` by
default, or ``run.path`` for the claims that follow one: :func:`flow_paths`) and its closed-form
optimal field (:mod:`numerics.empirical_field`). Each claim has a
:class:`~numerics.experiments.Tier` (sizes of the spec's claims table, §3) and a measurement
``f(run, *, <what a negative control may replace>) -> <dataclass>``: the thing under test (a
field, a closed form, a bound, a prior) is an argument, so a control passes one wrong one.

Independent routes. Every comparison sets an implementation against something computed another
way: SymPy derivations (:mod:`theory.flow_matching`), mpmath at 30–50 digits, a Bayes posterior
with SciPy's normalised Gaussian densities, SciPy's DOP853 on the plain field in ``t``
(:func:`plain_flow`; the engine's integrator treats the linear part exactly, so it cannot test
that part of the field), Monte Carlo, finite differences and autograd.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import sympy as sp
import torch
from scipy import special, stats
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from numerics.datasets import cluster_labels, dataset, embedded_dataset
from numerics.empirical_field import (
    integrate_flow,
    integrate_flow_mp,
    optimal_velocity,
    optimal_velocity_torch,
    posterior_weights,
)
from numerics.executor import sweep
from numerics.experiments import RunSpec, Sizes, Tier, measured
from numerics.paths import AffinePath, CondOTPath, as_path
from numerics.subspace import subspace_basis
from theory import flow_matching as th
from theory import paths as thp

Field = Callable[[np.ndarray, Any, np.ndarray, AffinePath], np.ndarray]
"""``field(x, t, data, path) -> (M, d)``: a velocity field of the exact-flow setting on ``path``."""

SIGMA_MINS = (0.0, 0.01)
"""Spec §6: every exact-flow claim runs for both values."""


def flow_paths(run: RunSpec, sigma_mins: tuple[float, ...] = SIGMA_MINS) -> tuple[AffinePath, ...]:
    """The paths of a claim that follows ``run.path``: the OT paths with ``sigma_mins`` (the spec's),
    or the one path of ``memgen verify --path``."""
    if run.path is None:
        return tuple(CondOTPath(s) for s in sigma_mins)
    return (as_path(run.path),)


def paths_text(run: RunSpec, sigma_mins: tuple[float, ...] = SIGMA_MINS) -> str:
    """How a comparison names its cases: ``per sigma_min in (0.0, 0.01)`` or ``on path cosine``."""
    if run.path is None:
        return f"per sigma_min in {sigma_mins}"
    return f"on path {as_path(run.path).label}"


def path_key(paths: tuple[AffinePath, ...]) -> list[dict[str, Any]]:
    """The paths' records, for cache keys."""
    return [p.record() for p in paths]


TINY_SYMBOLIC = ((1, 0), (sp.Rational(-1, 2), sp.Rational(4, 5)), (sp.Rational(1, 5), sp.Rational(-11, 10)))
"""The ``tiny`` data set as exact rationals (symbolic claims)."""

PLAIN_RTOL, PLAIN_ATOL = 1e-10, 1e-12
"""SciPy DOP853 tolerances of :func:`plain_flow` (spec §3 default route, rtol 1e-10)."""


def _row(slug: str) -> str:
    return f"spec gao_li.md §3, claims table row gao-li/{slug}"


def nearest(x: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the nearest training point and its index, per row of ``x``."""
    d = np.linalg.norm(x[:, None, :] - data[None, :, :], axis=-1)
    return d.min(axis=1), d.argmin(axis=1)


def is_zero(expr: Any) -> bool:
    """Whether a SymPy expression (or matrix, or list of them) simplifies to zero."""
    if isinstance(expr, sp.MatrixBase):
        return all(sp.simplify(e) == 0 for e in expr)
    if isinstance(expr, list | tuple):
        return all(is_zero(e) for e in expr)
    return sp.simplify(expr) == 0


@dataclass(frozen=True)
class SymbolicSizes(Sizes):
    """A symbolic derivation: the dimension it is carried out in (scalars suffice componentwise)."""

    dimension: int = 1


# ============================================================================ cond-ot-field
COND_OT_FIELD = Tier.same("gao-li/cond-ot-field", SymbolicSizes(), _row("cond-ot-field"))
COND_OT_CLOSED_FORM = (th.x1 - (1 - th.smin) * th.x) / th.sigma_expr()
"""Spec §1.1: :math:`u_t(x\\mid x_1)=(x_1-(1-\\sigma_{\\min})x)/\\sigma_t`."""
COND_OT_PATH_VELOCITY = th.x1 - (1 - th.smin) * th.x0
"""Spec §1.1: :math:`u_t(x_t\\mid x_1)=x_1-(1-\\sigma_{\\min})x_0`."""


@dataclass(frozen=True)
class CondOTField:
    """Simplified residuals of the three forms of the conditional OT field (each must be 0)."""

    path_velocity: sp.Expr
    closed_form: sp.Expr
    on_path: sp.Expr
    derived_field: sp.Expr


def cond_ot_field(
    run: RunSpec, closed_form: sp.Expr = COND_OT_CLOSED_FORM, path_velocity: sp.Expr = COND_OT_PATH_VELOCITY
) -> CondOTField:
    r""":math:`\frac{d}{dt}(tx_1+\sigma_tx_0)-u`, :math:`\frac{\sigma_t'}{\sigma_t}(x-\mu_t)+\mu_t'-u_t(x\mid x_1)`
    and :math:`u_t(x_t\mid x_1)-u` in SymPy, for the forms under test."""
    t, x, x0, x1 = th.t, th.x, th.x0, th.x1
    sig = th.sigma_expr()
    derived = th.conditional_field()["field"]
    return CondOTField(
        path_velocity=sp.simplify(sp.diff(t * x1 + sig * x0, t) - path_velocity),
        closed_form=sp.simplify(derived - closed_form),
        on_path=sp.simplify(closed_form.subs(x, t * x1 + sig * x0) - path_velocity),
        derived_field=derived,
    )


# ============================================================================ cfm-minimizer
@dataclass(frozen=True)
class CrossTermSizes(Sizes):
    draws: int = 1_000_000


CFM_MINIMIZER = Tier.same(
    "gao-li/cfm-minimizer-conditional-expectation", CrossTermSizes(), _row("cfm-minimizer-conditional-expectation")
)
TEST_FUNCTIONS = ("e1", "x", "t sin(x_1) e2")


@dataclass(frozen=True)
class CfmMinimizer:
    """SymPy residuals (any path) and Monte Carlo cross terms :math:`|\\hat C_h|/\\mathrm{SE}`.

    ``z[s, h]``: path ``s`` of :func:`flow_paths`, test function ``TEST_FUNCTIONS[h]``.
    """

    residuals: list[str]
    residuals_zero: bool
    hessian_is_minimum: bool
    z: np.ndarray


def cfm_minimizer(run: RunSpec, field: Field = optimal_velocity) -> CfmMinimizer:
    r"""(i) SymPy pointwise minimisation (any path: :func:`theory.paths.generic_facts`); (ii)
    :math:`\mathbb E[h\cdot(v-u)]` over :math:`(t,i,x_0)` on ``tiny``, per path of :func:`flow_paths`.

    :math:`t\sim U[0,0.99]` (finite variance), :math:`x_t` and :math:`u` from the path.
    """
    sym = thp.generic_facts()
    data = dataset("tiny")
    m = run.sizes(CFM_MINIMIZER).draws
    rng = run.rng(10)
    paths = flow_paths(run)
    z = np.empty((len(paths), len(TEST_FUNCTIONS)))
    for s, path in enumerate(paths):
        t = rng.uniform(0.0, 0.99, m)
        x1 = data[rng.integers(0, data.shape[0], m)]
        x0 = rng.standard_normal((m, 2))
        x = path.sample(x0, x1, t)
        diff = field(x, t, data, path) - path.target(x0, x1, t)
        hs = (
            np.stack([np.ones(m), np.zeros(m)], axis=1),
            x,
            np.stack([np.zeros(m), t * np.sin(x[:, 0])], axis=1),
        )
        for k, h in enumerate(hs):
            terms = np.sum(h * diff, axis=1)
            z[s, k] = abs(terms.mean()) / (terms.std(ddof=1) / np.sqrt(m))
    res = sym["cfm_minimizer"]
    return CfmMinimizer([str(e) for e in res], is_zero(res), is_zero(sym["hessian"]), z)


# ============================================================================ optimal-velocity
@dataclass(frozen=True)
class OptimalVelocitySizes(Sizes):
    points: int = 200
    dps: int = 50


OPTIMAL_VELOCITY = Tier.same("gao-li/optimal-velocity", OptimalVelocitySizes(), _row("optimal-velocity"))


def mp_coefficients(path: AffinePath, t: mpmath.mpf) -> tuple[Any, Any, Any, Any]:
    r""":math:`(\alpha_t,\sigma_t,\dot\alpha_t,\dot\sigma_t)` in mpmath at the working precision.

    The OT path's in closed form with :math:`\sigma_{\min}` the float the engine uses; another
    path's lambdified from SymPy.
    """
    if isinstance(path, CondOTPath):
        sm = mpmath.mpf(path.sigma_min)
        return t, 1 - (1 - sm) * t, mpmath.mpf(1), -(1 - sm)
    f = path.symbolic.functions("mpmath")
    return f["alpha"](t), f["sigma"](t), f["d_alpha"](t), f["d_sigma"](t)


def mp_posterior_mean_velocity(x: np.ndarray, t: float, data: np.ndarray, path: AffinePath) -> np.ndarray:
    r"""Bayes posterior mean of :math:`u_t(x\mid x^{(i)})` in mpmath (at the working precision).

    Posterior :math:`p(i\mid x)\propto\mathcal N(x;\alpha_tx^{(i)},\sigma_t^2I)` with the explicit
    normalisation :math:`(2\pi\sigma_t^2)^{-d/2}`, conditional fields
    :math:`\frac{\dot\sigma_t}{\sigma_t}(x-\alpha_tx^{(i)})+\dot\alpha_tx^{(i)}`; one query ``x`` (d,).
    """
    d = data.shape[1]
    alpha, sig, da, ds = mp_coefficients(path, mpmath.mpf(float(t)))
    xs = [mpmath.mpf(float(v)) for v in x]
    pts = [[mpmath.mpf(float(v)) for v in row] for row in data]
    dens = [
        (2 * mpmath.pi * sig**2) ** (-mpmath.mpf(d) / 2)
        * mpmath.exp(-mpmath.fsum((xs[k] - alpha * p[k]) ** 2 for k in range(d)) / (2 * sig**2))
        for p in pts
    ]
    z = mpmath.fsum(dens)
    return np.array(
        [
            float(mpmath.fsum(w * (ds / sig * (xs[k] - alpha * p[k]) + da * p[k]) for w, p in zip(dens, pts)) / z)
            for k in range(d)
        ]
    )


def optimal_velocity_vs_mpmath(run: RunSpec, field: Field = optimal_velocity) -> np.ndarray:
    """Max relative error of ``field`` against :func:`mp_posterior_mean_velocity`, per path of :func:`flow_paths`.

    ``sparse-d20``, :math:`x\\sim\\mathcal N(0,4I)`, :math:`t\\sim U[0,0.999]`.
    """
    sz = run.sizes(OPTIMAL_VELOCITY)
    data = dataset("sparse-d20")
    rng = run.rng(11)
    worst = []
    for path in flow_paths(run):
        x = 2.0 * rng.standard_normal((sz.points, 20))
        t = rng.uniform(0.0, 0.999, sz.points)
        v = field(x, t, data, path)
        with mpmath.workdps(sz.dps):
            ref = np.array([mp_posterior_mean_velocity(x[i], t[i], data, path) for i in range(sz.points)])
        worst.append(float(np.max(np.linalg.norm(v - ref, axis=1) / np.linalg.norm(ref, axis=1))))
    return np.array(worst)


# ============================================================================ gaussian path
@dataclass(frozen=True)
class GaussianPathSizes(Sizes):
    points: int = 5
    digits: int = 30


GAUSSIAN_PATH = Tier.same(
    "gao-li/optimal-velocity-gaussian-path", GaussianPathSizes(), _row("optimal-velocity-gaussian-path")
)


@dataclass(frozen=True)
class GaussianPathPosterior:
    """Symbolic residuals and the 30-digit gap between the posterior and the softmax form under test."""

    general_residuals: list[str]
    general_zero: bool
    ot_residuals_zero: bool
    max_gap: float
    gap_without_log_term: float


def gaussian_path_posterior(run: RunSpec, log_term: bool = True) -> GaussianPathPosterior:
    r"""Bayes posterior of a general Gaussian path vs the softmax form, on ``tiny`` (SymPy and 30 digits).

    Path :math:`\sigma_t(x_1)=1-(1-s\|x_1\|^2)t`. ``log_term`` selects the softmax form under
    test: with :math:`-d\ln\sigma_t(x^{(i)})` (the derived one) or without it. The unsimplified
    difference is evaluated at random rational points (seed 9).
    """
    sz = run.sizes(GAUSSIAN_PATH)
    r = th.gaussian_path_posterior(TINY_SYMBOLIC)
    raw = r["general_minus_with_log"] if log_term else r["general_minus_no_log"]
    ys, s = r["symbols"], r["s"]
    rng = run.rng(9)
    worst, subs = 0.0, {}
    for _ in range(sz.points):
        y0, y1 = (sp.Rational(int(v), 100) for v in rng.integers(-200, 200, 2))
        tv, sv = sp.Rational(int(rng.integers(5, 95)), 100), sp.Rational(int(rng.integers(1, 60)), 100)
        subs = {ys[0]: y0, ys[1]: y1, th.t: tv, s: sv}
        worst = max(worst, max(float(abs(sp.N(e.subs(subs), sz.digits))) for e in raw))
    gap = max(float(abs(sp.N(e.subs(subs), sz.digits))) for e in r["general_minus_no_log"])
    general = r["res_general"]
    return GaussianPathPosterior([str(e)[:80] for e in general], is_zero(general), is_zero(r["res_ot"]), worst, gap)


# ============================================================================ continuity equation
@dataclass(frozen=True)
class ContinuitySizes(Sizes):
    mp_points: int = 20
    mp_dps: int = 40
    fd_points: int = 50


CONTINUITY = Tier.same("gao-li/continuity-equation", ContinuitySizes(), _row("continuity-equation"))


@dataclass(frozen=True)
class Continuity:
    """Relative residuals of the continuity equation, one entry per path of :func:`flow_paths`.

    ``symbolic_zero``: the residual simplifies to 0 for any path (:func:`theory.paths.generic_facts`);
    ``mp``: 40-digit residual of the path's SymPy expressions in 1-D; ``fd``: central differences of
    :math:`p_t v` with step :math:`10^{-4}\\sigma_t`; ``fd_fixed_step``: the spec's fixed step
    :math:`h=10^{-4}` (reported).
    """

    symbolic_zero: bool
    mp: np.ndarray
    fd: np.ndarray
    fd_fixed_step: np.ndarray


def mixture_density(x: np.ndarray, t: np.ndarray, data: np.ndarray, path: AffinePath) -> np.ndarray:
    r""":math:`p_t(x)=\frac1N\sum_i\mathcal N(x;\alpha_tx^{(i)},\sigma_t^2I)` per row (``t`` one per row)."""
    sig = path.sigma(t)
    sq = ((x[:, None, :] - path.alpha(t)[:, None, None] * data[None]) ** 2).sum(-1)
    return np.mean(np.exp(-sq / (2 * sig[:, None] ** 2)), axis=1) / (2 * np.pi * sig**2) ** (data.shape[1] / 2)


def _fd_residual(
    field: Field, data: np.ndarray, x: np.ndarray, t: np.ndarray, h: np.ndarray, path: AffinePath
) -> np.ndarray:
    dt_p = (mixture_density(x, t + h, data, path) - mixture_density(x, t - h, data, path)) / (2 * h)
    div, scale = np.zeros(x.shape[0]), np.abs(dt_p)
    for k in range(x.shape[1]):
        hk = np.zeros_like(x)
        hk[:, k] = h
        term = (
            mixture_density(x + hk, t, data, path) * field(x + hk, t, data, path)[:, k]
            - mixture_density(x - hk, t, data, path) * field(x - hk, t, data, path)[:, k]
        ) / (2 * h)
        div += term
        scale = scale + np.abs(term)
    return np.abs(dt_p + div) / scale


def continuity(run: RunSpec, field: Field = optimal_velocity) -> Continuity:
    """(i) SymPy/mpmath in 1-D (points -1, 1.5); (ii) central differences of ``field`` on ``tiny`` at x ~ p_t."""
    sz = run.sizes(CONTINUITY)
    paths = flow_paths(run)
    rng = run.rng(12)
    xs, ts = rng.uniform(-3, 3, sz.mp_points), rng.uniform(0.05, 0.95, sz.mp_points)
    mp = []
    with mpmath.workdps(sz.mp_dps):
        for path in paths:
            res_f, dtp_f, div_f = path.symbolic.continuity_mpmath()
            args = [(mpmath.mpf(float(a)), mpmath.mpf(float(b))) for a, b in zip(xs, ts)]
            mp.append(max(float(abs(res_f(*a)) / (abs(dtp_f(*a)) + abs(div_f(*a)))) for a in args))
    data = dataset("tiny")
    fd, fixed = [], []
    for path in paths:
        t = rng.uniform(0.05, 0.95, sz.fd_points)
        x1 = data[rng.integers(0, data.shape[0], sz.fd_points)]
        x = path.sample(rng.standard_normal((sz.fd_points, 2)), x1, t)
        # Central differences truncate at ~(h / sigma_t)^2: p_t varies on the length scale sigma_t.
        fd.append(float(_fd_residual(field, data, x, t, 1e-4 * path.sigma(t), path).max()))
        fixed.append(float(_fd_residual(field, data, x, t, np.full(sz.fd_points, 1e-4), path).max()))
    symbolic = thp.generic_facts()["continuity"] == 0
    return Continuity(symbolic, np.array(mp), np.array(fd), np.array(fixed))


# ============================================================================ marginal path
@dataclass(frozen=True)
class PushforwardSizes(Sizes):
    starts: int = 4000
    times: tuple[float, ...] = (0.3, 0.6, 0.9)
    directions: int = 3


PUSHFORWARD = Tier.same("gao-li/marginal-path-pushforward", PushforwardSizes(), _row("marginal-path-pushforward"))


@dataclass(frozen=True)
class Pushforward:
    """KS p-values of projections of the flow at each (time, direction), and the median solver cost."""

    p_values: np.ndarray
    median_nfev: float


def pushforward(run: RunSpec, prior_scale: float = 1.0) -> Pushforward:
    r"""The exact flow from ``prior_scale`` :math:`\cdot\mathcal N(0,I)` on ``sparse-d20``, KS against the mixture :math:`p_t`."""
    sz = run.sizes(PUSHFORWARD)
    data = dataset("sparse-d20")
    x0 = prior_scale * run.rng(13).standard_normal((sz.starts, 20))
    dirs = run.rng(14).standard_normal((sz.directions, 20))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    times = np.array(sz.times)
    sol = integrate_flow(x0, data, 0.0, t_end=float(times[-1]), t_eval=times, rtol=1e-10, atol=1e-12)
    path = CondOTPath(0.0)
    pvals = []
    for k, t in enumerate(times):
        sig = float(path.sigma(t))
        for a in dirs:
            centres = t * (data @ a)

            def cdf(s: np.ndarray, centres: np.ndarray = centres, sig: float = sig) -> np.ndarray:
                return special.ndtr((np.asarray(s)[..., None] - centres) / sig).mean(axis=-1)

            pvals.append(stats.kstest(sol.x_eval[k] @ a, cdf).pvalue)
    return Pushforward(np.array(pvals), float(np.median(sol.nfev)))


# ============================================================================ memorization
@dataclass(frozen=True)
class MemorizationSizes(Sizes):
    starts: int = 20
    deltas: tuple[float, ...] = (1e-5, 1e-6)


MEMORIZATION = Tier.same("gao-li/memorization", MemorizationSizes(), _row("memorization"))
MP_REFERENCE_FILE = "gao_li_mp_reference.json"
MP_REFERENCE_CASE = {"x0": [0.3, -0.2], "dataset": "tiny", "sigma_min": 0.0, "t_end": 0.9, "dps": 30}
"""The one ``tiny`` trajectory cross-checked against ``mpmath.odefun`` (spec: dps 30, t = 0.9)."""


def mp_reference_path() -> Path:
    """Where the stored reference lives in the source tree (package data of ``numerics.experiments``)."""
    return Path(__file__).resolve().parent / "data" / MP_REFERENCE_FILE


def compute_mp_reference() -> np.ndarray:
    """The 30-digit ``mpmath.odefun`` state of :data:`MP_REFERENCE_CASE` at ``t_end``, rounded to float64."""
    c = MP_REFERENCE_CASE
    return integrate_flow_mp(np.array(c["x0"]), dataset(c["dataset"]), c["sigma_min"], c["t_end"], dps=c["dps"])


def stored_mp_reference() -> np.ndarray:
    """The stored reference state (package data), read with :mod:`importlib.resources`.

    Raises
    ------
    FileNotFoundError
        If the installed package lacks the data file (never falls back to a recomputation).
    ValueError
        If the file was made for another case than :data:`MP_REFERENCE_CASE`.
    """
    res = resources.files("numerics.experiments").joinpath("data").joinpath(MP_REFERENCE_FILE)
    try:
        stored = json.loads(res.read_text())
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"package data numerics/experiments/data/{MP_REFERENCE_FILE} is missing from this installation; "
            "reinstall memgen-theory or run `memgen verify --full`, which recomputes the reference"
        ) from exc
    if stored.get("case") != MP_REFERENCE_CASE:
        raise ValueError(f"{MP_REFERENCE_FILE} holds case {stored.get('case')}, expected {MP_REFERENCE_CASE}")
    return np.array(stored["x_t_end"])


PATHS_MP_REFERENCE_FILE = "gao_li_paths_mp_reference.json"
PATHS_MP_CASE = {k: v for k, v in MP_REFERENCE_CASE.items() if k != "sigma_min"}
"""The same ``tiny`` trajectory on the other built-in paths with :math:`\\sigma_1=0` (stored per path name)."""


def compute_path_mp_reference(path: AffinePath, dps: int) -> np.ndarray:
    """The ``dps``-digit ``mpmath.odefun`` state of :data:`PATHS_MP_CASE` on ``path`` at ``t_end``."""
    c = PATHS_MP_CASE
    return integrate_flow_mp(np.array(c["x0"]), dataset(c["dataset"]), path, c["t_end"], dps=dps)


def stored_path_mp_references() -> dict[str, dict[str, Any]]:
    """Stored references of :data:`PATHS_MP_CASE` per built-in path name (package data): the path's
    record and the state (empty if the file is missing: those paths are then computed)."""
    res = resources.files("numerics.experiments").joinpath("data").joinpath(PATHS_MP_REFERENCE_FILE)
    try:
        stored = json.loads(res.read_text())
    except FileNotFoundError:
        return {}
    if stored.get("case") != PATHS_MP_CASE:
        raise ValueError(f"{PATHS_MP_REFERENCE_FILE} holds case {stored.get('case')}, expected {PATHS_MP_CASE}")
    return stored["paths"]


def mp_reference(run: RunSpec, path: AffinePath) -> tuple[np.ndarray, str]:
    """The mpmath state of the ``tiny`` trajectory at ``t_end`` on ``path``, and where it comes from.

    Stored (package data) for the OT path with :math:`\\sigma_{\\min}=0` and the built-ins whose record
    matches; recomputed at the spec tier (dps 30); computed now for another path (dps 30 at the
    spec tier, 20 otherwise: both far below the 1e-9 the check asks).
    """
    if isinstance(path, CondOTPath) and path.sigma_min == 0.0:
        if run.full:
            return compute_mp_reference(), "computed now (mpmath.odefun, dps 30)"
        return stored_mp_reference(), f"stored reference {MP_REFERENCE_FILE} (package data)"
    entry = stored_path_mp_references().get(path.name)
    if entry is not None and entry["path"] == path.record() and not run.full:
        return np.array(entry["x_t_end"]), f"stored reference {PATHS_MP_REFERENCE_FILE} (package data, {path.name})"
    dps = 30 if run.full else 20
    return compute_path_mp_reference(path, dps), f"computed now (mpmath.odefun in t, dps {dps})"


@dataclass(frozen=True)
class Memorization:
    """Landing distances, the approach near t = 1, the mpmath cross-check and the plateau of a path with sigma_1 > 0.

    The landing fields belong to the first path of :func:`flow_paths` with :math:`\\sigma_1=0`
    (``landing_path``), the plateau to the first with :math:`\\sigma_1>0` (``plateau_path``);
    ``None`` where the run has no such path.
    """

    landing_distance: np.ndarray | None
    r: np.ndarray | None
    mp_gap: float | None
    mp_origin: str
    plateau_ratio: np.ndarray | None
    median_nfev: float
    landing_path: str | None = None
    plateau_path: str | None = None


def memorization(run: RunSpec, flow_path: str | None = None) -> Memorization:
    r"""The exact flow on ``sparse-d20`` from the path's source (20 starts, seed 15).

    ``r[k]`` is :math:`\min_i\|x(1-\delta_k)-\alpha_1x^{(i)}\|/\sigma_{1-\delta_k}` per start (after
    resolution :math:`x(t)=\alpha_tx^{(j)}+\sigma_tz` with a fixed :math:`z`; on the OT path
    :math:`\sigma_{1-\delta}=\delta`); ``plateau_ratio`` is
    :math:`\min_i\|x(1)-\alpha_1x^{(i)}\|/(\sigma_1\sqrt d)`. The ``tiny`` trajectory is compared with
    its mpmath reference (:func:`mp_reference`). ``flow_path`` integrates the landing flow on another
    path (a wrong input).
    """
    sz = run.sizes(MEMORIZATION)
    data = dataset("sparse-d20")
    paths = flow_paths(run)
    land = next((p for p in paths if p.sigma1 == 0.0), None)
    plat = next((p for p in paths if p.sigma1 > 0.0), None)
    x0 = (land or plat).sample_source(run.rng(15), sz.starts, data)
    out: dict[str, Any] = {"mp_origin": "-", "median_nfev": np.nan}
    if land is not None:
        flow = land if flow_path is None else as_path(flow_path)
        sol = integrate_flow(x0, data, flow, t_end=1.0, t_eval=[1 - d for d in sz.deltas])
        target = data if land.alpha1 == 1.0 else land.alpha1 * data
        r = [nearest(sol.x_eval[k], target)[0] / float(land.sigma(1.0 - dl)) for k, dl in enumerate(sz.deltas)]
        ref, out["mp_origin"] = mp_reference(run, land)
        c = MP_REFERENCE_CASE
        x_f64 = integrate_flow(np.array(c["x0"]), dataset(c["dataset"]), flow, t_end=c["t_end"], rtol=1e-11, atol=1e-13)
        out |= {
            "landing_distance": nearest(sol.x_end, target)[0],
            "r": np.array(r),
            "mp_gap": float(np.max(np.abs(x_f64 - ref))),
            "median_nfev": float(np.median(sol.nfev)),
            "landing_path": land.label,
        }
    if plat is not None:
        ends = integrate_flow(x0, data, plat, t_end=1.0)
        target = data if plat.alpha1 == 1.0 else plat.alpha1 * data
        out |= {
            "plateau_ratio": nearest(ends, target)[0] / (plat.sigma1 * np.sqrt(20)),
            "plateau_path": plat.label,
        }
    return Memorization(
        out.get("landing_distance"),
        out.get("r"),
        out.get("mp_gap"),
        out["mp_origin"],
        out.get("plateau_ratio"),
        out["median_nfev"],
        out.get("landing_path"),
        out.get("plateau_path"),
    )


def chi_mean_per_sqrt_d(d: int) -> tuple[float, float]:
    r"""Mean and standard deviation of :math:`\|z\|/\sqrt d`, :math:`z\sim\mathcal N(0,I_d)` (chi law)."""
    mean = float(np.sqrt(2) * np.exp(special.gammaln((d + 1) / 2) - special.gammaln(d / 2)) / np.sqrt(d))
    return mean, float(np.sqrt(1 - mean**2))


# ============================================================================ terminal law
@dataclass(frozen=True)
class TerminalSizes(Sizes):
    starts: int = 2000


TERMINAL_LAW = Tier.same("gao-li/terminal-law", TerminalSizes(), _row("terminal-law"))


def terminal_points(
    seed: int | list[int], n_starts: int, prior_shift: float, duplicate: bool, path: AffinePath
) -> np.ndarray:
    """End points of the exact flow on ``sparse-d20`` (point 0 doubled if ``duplicate``); a sweep task.

    Starts from the path's source (:meth:`numerics.paths.AffinePath.sample_source`: the prior
    :math:`\\mathcal N(0,I)` on the OT path); ``prior_shift`` moves every start by that length toward point 0.
    """
    data = dataset("sparse-d20")
    x0 = path.sample_source(np.random.default_rng(seed), n_starts, data)
    x0 = x0 + prior_shift * data[0] / np.linalg.norm(data[0])
    fit = np.vstack([data, data[:1]]) if duplicate else data
    return integrate_flow(x0, fit, path)


@dataclass(frozen=True)
class TerminalLaw:
    """End points of the exact flow on ``sparse-d20``: on a path with :math:`\\sigma_1=0` (``end``; with
    point 0 doubled, ``end_duplicate``) and on one with :math:`\\sigma_1>0` (``end_sigma``, terminal width
    ``sigma_end``); ``None`` where the run has no such path. By default the OT paths with
    :math:`\\sigma_{\\min}=0` and :math:`0.01`.

    Landing point = nearest training point :math:`\\alpha_1x^{(i)}` (spec); counts are per point of ``sparse-d20``.
    """

    end: np.ndarray | None
    end_duplicate: np.ndarray | None
    end_sigma: np.ndarray | None
    sigma_end: float = 0.01
    alpha_end: float = 1.0
    alpha_sigma: float = 1.0

    def _landing(self, end: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        data = dataset("sparse-d20")
        return nearest(end, data if alpha == 1.0 else alpha * data)

    @property
    def landing_distance(self) -> np.ndarray:
        return self._landing(self.end, self.alpha_end)[0]

    @property
    def landing_distance_duplicate(self) -> np.ndarray:
        return self._landing(self.end_duplicate, self.alpha_end)[0]

    def counts(self, which: str = "end") -> np.ndarray:
        """Landing counts per point of the flow ``which`` (``end``, ``end_duplicate`` or ``end_sigma``)."""
        alpha = self.alpha_sigma if which == "end_sigma" else self.alpha_end
        return np.bincount(self._landing(getattr(self, which), alpha)[1], minlength=5)

    @property
    def residuals(self) -> np.ndarray:
        """:math:`(x(1)-\\alpha_1x^{(i)})/\\sigma_1` of the ``end_sigma`` flow, pooled over coordinates."""
        idx = self._landing(self.end_sigma, self.alpha_sigma)[1]
        return ((self.end_sigma - self.alpha_sigma * dataset("sparse-d20")[idx]) / self.sigma_end).ravel()


def terminal_law(run: RunSpec, prior_shift: float = 0.0, flow_path: str | None = None) -> TerminalLaw:
    """Landing points of the exact flow from the path's source (seed 16), per path of :func:`flow_paths`;
    the flow of the path with :math:`\\sigma_1>0` is integrated on ``flow_path`` when given (a wrong
    input) and judged against the law of its own path."""
    n = run.sizes(TERMINAL_LAW).starts
    paths = flow_paths(run)
    land = next((p for p in paths if p.sigma1 == 0.0), None)
    plat = next((p for p in paths if p.sigma1 > 0.0), None)
    common = {"seed": run.seed_for(16), "n_starts": n, "prior_shift": prior_shift}

    def compute() -> TerminalLaw:
        tasks = []
        if land is not None:
            tasks += [{**common, "duplicate": False, "path": land}, {**common, "duplicate": True, "path": land}]
        if plat is not None:
            tasks.append({**common, "duplicate": False, "path": plat if flow_path is None else as_path(flow_path)})
        ends = sweep(run.executor, terminal_points, tasks)
        ends = (ends[:2] if land is not None else [None, None]) + ([ends[-1]] if plat is not None else [None])
        return TerminalLaw(
            *ends,
            sigma_end=plat.sigma1 if plat is not None else np.nan,
            alpha_end=land.alpha1 if land is not None else np.nan,
            alpha_sigma=plat.alpha1 if plat is not None else np.nan,
        )

    params = {**common, "paths": path_key(paths), "flow_path": flow_path}
    return measured(run, "gao-li/terminal-law", params, compute)


# ============================================================================ weights blind off subspace
@dataclass(frozen=True)
class PointsSizes(Sizes):
    points: int = 1000


WEIGHTS_BLIND = Tier.same("gao-li/weights-blind-off-subspace", PointsSizes(), _row("weights-blind-off-subspace"))


@dataclass(frozen=True)
class WeightsBlind:
    """Per subspace kind: :math:`\\max_i|w_i(x_\\parallel+y_\\perp)-w_i(x_\\parallel)|` per point and the logit scale."""

    diff: dict[str, np.ndarray]
    logit_scale: dict[str, np.ndarray]


def weights_blind(run: RunSpec, project: bool = True) -> WeightsBlind:
    r"""Weights at :math:`x_\parallel+y_\perp` and at :math:`x_\parallel` on ``sparse-d20`` (``span`` and ``affine``).

    ``project=False`` adds the unprojected :math:`y` (a wrong input). The logit scale
    :math:`\frac{\alpha_t}{\sigma_t^2}(\|x\|R+\alpha_tR^2)` (:math:`R` = largest data norm) sets the
    float64 rounding of the logits. Path: the first of :func:`flow_paths` (:math:`\sigma_{\min}=0` by default).
    """
    n = run.sizes(WEIGHTS_BLIND).points
    data = dataset("sparse-d20")
    r_max = float(np.linalg.norm(data, axis=1).max())
    path = flow_paths(run)[0]
    rng = run.rng(17)
    diff, scale = {}, {}
    for kind in ("span", "affine"):
        sub = subspace_basis(data, kind)
        x = rng.standard_normal((n, 20))
        y = 2.0 * rng.standard_normal((n, 20))
        t = rng.uniform(0.0, 0.99, n)
        x_par = sub.offset + sub.inside(x - sub.offset) if kind == "span" else x
        y_perp = sub.off(y) if project else y
        w_full, w_par = posterior_weights(x_par + y_perp, t, data, path), posterior_weights(x_par, t, data, path)
        diff[kind] = np.abs(w_full - w_par).max(axis=1)
        alpha = path.alpha(t)
        scale[kind] = alpha / path.sigma(t) ** 2 * (np.linalg.norm(x_par + y_perp, axis=1) * r_max + alpha * r_max**2)
    return WeightsBlind(diff, scale)


# ============================================================================ velocity orthogonal split
@dataclass(frozen=True)
class SplitSizes(Sizes):
    points: int = 1000
    sigma_mins: tuple[float, ...] = (0.0, 0.01, 0.3)


VELOCITY_SPLIT = Tier.same(
    "gao-li/velocity-orthogonal-split",
    SplitSizes(),
    _row("velocity-orthogonal-split") + " (sigma_min 0.3 added: there 1 - sigma_min differs from 1 visibly)",
)


def off_subspace_rate(path: AffinePath, t: np.ndarray) -> np.ndarray:
    r"""The coefficient :math:`c_t=-\dot\sigma_t` of :math:`-x_\perp/\sigma_t` in fact (b) (:math:`1-\sigma_{\min}` on the OT path)."""
    return -path.d_sigma(t)


def bayes_posterior_velocity(x: np.ndarray, t: np.ndarray, data: np.ndarray, path: AffinePath) -> np.ndarray:
    r""":math:`\mathbb E[u_t(x\mid x_1)\mid x_t=x]` by Bayes' rule, independent of the closed form.

    Posterior over the points from SciPy's normalised Gaussian log-densities
    :math:`\log\mathcal N(x;\alpha_tx^{(i)},\sigma_t^2I)`, averaged conditional fields
    :meth:`~numerics.paths.AffinePath.conditional_velocity` (float64; ``t`` one per row).
    """
    tt = t[:, None, None]
    logp = stats.norm.logpdf(x[:, None, :], loc=path.alpha(tt) * data[None], scale=path.sigma(tt)).sum(-1)
    u = path.conditional_velocity(x[:, None, :], data[None], t)
    return np.einsum("mn,mnd->md", special.softmax(logp, axis=1), u)


@dataclass(frozen=True)
class VelocitySplit:
    """Per path: max relative errors of the off- and in-subspace parts, and the SymPy facts (any path)."""

    labels: tuple[str, ...]
    off_error: np.ndarray
    in_error: np.ndarray
    weights_blind_symbolic: bool
    off_symbolic: bool
    in_symbolic: bool


def velocity_split(
    run: RunSpec, off_coefficient: Callable[[AffinePath, np.ndarray], np.ndarray] = off_subspace_rate
) -> VelocitySplit:
    r"""Fact (b) on ``sparse-d20``: :math:`P_\perp v^*=-c_tx_\perp/\sigma_t` with ``c = off_coefficient``.

    The off part is :math:`P_\perp` of :func:`bayes_posterior_velocity` (an independent route);
    the in-subspace part of the closed-form field at :math:`x` is compared with
    :math:`u_t(x_\parallel\mid\bar x_w(x_\parallel))` (weights at :math:`x_\parallel`). Errors are
    relative to :math:`|v^*|`. Paths: the OT paths with the sizes' ``sigma_mins``, or ``run.path``.
    """
    sz = run.sizes(VELOCITY_SPLIT)
    sym = thp.generic_facts()
    data = dataset("sparse-d20")
    sub = subspace_basis(data)
    rng = run.rng(117)
    paths = flow_paths(run, sz.sigma_mins)
    off_err, in_err = [], []
    for path in paths:
        x = 2.0 * rng.standard_normal((sz.points, 20))
        t = rng.uniform(0.0, 0.99, sz.points)
        sig = path.sigma(t)[:, None]
        v = optimal_velocity(x, t, data, path)
        norm = np.linalg.norm(v, axis=1)
        off = sub.off(bayes_posterior_velocity(x, t, data, path))
        c = np.broadcast_to(off_coefficient(path, t), t.shape)[:, None]
        off_err.append(float(np.max(np.linalg.norm(off + c * sub.off(x) / sig, axis=1) / norm)))
        x_par = sub.inside(x)
        expect_in = path.conditional_velocity(x_par, posterior_weights(x_par, t, data, path) @ data, t)
        in_err.append(float(np.max(np.linalg.norm(sub.inside(v) - expect_in, axis=1) / norm)))
    return VelocitySplit(
        tuple(p.label for p in paths),
        np.array(off_err),
        np.array(in_err),
        is_zero(sym["dw_dx3"]),
        is_zero(sym["res_perp"]),
        is_zero(sym["res_par"]),
    )


# ============================================================================ plain DOP853 flow in t
@dataclass(frozen=True)
class PlainFlow:
    """States of :func:`plain_flow` at its stop times (hit exactly) and on a plotting grid."""

    times: np.ndarray
    states: np.ndarray
    grid: np.ndarray
    grid_states: np.ndarray
    nfev: int


def plain_flow(
    x0: np.ndarray,
    data: np.ndarray,
    path: AffinePath,
    times: np.ndarray,
    field: Field = optimal_velocity,
    grid: np.ndarray | None = None,
) -> PlainFlow:
    r"""SciPy ``solve_ivp(method="DOP853")`` on :math:`\dot x=v(x,t)` in ``t``: no exact linear part.

    Spec §3's default route (rtol :data:`PLAIN_RTOL`, atol :data:`PLAIN_ATOL`), one stacked state
    for all starts; the solve restarts at every stop time, so the states there are not
    interpolated. ``grid`` (within ``[0, times[-1]]``) is filled from DOP853's dense output.
    On a path with :math:`\sigma_1=0` the stops must stay below ``t = 1``, where the field is singular.
    """
    m, d = x0.shape
    grid = np.zeros(0) if grid is None else np.asarray(grid, dtype=np.float64)

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        return field(y.reshape(m, d), t, data, path).ravel()

    y, start, nfev = x0.ravel().astype(np.float64), 0.0, 0
    states, grid_states = [], np.empty((grid.size, m, d))
    for stop in np.asarray(times, dtype=np.float64):
        sol = solve_ivp(
            rhs, (start, stop), y, method="DOP853", rtol=PLAIN_RTOL, atol=PLAIN_ATOL, dense_output=grid.size > 0
        )
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed on [{start}, {stop}]: {sol.message}")
        inside = (grid >= start) & (grid <= stop)
        if np.any(inside):
            grid_states[inside] = sol.sol(grid[inside]).T.reshape(-1, m, d)
        y, start, nfev = sol.y[:, -1], stop, nfev + sol.nfev
        states.append(y.reshape(m, d))
    return PlainFlow(np.asarray(times, dtype=np.float64), np.array(states), grid, grid_states, nfev)


# ============================================================================ off-subspace decay
@dataclass(frozen=True)
class DecaySizes(Sizes):
    starts: int = 20
    times: tuple[float, ...] = (0.5, 0.9, 0.99)
    end_gap: float = 1e-6


OFF_SUBSPACE_DECAY = Tier.same(
    "gao-li/off-subspace-decay",
    DecaySizes(),
    _row("off-subspace-decay") + "; t_end = 1 - end_gap for sigma_min = 0 (§1.3), 1 for sigma_min > 0",
)
DECAY_KINDS = ("span", "affine")


def stop_times(times: tuple[float, ...], end_gap: float, path: AffinePath) -> np.ndarray:
    """``times`` plus :math:`t_{\\rm end}`: 1 for :math:`\\sigma_1>0`, else :math:`1-` ``end_gap`` (§1.3)."""
    return np.array([*times, 1.0 if path.sigma1 > 0 else 1.0 - end_gap])


def decay_error(flow: PlainFlow, x0: np.ndarray, data: np.ndarray, path: AffinePath, kind: str) -> np.ndarray:
    r"""Per stop time: :math:`\max_m\|y(t)-\mathrm{law}_t\|/\|y(0)\|` with the path's law
    :math:`\mathrm{law}_t=(\sigma_t/\sigma_0)(y(0)-\alpha_0m_\perp)+\alpha_tm_\perp` (:math:`m_\perp=0` for
    the span; :math:`\sigma_ty(0)+tm_\perp` on the OT path)."""
    sub = subspace_basis(data, kind)
    y0 = sub.off(x0)
    m_perp = sub.off(sub.offset[None])[0]
    return np.array(
        [
            np.max(
                np.linalg.norm(
                    sub.off(s) - (path.off_subspace_factor(t) * (y0 - path.alpha0 * m_perp) + path.alpha(t) * m_perp),
                    axis=1,
                )
                / np.linalg.norm(y0, axis=1)
            )
            for t, s in zip(flow.times, flow.states)
        ]
    )


@dataclass(frozen=True)
class OffSubspaceDecay:
    """``error[s, k, j]``: path ``s`` of :func:`flow_paths`, subspace ``DECAY_KINDS[k]``, stop time ``j``; flows kept for the figure.

    ``span_law_zero``/``affine_law_zero``: the laws solve the off-subspace ODEs of every path run
    (SymPy substitution, :meth:`theory.paths.AffinePath.residuals`).
    """

    error: np.ndarray
    flows: tuple[PlainFlow, ...]
    x0: np.ndarray
    span_law_zero: bool
    affine_law_zero: bool
    labels: tuple[str, ...] = ()

    @property
    def worst(self) -> np.ndarray:
        """Worst error over stop times per (path, subspace), flattened in that order."""
        return self.error.max(axis=2).ravel()


def off_subspace_decay(run: RunSpec, field: Field = optimal_velocity) -> OffSubspaceDecay:
    r"""Fact (c) on ``sparse-d20``: ``field`` integrated by :func:`plain_flow` (20 starts, seed 18), per path.

    On the OT path the exact off-subspace solution :math:`\sigma_tx_\perp(0)` is affine in ``t``,
    which every Runge–Kutta step reproduces up to rounding; on another path it is
    :math:`(\sigma_t/\sigma_0)x_\perp(0)`, reproduced to the solver's tolerance. The comparison tests
    the field's off-subspace part (another coefficient makes the solution another power of
    :math:`\sigma_t`).
    """
    sz = run.sizes(OFF_SUBSPACE_DECAY)
    data = dataset("sparse-d20")
    x0 = run.rng(18).standard_normal((sz.starts, 20))
    paths = flow_paths(run)

    def compute() -> OffSubspaceDecay:
        flows, err = [], []
        for path in paths:
            stops = stop_times(sz.times, sz.end_gap, path)
            flow = plain_flow(x0, data, path, stops, field, grid=np.linspace(0.0, stops[-1], 200))
            flows.append(flow)
            err.append([decay_error(flow, x0, data, path, kind) for kind in DECAY_KINDS])
        residuals = [p.symbolic.residuals() for p in paths]
        return OffSubspaceDecay(
            np.array(err),
            tuple(flows),
            x0,
            all(thp.is_zero(r["decay"]) for r in residuals),
            all(thp.is_zero(r["affine_decay"]) for r in residuals),
            tuple(p.label for p in paths),
        )

    params = {
        "sizes": sz,
        "seed": run.seed_for(18),
        "field": field,
        "rtol": PLAIN_RTOL,
        "atol": PLAIN_ATOL,
        "paths": path_key(paths),
    }
    return measured(run, "gao-li/off-subspace-decay", params, compute)


# ============================================================================ jacobian
JACOBIAN = Tier.same("gao-li/jacobian", PointsSizes(points=200), _row("jacobian"))


def jacobian_formula(w: np.ndarray, data: np.ndarray, t: float, sigma_min: float) -> np.ndarray:
    r"""Fact (d): :math:`\sigma_t^{-1}[t\sigma_t^{-2}\mathrm{Cov}_w-(1-\sigma_{\min})I]` for weights ``w`` (N,)."""
    mean = w @ data
    cov = (data - mean).T @ (w[:, None] * (data - mean))
    sig = float(CondOTPath(sigma_min).sigma(t))
    return (t / sig**2 * cov - (1.0 - sigma_min) * np.eye(data.shape[1])) / sig


@dataclass(frozen=True)
class Jacobian:
    """Per sigma_min: max relative Frobenius error autograd vs formula, asymmetry, off-subspace restriction error."""

    rel_error: np.ndarray
    asymmetry: np.ndarray
    off_restriction: np.ndarray
    symbolic_zero: bool


def jacobian(run: RunSpec, formula: Callable[..., np.ndarray] = jacobian_formula) -> Jacobian:
    """Reverse-mode autograd (float64) Jacobians of the torch field on ``sparse-d20`` against ``formula``.

    The off-subspace restriction uses an orthonormal complement of the span (complete QR).
    """
    n = run.sizes(JACOBIAN).points
    data = dataset("sparse-d20")
    sub = subspace_basis(data)
    off_basis = np.linalg.qr(sub.basis, mode="complete")[0][:, sub.rank :]
    rng = run.rng(19)
    yt = torch.tensor(data, dtype=torch.float64)
    rel, asym, off = [], [], []
    for smin in SIGMA_MINS:
        x = rng.standard_normal((n, 20))
        ts = rng.uniform(0.0, 0.99, n)
        # Rows are independent: d/dx of sum_m v_k(x_m) holds row k of every Jacobian, so d
        # reverse passes give all n Jacobians.
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        vt = optimal_velocity_torch(xt, torch.tensor(ts, dtype=torch.float64), yt, smin)
        jacs = torch.stack([torch.autograd.grad(vt[:, k].sum(), xt, retain_graph=True)[0] for k in range(20)], 1)
        jacs = jacs.numpy()
        sig = CondOTPath(smin).sigma(ts)
        r_, a_, o_ = 0.0, 0.0, 0.0
        for i in range(n):
            w = posterior_weights(x[i], float(ts[i]), data, smin)
            jac, ref = jacs[i], formula(w, data, float(ts[i]), smin)
            r_ = max(r_, float(np.linalg.norm(jac - ref) / np.linalg.norm(ref)))
            a_ = max(a_, float(np.linalg.norm(jac - jac.T) / np.linalg.norm(jac)))
            restr = off_basis.T @ jac @ off_basis
            o_ = max(o_, float(np.abs(restr + (1 - smin) / sig[i] * np.eye(off_basis.shape[1])).max() * sig[i]))
        rel.append(r_)
        asym.append(a_)
        off.append(o_)
    return Jacobian(np.array(rel), np.array(asym), np.array(off), is_zero(th.jacobian_identity()["residual"]))


# ============================================================================ direction near one
@dataclass(frozen=True)
class DirectionSizes(Sizes):
    points: int = 1000
    min_gap: float = 1e-2


DIRECTION_NEAR_ONE = Tier.same("gao-li/direction-near-one", DirectionSizes(), _row("direction-near-one"))


@dataclass(frozen=True)
class DirectionNearOne:
    """At time ``t``: points whose largest weight is not on the nearest point, min cosine, max norm-ratio error."""

    argmax_mismatches: int
    min_cosine: float
    max_ratio_error: float
    kept: int


def direction_near_one(run: RunSpec, t: float = 1.0 - 1e-4) -> DirectionNearOne:
    r""":math:`v^*` at ``t`` on ``sparse-d20`` (:math:`x\sim\mathcal N(0,I)`, seed 19; points whose two smallest
    distances differ by less than ``min_gap`` are dropped) against the nearest point :math:`x^{(j)}`."""
    sz = run.sizes(DIRECTION_NEAR_ONE)
    data = dataset("sparse-d20")
    x = run.rng(19).standard_normal((sz.points, 20))
    d = np.linalg.norm(x[:, None, :] - data[None], axis=-1)
    srt = np.sort(d, axis=1)
    keep = (srt[:, 1] - srt[:, 0]) >= sz.min_gap
    x, d = x[keep], d[keep]
    j = d.argmin(axis=1)
    w = posterior_weights(x, t, data)
    v = optimal_velocity(x, t, data)
    target = data[j] - x
    cos = np.sum(v * target, axis=1) / (np.linalg.norm(v, axis=1) * np.linalg.norm(target, axis=1))
    ratio = (1 - t) * np.linalg.norm(v, axis=1) / np.linalg.norm(target, axis=1)
    return DirectionNearOne(
        int(np.sum(w.argmax(axis=1) != j)), float(cos.min()), float(np.abs(ratio - 1).max()), int(keep.sum())
    )


# ============================================================================ softmax concentration
@dataclass(frozen=True)
class ConcentrationSizes(Sizes):
    draws: int = 20_000
    grid_points: int = 50
    eps: tuple[float, ...] = (0.01, 0.1)
    datasets: tuple[str, ...] = ("sparse-d20", "clustered")


SOFTMAX_CONCENTRATION = Tier.same("gao-li/softmax-concentration", ConcentrationSizes(), _row("softmax-concentration"))
MIN_EVENTS = 400
"""Monte Carlo events (and non-events) a grid point needs to enter a two-sided comparison: the
relative standard error of the estimated probability is then at most 5%."""


def concentration_bound(a: np.ndarray, eps: float, n: int) -> np.ndarray:
    r"""Union bound :math:`\sum_{i\ne j}\Phi\big(-\frac{a_{ij}}2+\frac1{a_{ij}}\log\frac{(1-\varepsilon)(N-1)}\varepsilon\big)` (spec §2).

    Sums over the last axis of ``a`` (one entry per competitor :math:`i\ne j`).
    """
    c = np.log((1 - eps) * (n - 1) / eps)
    return special.ndtr(-a / 2 + c / a).sum(axis=-1)


@dataclass(frozen=True)
class ConcentrationCase:
    r"""One (data set, sigma_min, eps) on the t grid.

    ``p_hat``: MC :math:`\Pr[w_j<1-\varepsilon]`; ``bound``: the bound under test;
    ``term_p_hat[k, i]``: MC :math:`\Pr[w_i/w_j>\varepsilon/((1-\varepsilon)(N-1))]`, the event
    of union-bound term ``i``; ``term_bound[k, i]``: that term of the bound under test.
    """

    dataset: str
    sigma_min: float
    eps: float
    n_points: int
    p_hat: np.ndarray
    bound: np.ndarray
    term_p_hat: np.ndarray
    term_bound: np.ndarray


@dataclass(frozen=True)
class SoftmaxConcentration:
    """The cases on the t grid and the KS p-values of the log-ratio law at t = 0.5, per data set."""

    grid: np.ndarray
    draws: int
    cases: tuple[ConcentrationCase, ...]
    ks_pvalues: dict[str, float]
    log_ratio_residual: str

    def se(self, p: np.ndarray) -> np.ndarray:
        return np.sqrt(p * (1 - p) / (self.draws - 1))

    def window(self, p: np.ndarray) -> np.ndarray:
        """Grid entries with at least :data:`MIN_EVENTS` events and non-events."""
        return (p * self.draws >= MIN_EVENTS) & ((1 - p) * self.draws >= MIN_EVENTS)

    def excess(self, case: ConcentrationCase) -> float:
        """:math:`\\max_t[\\hat P-\\text{bound}-3\\,\\mathrm{SE}]` (spec criterion: at most 0)."""
        return float(np.max(case.p_hat - case.bound - 3 * self.se(case.p_hat)))

    def term_z(self) -> np.ndarray:
        """:math:`|\\hat P_i-\\text{term}_i|/\\mathrm{SE}` over every term and grid point in the window."""
        z = [
            (np.abs(c.term_p_hat - c.term_bound) / np.where(self.window(c.term_p_hat), self.se(c.term_p_hat), np.inf))[
                self.window(c.term_p_hat)
            ]
            for c in self.cases
        ]
        return np.concatenate(z)

    def tightness(self, case: ConcentrationCase) -> np.ndarray:
        r""":math:`(\text{bound}/\hat P)/\sqrt{N-1}` where the bound is informative (:math:`\le1`) and :math:`\hat P` is in the window."""
        keep = self.window(case.p_hat) & (case.bound <= 1.0)
        return case.bound[keep] / case.p_hat[keep] / np.sqrt(case.n_points - 1)


def softmax_concentration(
    run: RunSpec, bound: Callable[[np.ndarray, float, int], np.ndarray] = concentration_bound
) -> SoftmaxConcentration:
    r"""Monte Carlo of the weight of the conditioning point :math:`j=0` along its conditional path (seed 20).

    Draws :math:`x=tx^{(j)}+\sigma_tz` with one set of ``draws`` :math:`z` per data set (common
    random numbers over the t grid), weights from :func:`~numerics.empirical_field.posterior_weights`.
    """
    sz = run.sizes(SOFTMAX_CONCENTRATION)

    def compute() -> SoftmaxConcentration:
        rng = run.rng(20)
        grid = np.linspace(0.02, 0.99, sz.grid_points)
        j, cases, ks = 0, [], {}
        for name in sz.datasets:
            data = dataset(name)
            n = data.shape[0]
            others = np.arange(n) != j
            gaps = np.linalg.norm(data - data[j], axis=1)[others]
            z = rng.standard_normal((sz.draws, data.shape[1]))
            for smin in SIGMA_MINS:
                path = CondOTPath(smin)
                p = np.empty((len(sz.eps), grid.size))
                b = np.empty_like(p)
                tp = np.empty((len(sz.eps), grid.size, n - 1))
                tb = np.empty_like(tp)
                for k, t in enumerate(grid):
                    w = posterior_weights(path.sample(z, data[j], t), t, data, smin)
                    log_ratio = np.log(w[:, others]) - np.log(w[:, [j]])
                    a = t * gaps / float(path.sigma(t))
                    for e, eps in enumerate(sz.eps):
                        p[e, k] = np.mean(w[:, j] < 1 - eps)
                        b[e, k] = float(bound(a, eps, n))
                        tp[e, k] = np.mean(log_ratio > np.log(eps / ((1 - eps) * (n - 1))), axis=0)
                        tb[e, k] = bound(a[:, None], eps, n)
                cases += [
                    ConcentrationCase(name, smin, eps, n, p[e], b[e], tp[e], tb[e]) for e, eps in enumerate(sz.eps)
                ]
            # Exact law of the log-ratio at t = 0.5 for the pair (i, j) = (1, 0), from squared distances.
            t, i = 0.5, 1
            sig = float(CondOTPath(0.0).sigma(t))
            x = t * data[j] + sig * rng.standard_normal((sz.draws, data.shape[1]))
            lr = -(np.sum((x - t * data[i]) ** 2, 1) - np.sum((x - t * data[j]) ** 2, 1)) / (2 * sig**2)
            a = t * np.linalg.norm(data[i] - data[j]) / sig
            ks[name] = float(stats.kstest((lr + a**2 / 2) / (-a), "norm").pvalue)
        return SoftmaxConcentration(grid, sz.draws, tuple(cases), ks, str(th.weight_log_ratio()["residual"]))

    return measured(
        run, "gao-li/softmax-concentration", {"sizes": sz, "seed": run.seed_for(20), "bound": bound}, compute
    )


# ============================================================================ pair resolution time
@dataclass(frozen=True)
class PairSizes(Sizes):
    draws: int = 20_001
    deltas: tuple[float, ...] = (0.3, 1.0, 4.0)
    step: float = 1e-3
    window: float = 1.0


PAIR_RESOLUTION = Tier(
    "gao-li/pair-resolution-time",
    fast=PairSizes(window=0.03),
    spec=PairSizes(),
    section=_row("pair-resolution-time")
    + "; window = half-width of the searched t-grid around t_0.99 (1.0: the whole grid from 0, the spec's)",
)


@dataclass(frozen=True)
class PairResolution:
    """Per case (sigma_min major, Delta minor): the predicted t_0.99 and three independent crossings."""

    cases: tuple[tuple[float, float], ...]
    predicted: np.ndarray
    semi_analytic: np.ndarray
    sympy: np.ndarray
    monte_carlo: np.ndarray
    a_star: float
    symbolic_zero: bool


def pair_resolution(run: RunSpec, a_star: float | None = None) -> PairResolution:
    r"""Two points at distance :math:`\Delta` in d = 20: where the median of :math:`w_j` crosses 0.99.

    ``predicted`` is :math:`a_*/(\Delta+a_*(1-\sigma_{\min}))` with ``a_star`` (default: the
    SymPy root :math:`\sqrt{2\ln99}`). ``semi_analytic``: root of the :math:`Z=0` median
    :math:`1/(1+e^{-a^2/2})`; ``sympy``: the lambdified solution; ``monte_carlo``: first
    t on the grid of step ``step`` within ``window`` of the prediction where the median over
    ``draws`` samples reaches 0.99 (NaN if the median is already above 0.99 at the window start:
    the crossing is then not located).
    """
    sz = run.sizes(PAIR_RESOLUTION)
    sym = th.pair_resolution()
    ast = float(sym["a_star"]) if a_star is None else a_star
    t_fn = th.pair_resolution_time_fn()
    z = run.rng(21).standard_normal((sz.draws, 20))
    cases = tuple((smin, delta) for smin in SIGMA_MINS for delta in sz.deltas)
    pred, semi, sym_t, mc = [], [], [], []
    for smin, delta in cases:
        path = CondOTPath(smin)
        t_star = ast / (delta + ast * (1 - smin))

        def median_minus(t: float, delta: float = delta, path: CondOTPath = path) -> float:
            a = t * delta / float(path.sigma(t))
            return 1.0 / (1.0 + np.exp(-(a**2) / 2)) - 0.99

        data = np.zeros((2, 20))
        data[1, 0] = delta
        lo = max(0.0, round(t_star - sz.window, 3))
        crossing = np.nan
        for k, t in enumerate(np.arange(lo, 1.0, sz.step)):
            median = np.median(posterior_weights(path.sample(z, data[0], t), t, data, smin)[:, 0])
            if median >= 0.99:
                crossing = float(t) if k > 0 else np.nan
                break
        pred.append(t_star)
        semi.append(brentq(median_minus, 1e-9, 1 - 1e-9, xtol=1e-16, rtol=1e-15))
        sym_t.append(float(t_fn(delta, smin)))
        mc.append(crossing)
    return PairResolution(
        cases,
        np.array(pred),
        np.array(semi),
        np.array(sym_t),
        np.array(mc),
        float(sym["a_star"]),
        sym["res_t_star"] == 0,
    )


# ============================================================================ hierarchical refinement
@dataclass(frozen=True)
class HierarchySizes(Sizes):
    starts: int = 200
    step: float = 1e-3


HIERARCHICAL = Tier.same("gao-li/hierarchical-refinement", HierarchySizes(), _row("hierarchical-refinement"))


@dataclass(frozen=True)
class ResolutionPaths:
    """Weights along exact trajectories of one data set (``sigma_min = 0``) on a t grid.

    ``w_point[k, m]``: weight of the landing point; ``w_cluster``: mass of its cluster;
    ``w_max``: the largest weight; ``t_point``/``t_cluster``: first grid t where the point /
    cluster weight reaches 0.99 (last grid t if never).
    """

    dataset: str
    grid: np.ndarray
    w_point: np.ndarray
    w_cluster: np.ndarray
    w_max: np.ndarray
    t_point: np.ndarray
    t_cluster: np.ndarray


def _first_crossing(values: np.ndarray, grid: np.ndarray, level: float) -> np.ndarray:
    hit = values >= level
    return grid[np.where(hit.any(axis=0), hit.argmax(axis=0), grid.size - 1)]


def resolution_paths(run: RunSpec, name: str) -> ResolutionPaths:
    """Exact flow of ``name`` from ``starts`` prior draws (seed 22), dense output on the t grid (step ``step``)."""
    sz = run.sizes(HIERARCHICAL)

    def compute() -> ResolutionPaths:
        data, labels = dataset(name), cluster_labels(name)
        x0 = run.rng(22).standard_normal((sz.starts, 20))
        grid = np.round(np.arange(0.0, 0.999 + 1e-12, sz.step), 3)
        # Steps capped at 0.5 in tau: the grid states come from dense output between steps.
        sol = integrate_flow(x0, data, 0.0, t_end=1.0, return_path=True, max_step=0.5)
        land = nearest(sol.x_end, data)[1]
        states = sol.states_at(grid)
        k, m, d = states.shape
        w = posterior_weights(states.reshape(k * m, d), np.repeat(grid, m), data).reshape(k, m, -1)
        w_point = w[:, np.arange(m), land]
        w_cluster = np.einsum("kmn,mn->km", w, (labels[None, :] == labels[land][:, None]).astype(float))
        return ResolutionPaths(
            name,
            grid,
            w_point,
            w_cluster,
            w.max(axis=2),
            _first_crossing(w_point, grid, 0.99),
            _first_crossing(w_cluster, grid, 0.99),
        )

    return measured(run, "gao-li/resolution-paths", {"sizes": sz, "seed": run.seed_for(22), "dataset": name}, compute)


def gap_resolution_times(name: str) -> tuple[float, float]:
    """:math:`t_{0.99}` (sigma_min 0) of the median inter- and intra-cluster nearest-neighbour gaps (NaN if none)."""
    data, labels = dataset(name), cluster_labels(name)
    dist = np.linalg.norm(data[:, None] - data[None], axis=-1)
    np.fill_diagonal(dist, np.inf)
    same = labels[:, None] == labels[None, :]
    t_fn = th.pair_resolution_time_fn()
    intra = np.where(same, dist, np.inf).min(axis=1)
    inter = float(np.median(np.where(~same, dist, np.inf).min(axis=1)))
    t_intra = float(t_fn(float(np.median(intra)), 0.0)) if np.all(np.isfinite(intra)) else np.nan
    return float(t_fn(inter, 0.0)), t_intra


# ============================================================================ dimension independence
@dataclass(frozen=True)
class DimensionSizes(Sizes):
    starts: int = 8
    dims: tuple[int, ...] = (20, 200, 2000)
    times: tuple[float, ...] = (0.5, 0.9, 0.99)
    end_gap: float = 1e-6


DIMENSION_INDEPENDENCE = Tier.same(
    "gao-li/dimension-independence",
    DimensionSizes(),
    _row("dimension-independence") + "; decay as in off-subspace-decay",
)


@dataclass(frozen=True)
class DimensionIndependence:
    """Per ambient dimension: in-subspace coordinates (times + t = 1), decay error (plain solve), landing distance."""

    dims: tuple[int, ...]
    coords: tuple[np.ndarray, ...]
    decay_error: np.ndarray
    landing_distance: np.ndarray
    label: str = "ot(sigma_min=0)"

    def coordinate_gap(self, k: int) -> float:
        """:math:`\\max|U_d^\\top x(t)-U_{20}^\\top x(t)|` for dimension ``dims[k]``."""
        return float(np.abs(self.coords[k] - self.coords[0]).max())


def dimension_independence(
    run: RunSpec, coord_perturbation: float = 0.0, field: Field = optimal_velocity
) -> DimensionIndependence:
    r"""Fact (e): the same 5-D coordinates (seed 23) embedded by :math:`U_d` (seed 24) in each ``d``.

    Same in-subspace start :math:`c_0` and random :math:`x_\perp(0)` (seed 25). In-subspace
    coordinates and landing from the engine (tau, rtol 1e-11); the decay law from ``field``
    integrated by :func:`plain_flow`. ``coord_perturbation`` shifts the coordinates used for the
    largest ``d`` (a wrong input). Path: the first of :func:`flow_paths` (:math:`\sigma_{\min}=0` by
    default); the landing distances are those to :math:`\alpha_1x^{(i)}` (NaN on a path with :math:`\sigma_1>0`).
    """
    sz = run.sizes(DIMENSION_INDEPENDENCE)
    path = flow_paths(run)[0]
    rng = run.rng(25)
    c0 = rng.standard_normal((sz.starts, 5))
    coords, decay, landing = [], [], []
    for k, d in enumerate(sz.dims):
        data, cd, basis = embedded_dataset(d)
        if coord_perturbation and k == len(sz.dims) - 1:
            data = (cd + coord_perturbation) @ basis.T
        g = rng.standard_normal((sz.starts, d))
        x_perp0 = g - g @ basis @ basis.T
        x0 = c0 @ basis.T + x_perp0
        sol = integrate_flow(x0, data, path, t_end=1.0, t_eval=np.array(sz.times), rtol=1e-11, atol=1e-13)
        coords.append(np.concatenate([sol.x_eval, sol.x_end[None]], axis=0) @ basis)
        target = data if path.alpha1 == 1.0 else path.alpha1 * data
        landing.append(float(nearest(sol.x_end, target)[0].max()) if path.sigma1 == 0.0 else np.nan)
        stops = stop_times(sz.times, sz.end_gap, path)
        decay.append(float(decay_error(plain_flow(x0, data, path, stops, field), x0, data, path, "span").max()))
    return DimensionIndependence(sz.dims, tuple(coords), np.array(decay), np.array(landing), path.label)


# ============================================================================ memorization on any path
@dataclass(frozen=True)
class AnyPathSizes(Sizes):
    starts: int = 2000


MEMORIZATION_ANY_PATH = Tier.same(
    "gao-li/memorization-any-path",
    AnyPathSizes(),
    "derived claim, not in the spec's table; starts as spec gao_li.md §3 row gao-li/terminal-law, "
    "mpmath case as row gao-li/memorization",
)
LANDING_PATHS = ("ot", "cosine", "vp")
"""The built-in paths with :math:`\\sigma_1=0` (:mod:`theory.paths`; ``ve`` ends at width :math:`\\sigma_1>0`)."""


@dataclass(frozen=True)
class AnyPathMemorization:
    """Per built-in path with :math:`\\sigma_1=0`: landing distances and counts of the flow from the
    path's source, the mpmath gap on ``tiny`` (and where the reference comes from), solver cost."""

    labels: tuple[str, ...]
    landing_distance: np.ndarray
    counts: np.ndarray
    mp_gap: np.ndarray
    mp_origin: tuple[str, ...]
    tiny_nfev: np.ndarray
    source_notes: tuple[str, ...]


def memorization_any_path(run: RunSpec, flow_path: str | None = None) -> AnyPathMemorization:
    r"""The exact flow on ``sparse-d20`` from each path's source (seed 41), for every path of
    :data:`LANDING_PATHS`: where it lands, and the ``tiny`` trajectory against mpmath
    (:func:`mp_reference`). ``flow_path`` integrates every flow on that path instead (a wrong input).
    """
    n = run.sizes(MEMORIZATION_ANY_PATH).starts
    paths = tuple(as_path(name) for name in LANDING_PATHS)
    flows = [p if flow_path is None else as_path(flow_path) for p in paths]
    data = dataset("sparse-d20")
    seed = run.seed_for(41)

    def compute() -> AnyPathMemorization:
        tasks = [{"seed": seed, "n_starts": n, "prior_shift": 0.0, "duplicate": False, "path": f} for f in flows]
        ends = sweep(run.executor, terminal_points, tasks)
        dist, idx = zip(*(nearest(e, p.alpha1 * data) for e, p in zip(ends, paths)))
        c = PATHS_MP_CASE
        gaps, origins, nfev = [], [], []
        for p, f in zip(paths, flows):
            ref, origin = mp_reference(run, p)
            sol = integrate_flow(
                np.array(c["x0"]),
                dataset(c["dataset"]),
                f,
                t_end=c["t_end"],
                t_eval=[c["t_end"]],
                rtol=1e-11,
                atol=1e-13,
            )
            gaps.append(float(np.max(np.abs(sol.x_end[0] - ref))))
            origins.append(origin)
            nfev.append(float(sol.nfev[0]))
        return AnyPathMemorization(
            tuple(p.label for p in paths),
            np.array(dist),
            np.array([np.bincount(i, minlength=data.shape[0]) for i in idx]),
            np.array(gaps),
            tuple(origins),
            np.array(nfev),
            tuple(p.symbolic.source_note for p in paths),
        )

    params = {"starts": n, "seed": seed, "paths": path_key(paths), "flow_path": flow_path, "full": run.full}
    return measured(run, "gao-li/memorization-any-path", params, compute)
