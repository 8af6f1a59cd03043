r"""Meters for any velocity model: how far it is from the exact field, and whether it copies its data.

A *velocity model* is any callable ``model(x, t)`` on torch tensors: ``x`` of shape ``(M, d)``,
``t`` of shape ``(M,)``, returning velocities ``(M, d)`` (a ``torch.nn.Module`` is evaluated
without gradients in its own dtype and device; another callable gets float64 CPU tensors). Every
meter works on the *distinct* training points: duplicated rows are removed first
(:func:`numerics.memorization.distinct_rows`), and the report says how many were removed.

- :func:`sample_model`: the model's samples, by classical RK4 with a fixed number of equal steps
  (:func:`numerics.integrators.rk4`, float64 state) from seeded prior noise.
- :func:`excess_loss`: :math:`\mathcal E(t)=\mathbb E\|v_\theta(x_t,t)-v_t^*(x_t)\|^2` per time,
  against the exact field of the training points (:func:`numerics.empirical_field.optimal_velocity_torch`),
  with common random numbers across times and a standard error per time.
- :func:`numerics.memorization.memorization_ratio`: the fraction of copies (nearest /
  second-nearest training distance below 1/3) with a bootstrap interval.
- :func:`w2_train_test`: :math:`W_2(\text{gen},\text{train})` and :math:`W_2(\text{gen},\text{test})`
  on equal numbers of points (POT's exact ``emd2``).
- :func:`data_copying_test`: the three-sample test :math:`C_T` of Meehan, Chaudhuri & Dasgupta
  (2020).
- :func:`off_span_fraction`: the fraction of the samples' squared norm outside the span (or
  affine hull) of the training points.
- :func:`meter`: all of them on one set of samples (:class:`MeterReport`).

Memory is bounded whatever :math:`N`: distances, exact fields and model evaluations are streamed
over chunks (:data:`DISTANCE_BUDGET` distances at a time), and :math:`W_2` is taken on at most
:data:`W2_POINTS` points per side.

References
----------
C. Meehan, K. Chaudhuri, S. Dasgupta, *A Non-Parametric Test to Detect Data-Copying in
Generative Models*, AISTATS 2020 (the :math:`C_T` statistic).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from numerics.empirical_field import DistinctPoints, optimal_velocity_torch
from numerics.integrators import rk4
from numerics.memorization import MemorizationRatio, NearestTwo, distinct_rows, nearest_two, ratio_of_nearest
from numerics.paths import PathLike, as_path
from numerics.subspace import subspace_basis
from theory.validation import integer, real_array

VelocityModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
DEFAULT_TIMES = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
DISTANCE_BUDGET = 1 << 23
"""Distances (or logits) held at once: 64 MiB in float64."""
MODEL_CHUNK = 4096
W2_POINTS = 2000
MIN_CELL = 20
"""Fewest test and generated samples in a cell of :math:`C_T` (the normal approximation of U)."""
# Sub-streams of one meter seed: sampling noise, loss draws, bootstrap, W2 subsets, k-means.
STREAM_NOISE, STREAM_LOSS, STREAM_BOOT, STREAM_W2, STREAM_CELLS = 1, 2, 3, 4, 5


def _rows_per_chunk(n: int) -> int:
    return max(1, min(2048, DISTANCE_BUDGET // max(n, 1)))


def _points(data: Any, name: str, dim: int | None = None) -> np.ndarray:
    x = real_array(data, name, ndim=2)
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{name} has dimension {x.shape[1]}, the training points {dim}")
    return x


def _stream(seed: int | Sequence[int], which: int) -> list[int]:
    return [*np.atleast_1d(np.asarray(seed, dtype=np.int64)).tolist(), which]


# ----------------------------------------------------------------------------------- the model
def _model_dtype_device(model: VelocityModel) -> tuple[torch.dtype, torch.device]:
    if isinstance(model, torch.nn.Module):
        p = next(model.parameters(), None)
        if p is not None:
            if not p.dtype.is_floating_point or p.dtype.is_complex:
                raise TypeError(f"the model's parameters must be real floating, got {p.dtype}")
            return p.dtype, p.device
    return torch.float64, torch.device("cpu")


def evaluate(model: VelocityModel, x: np.ndarray, t: np.ndarray | float, chunk: int = MODEL_CHUNK) -> np.ndarray:
    """``model(x, t)`` in chunks of rows, without gradients, as a float64 array ``(M, d)``.

    Raises
    ------
    TypeError
        ``model`` not callable, or its output not a tensor.
    ValueError
        Output of the wrong shape, or NaN / inf in it.
    """
    if not callable(model):
        raise TypeError(f"the velocity model must be callable as model(x, t), got {type(model).__name__}")
    dtype, device = _model_dtype_device(model)
    tt = np.broadcast_to(np.asarray(t, dtype=np.float64), (x.shape[0],))
    out = np.empty_like(x, dtype=np.float64)
    with torch.no_grad():
        for start in range(0, x.shape[0], chunk):
            xs = torch.as_tensor(x[start : start + chunk], dtype=dtype, device=device)
            ts = torch.as_tensor(np.ascontiguousarray(tt[start : start + chunk]), dtype=dtype, device=device)
            v = model(xs, ts)
            if not isinstance(v, torch.Tensor):
                raise TypeError(f"the velocity model must return a torch tensor, got {type(v).__name__}")
            if tuple(v.shape) != tuple(xs.shape):
                raise ValueError(f"the velocity model returned shape {tuple(v.shape)} for x of shape {tuple(xs.shape)}")
            out[start : start + chunk] = v.detach().to("cpu", torch.float64).numpy()
    if not np.all(np.isfinite(out)):
        raise ValueError("the velocity model returned NaN or inf")
    return out


def sample_model(
    model: VelocityModel,
    n: int,
    train: np.ndarray,
    *,
    path: PathLike = None,
    steps: int = 100,
    seed: int | Sequence[int] = 0,
) -> np.ndarray:
    """``n`` samples of the model's flow: RK4 with ``steps`` equal steps from ``t = 0`` to 1, float64 state.

    The start is the path's source drawn from ``seed`` (:meth:`numerics.paths.NumericPath.sample_source`:
    :math:`\\sigma_0` times standard normals when :math:`\\alpha_0=0`; ``train`` gives the
    dimension and, for :math:`\\alpha_0>0`, the source's centres).
    """
    y = _points(train, "train")
    n, steps = integer(n, "samples", 1), integer(steps, "steps", 1)
    p = as_path(path)
    x0 = p.sample_source(np.random.default_rng(seed), n, y)
    return rk4(lambda x, t: evaluate(model, x, t), x0, steps)


# ----------------------------------------------------------------------------------- excess loss
@dataclass(frozen=True)
class ExcessLoss:
    r""":math:`\mathcal E(t)=\mathbb E_{x_t}\|v_\theta(x_t,t)-v_t^*(x_t)\|^2` per time, with its standard error.

    ``draws`` pairs :math:`(x_0, x^{(i)})` (prior noise, a uniform distinct training point) drawn
    once from ``seed`` and used at every time (common random numbers: the curve's shape is not
    noise between times); ``mean``, ``se`` per time of ``times``.
    """

    times: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    draws: int
    seed: int | list[int]
    path: str

    @property
    def average(self) -> float:
        """Mean over the time grid (the grid's uniform average, not an integral)."""
        return float(self.mean.mean())


def excess_loss(
    model: VelocityModel,
    train: np.ndarray,
    *,
    path: PathLike = None,
    times: Sequence[float] = DEFAULT_TIMES,
    draws: int = 1024,
    seed: int | Sequence[int] = 0,
) -> ExcessLoss:
    """The model's squared distance to the exact field of the distinct training points, per time.

    Raises
    ------
    ValueError
        A time outside [0, 1] or where :math:`\\sigma_t=0` (the exact field is singular there).
    """
    y = distinct_rows(_points(train, "train"))
    p = as_path(path)
    tt = real_array(times, "times", ndim=1)
    draws = integer(draws, "draws", 2)
    if tt.size == 0 or np.any(tt < 0) or np.any(tt > 1) or np.any(p.sigma(tt) <= 0):
        raise ValueError(f"times must lie in [0, 1] with sigma_t > 0 on {p.label}, got {tt.tolist()}")
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((draws, y.shape[1]))
    x1 = y[rng.integers(0, y.shape[0], draws)]
    points = DistinctPoints(torch.from_numpy(y), None)
    rows = max(1, min(draws, DISTANCE_BUDGET // y.shape[0]))
    mean, se = np.empty(tt.size), np.empty(tt.size)
    for k, t in enumerate(tt):
        xt = p.sample(x0, x1, float(t))
        err = np.empty(draws)
        for start in range(0, draws, rows):
            xs = xt[start : start + rows]
            exact = optimal_velocity_torch(torch.from_numpy(xs), float(t), points, p).numpy()
            diff = evaluate(model, xs, float(t)) - exact
            err[start : start + rows] = np.einsum("ij,ij->i", diff, diff)
        mean[k], se[k] = err.mean(), err.std(ddof=1) / np.sqrt(draws)
    return ExcessLoss(tt, mean, se, draws, seed, p.label)


# ----------------------------------------------------------------------------------- W2
@dataclass(frozen=True)
class W2Comparison:
    r""":math:`W_2` of the samples to ``points`` training and to ``points`` test points (uniform weights).

    A model that copies its training set is closer to it than to held-out data:
    ``to_train < to_test``. The two distances use equal numbers of points (the finite-sample
    bias of :math:`W_2` depends on it); training points are a seeded subset when there are more.
    """

    to_train: float
    to_test: float
    points: int
    seed: int | list[int]


def _w2(x: np.ndarray, y: np.ndarray) -> float:
    import ot

    cost = ot.dist(x, y)  # squared Euclidean
    w2sq = ot.emd2(np.full(x.shape[0], 1 / x.shape[0]), np.full(y.shape[0], 1 / y.shape[0]), cost, numItermax=10**7)
    return float(np.sqrt(max(float(w2sq), 0.0)))


def w2_train_test(
    samples: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    points: int = W2_POINTS,
    seed: int | Sequence[int] = 0,
) -> W2Comparison:
    """:math:`W_2(\\text{gen},\\text{train})` and :math:`W_2(\\text{gen},\\text{test})` by POT's exact ``emd2``.

    Each side uses ``min(points, len(samples), len(test), len(train))`` points, drawn without
    replacement from ``seed`` where a set is larger (memory: one square cost matrix of that size).
    """
    x = _points(samples, "samples")
    y, z = _points(train, "train", x.shape[1]), _points(test, "test", x.shape[1])
    k = min(integer(points, "points", 1), x.shape[0], y.shape[0], z.shape[0])
    rng = np.random.default_rng(seed)

    def subset(a: np.ndarray) -> np.ndarray:
        return a if a.shape[0] == k else a[np.sort(rng.choice(a.shape[0], k, replace=False))]

    xs, ys, zs = subset(x), subset(y), subset(z)
    return W2Comparison(_w2(xs, ys), _w2(xs, zs), k, seed)


# ----------------------------------------------------------------------------------- C_T
@dataclass(frozen=True)
class DataCopyingTest:
    r"""The three-sample data-copying statistic :math:`C_T` of Meehan et al. (2020).

    The training points are split into ``cells`` k-means cells. In each cell :math:`\pi` the
    nearest-training-point distances of the generated samples (:math:`m` of them) and of the
    test points (:math:`n`) are compared by the Mann–Whitney statistic :math:`U` (pairs where the
    generated distance is the larger), standardised:
    :math:`Z_U(\pi)=(U-mn/2)/\sqrt{mn(m+n+1)/12}`. Cells with fewer than ``min_cell`` points of
    either kind are left out; :math:`C_T=\sum_\pi P_n(\pi)Z_U(\pi)/\sum_\pi P_n(\pi)` over the
    others, weighted by the test points' fraction :math:`P_n(\pi)`. :math:`C_T\ll0` means the
    samples sit closer to the training points than held-out data does (copying), :math:`C_T\gg0`
    farther (underfitting); a model that generalises has :math:`C_T` near 0 (Meehan et al. flag
    :math:`C_T<-3`).
    """

    statistic: float
    cell_z: np.ndarray
    cell_p_values: np.ndarray
    test_counts: np.ndarray
    sample_counts: np.ndarray
    kept: np.ndarray
    cells: int
    min_cell: int
    seed: int | list[int]

    @property
    def kept_fraction(self) -> float:
        """Fraction of the test points in the cells that enter :math:`C_T`."""
        return float(self.test_counts[self.kept].sum() / self.test_counts.sum())


def default_cells(n_test: int) -> int:
    """Cells of :math:`C_T` for ``n_test`` test points: one per 50 of them, between 1 and 20."""
    return int(min(20, max(1, n_test // 50)))


def data_copying_test(
    samples: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    cells: int | None = None,
    min_cell: int = MIN_CELL,
    seed: int | Sequence[int] = 0,
    sample_distances: np.ndarray | None = None,
    test_distances: np.ndarray | None = None,
) -> DataCopyingTest:
    """:math:`C_T` of ``samples`` against ``test`` relative to the (distinct) ``train`` points.

    ``cells`` defaults to :func:`default_cells`; the k-means partition
    (:func:`scipy.cluster.vq.kmeans2`, k-means++ start) is seeded by ``seed``. The nearest
    training distances may be passed when already computed (``sample_distances``, ``test_distances``).

    Raises
    ------
    ValueError
        Bad shapes, or no cell with ``min_cell`` points of both kinds.
    """
    from scipy.cluster.vq import kmeans2, vq
    from scipy.stats import mannwhitneyu

    y = distinct_rows(_points(train, "train"))
    x, z = _points(samples, "samples", y.shape[1]), _points(test, "test", y.shape[1])
    k = default_cells(z.shape[0]) if cells is None else integer(cells, "cells", 1)
    min_cell = integer(min_cell, "min_cell", 1)
    if k > y.shape[0]:
        raise ValueError(f"{k} cells need at least as many distinct training points, got {y.shape[0]}")
    chunk = _rows_per_chunk(y.shape[0])
    dx = nearest_two(x, y, chunk).first if sample_distances is None else real_array(sample_distances, "distances")
    dz = nearest_two(z, y, chunk).first if test_distances is None else real_array(test_distances, "distances")
    rng = np.random.default_rng(seed)
    centroids, _ = kmeans2(y, k, minit="++", seed=rng)
    cx, cz = vq(x, centroids)[0], vq(z, centroids)[0]
    n_z, n_x = np.bincount(cz, minlength=k), np.bincount(cx, minlength=k)
    kept = (n_z >= min_cell) & (n_x >= min_cell)
    if not kept.any():
        raise ValueError(
            f"no k-means cell holds {min_cell} test points and {min_cell} samples (test per cell {n_z.tolist()}, "
            f"samples per cell {n_x.tolist()}); use fewer cells or more samples"
        )
    zs, ps = np.full(k, np.nan), np.full(k, np.nan)
    for c in np.flatnonzero(kept):
        a, b = dx[cx == c], dz[cz == c]
        res = mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
        m, n = a.size, b.size
        zs[c] = (res.statistic - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12)
        ps[c] = res.pvalue
    w = n_z[kept] / n_z[kept].sum()
    return DataCopyingTest(float(np.sum(w * zs[kept])), zs, ps, n_z, n_x, kept, k, min_cell, seed)


# ----------------------------------------------------------------------------------- off-span
@dataclass(frozen=True)
class OffSpan:
    r"""Fraction of the samples' squared norm outside the training points' span (or affine hull).

    :math:`\sum_j\|P_\perp(x_j-o)\|^2/\sum_j\|x_j-o\|^2` with :math:`P_\perp` the projector on the
    orthogonal complement of the span (``kind="span"``, :math:`o=0`) or of the affine hull
    (``"affine"``, :math:`o` the training mean); ``se`` by the delta method for a ratio of means.
    ``rank`` is the dimension of the span; with ``rank == dim`` the fraction is 0 by definition.
    """

    fraction: float
    se: float
    rank: int
    dim: int
    kind: str


def off_span_fraction(samples: np.ndarray, train: np.ndarray, kind: str = "span") -> OffSpan:
    """The samples' off-span fraction relative to the distinct ``train`` points (see :class:`OffSpan`)."""
    y = distinct_rows(_points(train, "train"))
    x = _points(samples, "samples", y.shape[1])
    sub = subspace_basis(y, kind, method="svd")
    if sub.rank == sub.dim:  # the span is the whole space: nothing lies outside it
        return OffSpan(0.0, 0.0, sub.rank, sub.dim, kind)
    xc = x - sub.offset
    off = xc - (xc @ sub.basis) @ sub.basis.T
    a, b = np.einsum("ij,ij->i", off, off), np.einsum("ij,ij->i", xc, xc)
    ratio = float(a.sum() / b.sum()) if b.sum() > 0 else 0.0
    se = float(np.std(a - ratio * b, ddof=1) / np.sqrt(a.size) / b.mean()) if a.size > 1 and b.sum() > 0 else np.nan
    return OffSpan(ratio, se, sub.rank, sub.dim, kind)


# ----------------------------------------------------------------------------------- all at once
@dataclass(frozen=True)
class MeterReport:
    """Every meter of one model on one set of samples (see :func:`meter`).

    ``nn_train``: each sample's distance to its nearest training point; ``nn_test``: to its
    nearest test point; ``test_nn_train``: each test point's distance to its nearest training
    point (the reference a generalising model matches). Entries that need a test set are
    ``None`` without one.
    """

    dim: int
    n_train: int
    duplicates_removed: int
    n_test: int | None
    path: str
    samples: int
    steps: int
    seed: int | list[int]
    memorization: MemorizationRatio
    excess: ExcessLoss
    off_span: OffSpan
    test_off_span: OffSpan | None
    w2: W2Comparison | None
    copying: DataCopyingTest | None
    nn_train: np.ndarray
    nn_test: np.ndarray | None
    test_nn_train: np.ndarray | None
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready record: every number, the seeds and the sizes (per-sample arrays left out)."""
        m = self.memorization
        out: dict[str, Any] = {
            "dim": self.dim,
            "n_train_distinct": self.n_train,
            "duplicates_removed": self.duplicates_removed,
            "n_test": self.n_test,
            "path": self.path,
            "samples": self.samples,
            "rk4_steps": self.steps,
            "seed": self.seed,
            "streams": {
                "noise": STREAM_NOISE,
                "loss_draws": STREAM_LOSS,
                "bootstrap": STREAM_BOOT,
                "w2_subsets": STREAM_W2,
                "kmeans": STREAM_CELLS,
            },
            "memorization_ratio": {
                "fraction": m.fraction,
                "ci": list(m.ci),
                "level": m.level,
                "threshold": m.threshold,
                "n_boot": m.n_boot,
            },
            "excess_loss": {
                "times": self.excess.times.tolist(),
                "mean": self.excess.mean.tolist(),
                "se": self.excess.se.tolist(),
                "draws": self.excess.draws,
                "average_over_times": self.excess.average,
            },
            "off_span": asdict(self.off_span),
            "test_off_span": None if self.test_off_span is None else asdict(self.test_off_span),
            "w2": None if self.w2 is None else asdict(self.w2),
            "nn_distance_median": {
                "samples_to_train": float(np.median(self.nn_train)),
                "samples_to_test": None if self.nn_test is None else float(np.median(self.nn_test)),
                "test_to_train": None if self.test_nn_train is None else float(np.median(self.test_nn_train)),
            },
            "seconds": round(self.seconds, 3),
        }
        c = self.copying
        out["data_copying_C_T"] = (
            None
            if c is None
            else {
                "statistic": c.statistic,
                "cells": c.cells,
                "cells_kept": int(c.kept.sum()),
                "min_cell": c.min_cell,
                "kept_test_fraction": c.kept_fraction,
                "cell_z": [None if np.isnan(v) else float(v) for v in c.cell_z],
                "test_counts": c.test_counts.tolist(),
                "sample_counts": c.sample_counts.tolist(),
            }
        )
        return out


def meter(
    model: VelocityModel,
    train: np.ndarray,
    test: np.ndarray | None = None,
    *,
    path: PathLike = None,
    samples: int = 1000,
    steps: int = 100,
    seed: int = 0,
    times: Sequence[float] = DEFAULT_TIMES,
    loss_draws: int = 1024,
    cells: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> MeterReport:
    """Meter ``model`` against the exact field of ``train`` (and held-out ``test`` points).

    Draws ``samples`` samples (:func:`sample_model`, ``steps`` RK4 steps on ``path``), then takes
    the memorization ratio, the off-span fraction, the excess loss per time, and with ``test``:
    :math:`W_2` to train vs test, :math:`C_T`, and the nearest-neighbour distances to the test
    points. Every random draw comes from a stream of ``seed`` (:class:`MeterReport` records them).

    Raises
    ------
    ValueError
        Bad data (not 2-D, NaN or inf, fewer than two distinct training points, mismatched test
        dimension), bad options, or a model whose output has the wrong shape or is not finite.
    """
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    raw = _points(train, "train")
    y = distinct_rows(raw)
    if y.shape[0] < 2:
        raise ValueError("the meters need at least two distinct training points")
    z = None if test is None else _points(test, "test", y.shape[1])
    if z is not None and distinct_rows(z).shape[0] < 2:
        raise ValueError("the test set needs at least two distinct points")
    seed = integer(seed, "seed", 0)
    p = as_path(path)
    say(f"sampling {samples} points: RK4, {steps} steps on {p.label}")
    x = sample_model(model, samples, y, path=p, steps=steps, seed=_stream(seed, STREAM_NOISE))
    chunk = _rows_per_chunk(y.shape[0])
    say(f"nearest training points of {samples} samples (N = {y.shape[0]})")
    nn = nearest_two(x, y, chunk)
    mem = ratio_of_nearest(nn, y.shape[0], seed=_stream(seed, STREAM_BOOT))
    off = off_span_fraction(x, y)
    say(f"excess loss at {len(times)} times ({loss_draws} draws each)")
    exc = excess_loss(model, y, path=p, times=times, draws=loss_draws, seed=_stream(seed, STREAM_LOSS))
    w2 = copying = nn_test = test_nn = test_off = None
    if z is not None:
        say("test set: nearest distances, W2 (POT emd2), C_T (k-means cells)")
        test_nn = nearest_two(z, y, chunk).first
        nn_test = nearest_two(x, z, _rows_per_chunk(z.shape[0])).first
        test_off = off_span_fraction(z, y)
        w2 = w2_train_test(x, y, z, seed=_stream(seed, STREAM_W2))
        copying = data_copying_test(
            x, y, z, cells=cells, seed=_stream(seed, STREAM_CELLS), sample_distances=nn.first, test_distances=test_nn
        )
    return MeterReport(
        dim=y.shape[1],
        n_train=y.shape[0],
        duplicates_removed=raw.shape[0] - y.shape[0],
        n_test=None if z is None else z.shape[0],
        path=p.label,
        samples=samples,
        steps=steps,
        seed=seed,
        memorization=mem,
        excess=exc,
        off_span=off,
        test_off_span=test_off,
        w2=w2,
        copying=copying,
        nn_train=nn.first,
        nn_test=nn_test,
        test_nn_train=test_nn,
        seconds=time.perf_counter() - t0,
    )


def nearest_distances(samples: np.ndarray, points: np.ndarray) -> NearestTwo:
    """:func:`numerics.memorization.nearest_two` with a chunk that keeps memory bounded for any ``N``."""
    y = _points(points, "points")
    return nearest_two(samples, y, _rows_per_chunk(y.shape[0]))
