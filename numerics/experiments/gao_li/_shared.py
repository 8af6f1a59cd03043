"""The exact-flow setting shared by the topics of `gao-li`: paths, nearest points, the plain DOP853 flow, the mpmath references and the end points of the exact flow."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from numerics.datasets import dataset
from numerics.empirical_field import (
    integrate_flow,
    integrate_flow_mp,
    optimal_velocity,
)
from numerics.experiments import RunSpec, Sizes
from numerics.paths import CondOTPath, NumericPath, as_path
from numerics.subspace import subspace_basis

Field = Callable[[np.ndarray, Any, np.ndarray, NumericPath], np.ndarray]
"""``field(x, t, data, path) -> (M, d)``: a velocity field of the exact-flow setting on ``path``."""

SIGMA_MINS = (0.0, 0.01)
"""Spec §6: every exact-flow claim runs for both values."""


def flow_paths(run: RunSpec, sigma_mins: tuple[float, ...] = SIGMA_MINS) -> tuple[NumericPath, ...]:
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


def path_key(paths: tuple[NumericPath, ...]) -> list[dict[str, Any]]:
    """The paths' records, for cache keys."""
    return [p.record() for p in paths]


TINY_SYMBOLIC = ((1, 0), (sp.Rational(-1, 2), sp.Rational(4, 5)), (sp.Rational(1, 5), sp.Rational(-11, 10)))
"""The ``tiny`` data set as exact rationals (symbolic claims)."""

PLAIN_RTOL, PLAIN_ATOL = 1e-10, 1e-12
"""SciPy DOP853 tolerances of :func:`plain_flow` (spec §3 default route, rtol 1e-10)."""


def spec_row(slug: str) -> str:
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


def mixture_density(x: np.ndarray, t: np.ndarray, data: np.ndarray, path: NumericPath) -> np.ndarray:
    r""":math:`p_t(x)=\frac1N\sum_i\mathcal N(x;\alpha_tx^{(i)},\sigma_t^2I)` per row (``t`` one per row)."""
    sig = path.sigma(t)
    sq = ((x[:, None, :] - path.alpha(t)[:, None, None] * data[None]) ** 2).sum(-1)
    return np.mean(np.exp(-sq / (2 * sig[:, None] ** 2)), axis=1) / (2 * np.pi * sig**2) ** (data.shape[1] / 2)


MP_REFERENCE_FILE = "gao_li_mp_reference.json"
MP_REFERENCE_CASE = {"x0": [0.3, -0.2], "dataset": "tiny", "sigma_min": 0.0, "t_end": 0.9, "dps": 30}
"""The one ``tiny`` trajectory cross-checked against ``mpmath.odefun`` (spec: dps 30, t = 0.9)."""


def mp_reference_path() -> Path:
    """Where the stored reference lives in the source tree (package data of ``numerics.experiments``)."""
    return Path(__file__).resolve().parent.parent / "data" / MP_REFERENCE_FILE


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


def compute_path_mp_reference(path: NumericPath, dps: int) -> np.ndarray:
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


def mp_reference(run: RunSpec, path: NumericPath) -> tuple[np.ndarray, str]:
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


def toward_first_point(x: np.ndarray, data: np.ndarray, shift: float) -> np.ndarray:
    """``x`` moved by ``shift`` toward the first data point (the wrong prior of the terminal-law controls)."""
    return x + shift * data[0] / np.linalg.norm(data[0])


def terminal_points(
    seed: int | list[int], n_starts: int, prior_shift: float, duplicate: bool, path: NumericPath
) -> np.ndarray:
    """End points of the exact flow on ``sparse-d20`` (point 0 doubled if ``duplicate``); a sweep task.

    Starts from the path's source (:meth:`numerics.paths.NumericPath.sample_source`: the prior
    :math:`\\mathcal N(0,I)` on the OT path); ``prior_shift`` moves every start by that length toward point 0.
    """
    data = dataset("sparse-d20")
    x0 = path.sample_source(np.random.default_rng(seed), n_starts, data)
    x0 = toward_first_point(x0, data, prior_shift)
    fit = np.vstack([data, data[:1]]) if duplicate else data
    return integrate_flow(x0, fit, path)


@dataclass(frozen=True)
class PointsSizes(Sizes):
    points: int = 1000


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
    path: NumericPath,
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


def stop_times(times: tuple[float, ...], end_gap: float, path: NumericPath) -> np.ndarray:
    """``times`` plus :math:`t_{\\rm end}`: 1 for :math:`\\sigma_1>0`, else :math:`1-` ``end_gap`` (§1.3)."""
    return np.array([*times, 1.0 if path.sigma1 > 0 else 1.0 - end_gap])


def decay_error(flow: PlainFlow, x0: np.ndarray, data: np.ndarray, path: NumericPath, kind: str) -> np.ndarray:
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


APPROACH_MAX_STEP = 0.5
"""Largest step (in the engine's log-time) of the dense solve that records the approach."""


def approach(
    x0: np.ndarray, data: np.ndarray, flow: NumericPath, target: np.ndarray, one_minus_t: np.ndarray
) -> np.ndarray:
    """``(K, M)``: distance of each trajectory of ``flow`` from ``x0`` to the nearest row of ``target`` at ``1 - one_minus_t``."""
    sol = integrate_flow(x0, data, flow, return_path=True, max_step=APPROACH_MAX_STEP)
    states = sol.states_at(np.sort(1 - one_minus_t))[::-1]
    return np.linalg.norm(states[:, :, None] - target[None, None], axis=-1).min(axis=2)
