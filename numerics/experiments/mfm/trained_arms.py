r"""Multisample Flow Matching, learned flows: seed ensembles of trained models and their per-arm evaluations.

Every model is a :class:`~numerics.nets.VelocityMLP` trained on the joint CFM objective; models
differ only in the coupling that pairs noise with data in each minibatch (spec ``mfm.md`` §1.6).
An *arm* is one coupling (and block size ``k``, target, dimension) trained with ``seeds`` seeds:
seed ``s`` of every arm uses the same data, noise, initialisation and time streams
(:class:`~numerics.experiments.mfm.FlowTrainingConfig` with ``seed = s``), and every model is
evaluated on the same starts and the same fresh pairs, so two arms are compared *paired by seed*
(:class:`PairedDifference`). The seeds of one arm are trained as one vectorised ensemble
(:func:`numerics.training.train_ensembles`), on CPU bit-for-bit the runs :func:`numerics.training.trained`
gives one by one at the suite's sizes, and shared through its cache with every check and figure.

Sizes (:class:`TrainSizes`): the spec trains width-256 MLPs for 10,000 steps on minibatches of
``k = 256``; the fast tier trains width 64 for 1,500 steps on minibatches of 64 (``k <= 64``),
with the same number of seeds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import ot

from numerics.cache import param_hash, param_record
from numerics.datasets import FlowTarget
from numerics.executor import sweep
from numerics.experiments import Prerequisite, RunSpec, Sizes, measured
from numerics.experiments.mfm import (
    STREAM_TIME,
    FlowTrainingConfig,
)
from numerics.flow_metrics import consistency, flow_metrics, gradient_variance, variance_proxy
from numerics.training import (
    TrainResult,
    coupled_objective,
    train_ensembles,
)

TRAINING_SECTION = "spec mfm.md §3 (training defaults: 8-Gaussians, width 256, 10000 steps, k = batch = 256)"


@dataclass(frozen=True)
class TrainSizes(Sizes):
    """Sizes of the trained flows: MLP width, training steps, minibatch (= largest block ``k``), seeds per arm."""

    width: int = 256
    steps: int = 10_000
    batch: int = 256
    seeds: int = 5


SPEC_TRAIN = TrainSizes()
FAST_TRAIN = TrainSizes(width=64, steps=1500, batch=64, seeds=5)


def train_seeds(run: RunSpec, train: TrainSizes) -> list[int | tuple[int, ...]]:
    """The training seeds of an arm: ``0..seeds-1``, or ``(--seed, s)`` pairs."""
    return [s if isinstance(s, int) else tuple(s) for s in map(run.seed_for, range(train.seeds))]


def arm(
    run: RunSpec, train: TrainSizes, coupling: str, k: int | None = None, **config: Any
) -> tuple[FlowTrainingConfig, ...]:
    """The runs of one arm: ``coupling`` with blocks of ``k`` (default: the whole minibatch), one per seed."""
    return tuple(
        FlowTrainingConfig(
            coupling=coupling,
            k=train.batch if k is None else k,
            batch=train.batch,
            width=train.width,
            steps=train.steps,
            seed=s,
            **config,
        ).canonical()
        for s in train_seeds(run, train)
    )


def trained_arms(run: RunSpec, arms: Mapping[Any, tuple[FlowTrainingConfig, ...]]) -> dict[Any, list[TrainResult]]:
    """Every arm trained (each as one seed ensemble, the arms through the run's executor), by label."""
    return dict(zip(arms, train_ensembles([list(a) for a in arms.values()], run.executor, run.cache)))


def train_arm(configs: tuple[FlowTrainingConfig, ...], cache: Any) -> None:
    """Train one arm (one seed ensemble) into ``cache`` (a :class:`~numerics.experiments.Prerequisite`'s work)."""
    train_ensembles([list(configs)], None, cache)


SPEC_CONFIG = FlowTrainingConfig()
SECONDS_PER_SEED_STEP = {"condot": 3.0e-3, "stable": 4.4e-3, "batchot": 6.2e-3, "batcheot": 12.3e-3}
"""CPU seconds of one training step of one seed at width 256, ``k = batch = 256`` (one core, 5-seed ensembles,
measured with ``benchmarks/bench_coupling_step.py``'s setting); BatchOT in blocks ``k < batch`` costs about CondOT's.
Only the order of the prerequisites depends on these."""


def arm_cost(configs: tuple[FlowTrainingConfig, ...]) -> float:
    """Estimated CPU seconds to train an arm (:data:`SECONDS_PER_SEED_STEP`, scaled by width x batch; BatchEOT's
    Sinkhorn iterations grow as its ε falls, about as :math:`\varepsilon^{-0.4}` between 0.01 and 0.2)."""
    c = configs[0]
    coupling = "condot" if c.coupling.startswith("batchot") and c.k < c.batch else c.coupling.split("-")[0]
    per_step = SECONDS_PER_SEED_STEP.get(coupling, SECONDS_PER_SEED_STEP["batcheot"])
    if coupling == "batcheot":
        per_step *= (0.05 / c.eot_eps_rel) ** 0.4
    return per_step * c.steps * len(configs) * (c.width * c.batch) / 256**2


def arm_prerequisites(run: RunSpec, arms: Any) -> list[Prerequisite]:
    """The arms (an iterable of :func:`arm` tuples) as prerequisites trained ahead into the run's disk cache
    (none without one: nothing could be shared between processes)."""
    if run.cache is None or run.cache.root is None:
        return []
    out = []
    for configs in arms:
        c = configs[0]
        extra = "".join(
            f" {name}={getattr(c, name)}"
            for name in ("sigma_min", "eot_eps_rel")
            if getattr(c, name) != getattr(SPEC_CONFIG, name) and (name != "eot_eps_rel" or "eot" in c.coupling)
        )
        out.append(
            Prerequisite(
                key=param_hash(param_record({"train-arm": list(configs)})),
                label=f"train {c.coupling} k={c.k} {c.target} d={c.dim}{extra} width={c.width} x{len(configs)} seeds",
                fn=train_arm,
                kwargs={"configs": tuple(configs), "cache": run.cache},
                cost=arm_cost(configs),
                parts=frozenset(param_hash(param_record(x)) for x in configs),
            )
        )
    return out


def paired(larger: np.ndarray, smaller: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """Per-seed differences :math:`d_s=\\text{factor}\\cdot\\text{larger}_s-\\text{smaller}_s` (the claim: :math:`\\bar d>0`).

    Judged by a one-sided paired t-test (:func:`proofs_checks.statistics.paired_t`).
    """
    a, b = np.asarray(larger, dtype=np.float64), np.asarray(smaller, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired arms need the same seeds, got {a.shape} and {b.shape}")
    return factor * a - b


@dataclass(frozen=True)
class Pilot:
    """A pilot measurement of one ordering and the seeds chosen from it by a power analysis.

    ``seeds`` is at least the number at which a one-sided paired t-test at level ``alpha`` reaches
    power 0.9 for the pilot's standardised effect ``mean / sd`` (``proofs_checks.statistics.seeds_for_power``;
    ``tests/test_statistics.py`` recomputes it). ``alpha`` is the Holm level the comparison gets when
    its claim's other orderings are far more significant (they were: p < 1e-3 in the pilot), i.e. the
    family level 0.01.
    """

    comparison: str
    per_seed: tuple[float, ...]
    alpha: float
    seeds: int
    note: str

    @property
    def effect_size(self) -> float:
        d = np.asarray(self.per_seed)
        return float(d.mean() / d.std(ddof=1))


PILOTS = (
    Pilot(
        "mfm/theorem-4.2-variance-straightness-limit: C_1 - C_64 (fast tier)",
        (0.6282, 0.2133, -0.2380, 0.1944, 0.4172),
        0.01,
        26,
        "5-seed pilot: mean 0.24, d_z = 0.76, p = 0.083 (not shown); 26 seeds give power 0.9 at the family level",
    ),
    Pilot(
        "mfm/lower-transport-cost-high-dim: C_CondOT - C_BatchOT, d = 2 (fast tier)",
        (0.6630, 1.3498, -1.3811, 4.4716, 2.2950),
        0.01,
        31,
        "5-seed pilot: mean 1.48, d_z = 0.69, p = 0.099 (not shown); 31 seeds give power 0.9 at the family level",
    ),
    Pilot(
        "mfm/lower-transport-cost-high-dim: C_CondOT - C_BatchOT, d = 8 (fast tier)",
        (0.3942, 1.0906, 0.4723, 0.9953, 1.2701),
        0.005,
        8,
        "5-seed pilot: d_z = 2.2, p = 0.004, at the edge of its Holm level 0.005; 7 seeds give power 0.9 there, 8 taken",
    ),
)
"""The power analyses behind the seed counts of the fast tier (every other ordering of the learned claims
has p < 1e-4 at 5 seeds, where 3-5 seeds already give power 0.9)."""


def nearest_checkpoint(values: list[int], target: int) -> int:
    return min(values, key=lambda v: abs(v - target))


# ----------------------------------------------------------------------------------------------
# Evaluation tasks (module level: picklable for process pools)
# ----------------------------------------------------------------------------------------------
def proxy_task(model: Any, config: FlowTrainingConfig, n_pairs: int, seed: list[int]) -> tuple[float, float]:
    """Variance proxy ``(V, SE)`` on fresh minibatches of the run's coupling (streams ``seed``, times ``[*seed, 5]``)."""
    est = variance_proxy(model, config.sampler(seed), config.sigma_min, n_pairs, [*seed, STREAM_TIME])
    return est.mean, est.se


def path_task(
    model: Any, x0: np.ndarray, rk4_steps: int, nfe: tuple[int, ...] = (), target_sample: np.ndarray | None = None
) -> dict[str, Any]:
    """KE (Simpson), :math:`C`, :math:`S` on RK4 paths from ``x0``; Euler samples and :math:`\\kappa_m` for ``nfe``;
    the transport error :math:`W_2^2(\\psi_1\\#q_0,q_1)` of the first ``len(target_sample)`` endpoints against
    ``target_sample`` when given."""
    fm = flow_metrics(model, x0, rk4_steps, error_estimate=False)
    out: dict[str, Any] = {
        "KE": fm["kinetic_energy_simpson"],
        "C": fm["transport_cost"],
        "S": fm["straightness"],
        "reference": fm["endpoints"],
    }
    if target_sample is not None:
        out["W2_gen"] = empirical_w2(fm["endpoints"][: len(target_sample)], target_sample)
    if nfe:
        kap = consistency(model, x0, nfe, reference=fm["endpoints"])
        out.update(kappa=kap["l2"], kappa2=kap["sq_l2"], samples=kap["samples"])
    return out


def grad_task(model: Any, config: FlowTrainingConfig, n_batches: int, seed: list[int]) -> float:
    """tr Cov of the minibatch gradient over ``n_batches`` fresh minibatches of the run's coupling."""
    objective = coupled_objective(config.sampler(seed), config.sigma_min)
    return gradient_variance(model, objective, n_batches, [*seed, STREAM_TIME])


def empirical_w2(a: np.ndarray, b: np.ndarray) -> float:
    """Exact OT cost (POT ``ot.emd2``, squared Euclidean) between two equal-size uniform samples."""
    w = np.full(len(a), 1.0 / len(a))
    return float(ot.emd2(w, w, ot.dist(a, b), numItermax=10_000_000))


def w2_reference(target: FlowTarget, n: int, seed: list[int]) -> float:
    """Exact OT cost (POT ``ot.emd2``) between ``n`` fresh noise and data samples (an upward-biased :math:`W_2^2`)."""
    rng = np.random.default_rng([*seed, 7])
    a = rng.standard_normal((n, target.dim))
    return empirical_w2(a, target.sample(n, rng))


TRANSPORT_SAMPLES = 500
"""Endpoints of a learned map compared with as many fresh data points by exact OT (POT, 0.03 s at 500)."""
TRANSPORT_FLOOR_PAIRS = 4
TRANSPORT_SLACK = 2.0
"""A learned map *transports* when the mean over seeds of :math:`W_2^2(\\psi_1\\#q_0,q_1)` (500 endpoints against
500 fresh data points) is at most twice the two-sample floor, the mean :math:`W_2^2` between two independent
500-point samples of :math:`q_1` (spec basis: an operationalisation written for this suite; the empirical
:math:`W_2^2` of two samples of one law is far from 0 at this size, more so in higher dimension)."""


def transport_sample(target: FlowTarget, seed: list[int], n: int = TRANSPORT_SAMPLES) -> np.ndarray:
    """The fresh data points a learned map's endpoints are compared with (stream ``[*seed, 8]``)."""
    return target.sample(n, np.random.default_rng([*seed, 8]))


def transport_floor(target: FlowTarget, seed: list[int], n: int = TRANSPORT_SAMPLES) -> float:
    """Mean :math:`W_2^2` between two independent ``n``-point samples of the target (stream ``[*seed, 9]``)."""
    rng = np.random.default_rng([*seed, 9])
    return float(
        np.mean([empirical_w2(target.sample(n, rng), target.sample(n, rng)) for _ in range(TRANSPORT_FLOOR_PAIRS)])
    )


# ----------------------------------------------------------------------------------------------
# Per-arm evaluations, each memoised (and disk-cached) per arm: claims, controls and figures that
# evaluate the same trained runs the same way share the numbers (an arm "BatchOT" trained on
# independent pairs is the CondOT arm itself)
# ----------------------------------------------------------------------------------------------
Arm = tuple[FlowTrainingConfig, ...]


@dataclass(frozen=True)
class ArmProxy:
    """Variance proxy and its Monte Carlo SE per seed of one arm."""

    V: np.ndarray
    se: np.ndarray


def arm_proxy(run: RunSpec, configs: Arm, v_pairs: int) -> ArmProxy:
    """Variance proxy ``V`` of every seed of an arm on fresh batches of its own coupling (seed 99)."""
    seed = run.seed_list(99)

    def compute() -> ArmProxy:
        res = trained_arms(run, {0: configs})[0]
        tasks = [dict(model=r.model, config=c, n_pairs=v_pairs, seed=seed) for r, c in zip(res, configs)]
        vs = np.array(sweep(run.executor, proxy_task, tasks))
        return ArmProxy(vs[:, 0], vs[:, 1])

    return measured(
        run, "mfm-arm-variance-proxy", {"configs": list(configs), "v_pairs": v_pairs, "seed": seed}, compute
    )


@dataclass(frozen=True)
class ArmPaths:
    """One arm from common starts: per seed S, KE (Simpson), C and the transport error
    :math:`W_2^2(\\psi_1\\#q_0,q_1)` (:func:`transport_sample`); kappa_m and its squared version (NFE x seeds);
    seed 0's samples."""

    S: np.ndarray
    KE: np.ndarray
    C: np.ndarray
    W2_gen: np.ndarray
    kappa: np.ndarray
    kappa2: np.ndarray
    reference: np.ndarray
    samples: dict[int, np.ndarray]

    def first(self, seeds: int) -> ArmPaths:
        """The same arm restricted to its first ``seeds`` seeds (a comparison that needs fewer)."""
        return dataclasses.replace(
            self,
            **{k: getattr(self, k)[:seeds] for k in ("S", "KE", "C", "W2_gen")},
            kappa=self.kappa[:, :seeds],
            kappa2=self.kappa2[:, :seeds],
        )


def arm_paths(
    run: RunSpec, configs: Arm, starts_seed: list[int], starts: int, rk4_steps: int, nfe: tuple[int, ...] = ()
) -> ArmPaths:
    """RK4 path metrics of every seed of an arm from ``starts`` noises (seed ``starts_seed``), Euler consistency for
    ``nfe``, transport error against :func:`transport_sample` (seed ``starts_seed``)."""

    def compute() -> ArmPaths:
        res = trained_arms(run, {0: configs})[0]
        x0 = np.random.default_rng(starts_seed).standard_normal((starts, configs[0].dim))
        sample = transport_sample(configs[0].flow_target, starts_seed, min(TRANSPORT_SAMPLES, starts))
        tasks = [dict(model=r.model, x0=x0, rk4_steps=rk4_steps, nfe=nfe, target_sample=sample) for r in res]
        rows = sweep(run.executor, path_task, tasks)
        kap = {key: np.array([p.get(key, []) for p in rows]).T for key in ("kappa", "kappa2")}
        return ArmPaths(
            *(np.array([p[key] for p in rows]) for key in ("S", "KE", "C", "W2_gen")),
            kap["kappa"],
            kap["kappa2"],
            rows[0]["reference"],
            rows[0].get("samples", {}),
        )

    params = {
        "configs": list(configs),
        "starts_seed": starts_seed,
        "starts": starts,
        "rk4_steps": rk4_steps,
        "nfe": list(nfe),
        "transport_samples": min(TRANSPORT_SAMPLES, starts),
    }
    return measured(run, "mfm-arm-paths", params, compute)


def arm_gradients(run: RunSpec, configs: Arm, steps: tuple[int, ...], grad_batches: int) -> np.ndarray:
    """tr Cov of the minibatch gradient (fresh minibatches of each run's coupling, seed 53) at training ``steps`` x seeds."""
    seed = run.seed_list(53)

    def compute() -> np.ndarray:
        res = trained_arms(run, {0: configs})[0]
        tasks = [
            dict(model=r.model_at(s), config=c, n_batches=grad_batches, seed=seed)
            for s in steps
            for r, c in zip(res, configs)
        ]
        return np.array(sweep(run.executor, grad_task, tasks)).reshape(len(steps), len(configs))

    params = {"configs": list(configs), "steps": list(steps), "grad_batches": grad_batches, "seed": seed}
    return measured(run, "mfm-arm-gradient-variance", params, compute)
