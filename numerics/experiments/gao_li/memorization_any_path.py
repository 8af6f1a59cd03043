r"""Memorization on every built-in path with sigma_1 = 0 (claim ``gao-li/memorization-any-path``)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np

from numerics.datasets import dataset
from numerics.empirical_field import (
    integrate_flow,
)
from numerics.executor import sweep
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.gao_li._shared import (
    APPROACH_MAX_STEP,
    PATHS_MP_CASE,
    approach,
    mp_reference,
    nearest,
    path_key,
    terminal_points,
)
from numerics.paths import as_path


@dataclass(frozen=True)
class AnyPathSizes(Sizes):
    starts: int = 2000


MEMORIZATION_ANY_PATH = Tier.same(
    "gao-li/memorization-any-path",
    AnyPathSizes(),
    "derived claim, not in the spec's table; starts as spec gao_li.md §3 row gao-li/terminal-law, "
    "mpmath case as row gao-li/memorization",
)
APPROACH_STARTS = 8
"""Starts (the first of each path's sample) whose approach to the data is recorded on a dense grid."""
LANDING_PATHS = ("ot", "cosine", "vp")
"""The built-in paths with :math:`\\sigma_1=0` (:mod:`theory.paths`; ``ve`` ends at width :math:`\\sigma_1>0`)."""


@dataclass(frozen=True)
class AnyPathMemorization(Measurement):
    """Per built-in path with :math:`\\sigma_1=0`: landing distances and counts of the flow from the
    path's source, the mpmath gap on ``tiny`` (and where the reference comes from), solver cost; the approach of the
    first starts to the data near t = 1."""

    labels: tuple[str, ...]
    landing_distance: np.ndarray
    counts: np.ndarray
    mp_gap: np.ndarray
    mp_origin: tuple[str, ...]
    tiny_nfev: np.ndarray
    source_notes: tuple[str, ...]
    one_minus_t: np.ndarray = dataclass_field(default_factory=lambda: np.zeros(0))
    approach: np.ndarray = dataclass_field(default_factory=lambda: np.zeros((0, 0, 0)))
    """``approach[s, k, m]``: distance of start ``m`` (the first :data:`APPROACH_STARTS`) to the nearest
    :math:`\\alpha_1x^{(i)}` at :math:`1-t=` ``one_minus_t[k]`` on path ``s`` (a dense solve of the same flow)."""


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
        one_minus_t = np.logspace(-8, -0.05, 120)
        near = [
            approach(
                p.sample_source(np.random.default_rng(seed), n, data)[:APPROACH_STARTS],
                data,
                f,
                p.alpha1 * data,
                one_minus_t,
            )
            for p, f in zip(paths, flows)
        ]
        return AnyPathMemorization(
            tuple(p.label for p in paths),
            np.array(dist),
            np.array([np.bincount(i, minlength=data.shape[0]) for i in idx]),
            np.array(gaps),
            tuple(origins),
            np.array(nfev),
            tuple(p.symbolic.source_note for p in paths),
            one_minus_t,
            np.array(near),
            seeds={"starts": seed},
            sizes=run.sizes(MEMORIZATION_ANY_PATH),
            settings={
                "mp_case_rtol": 1e-11,
                "mp_case_atol": 1e-13,
                "paths": path_key(paths),
                "flow_path": flow_path,
                "approach_max_step": APPROACH_MAX_STEP,
                "approach_one_minus_t": "logspace(-8, -0.05, 120)",
            },
        )

    params = {"starts": n, "seed": seed, "paths": path_key(paths), "flow_path": flow_path, "full": run.full}
    return measured(run, "gao-li/memorization-any-path", params, compute)
