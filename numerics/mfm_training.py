r"""Learned flows of Multisample Flow Matching: data, coupled-CFM objective, training, variance proxy.

The training claims of the MFM paper compare flow-matching models that differ only in the
coupling used to pair noise with data inside each minibatch (spec ``mfm.md`` §1.6, §3):

- data: the 2-D *8-Gaussians* target and the ``d``-dimensional mixture of 8 isotropic Gaussians;
- objective: the joint (coupled) CFM loss on the CondOT path, pairs drawn by a minibatch coupling
  of :mod:`numerics.couplings`, plugged into the suite's single loop :func:`numerics.training.train`;
- evaluation: the variance proxy :math:`V` (held-out coupled-CFM loss) and the minibatch-gradient
  covariance trace;
- a cache of trained models keyed by their configuration, so that every check and figure that
  needs the model of one ``(coupling, k, d)`` trains it once.

Coupling block and training batch. A training minibatch of ``batch`` pairs is split into
``batch // k`` blocks of ``k`` points and the coupling is solved inside each block. With the spec
default ``batch = k = 256`` this is one coupling per minibatch; with ``k = 1`` every block pairs a
noise with a data point independently (the CondOT baseline at the same batch size), which is what
the limit ``k = 1`` of Theorem 4.2 means.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from numerics.cache import DiskCache
from numerics.couplings import COUPLINGS, pair
from numerics.nets import VelocityMLP
from numerics.training import TrainResult, torch_generator, train

EIGHT_GAUSSIANS_RADIUS = 4.0
EIGHT_GAUSSIANS_STD = 0.4
MIXTURE_COMPONENTS = 8
MIXTURE_STD = 0.3
MIXTURE_MEANS_SEED = 55
TARGETS = ("8gaussians", "mixture")

# Separate seeded streams of one training run (spec: data, noise and initialisation each from
# their own generator); the loop's own generator draws the times t.
_STREAM_DATA, _STREAM_NOISE, _STREAM_COUPLING, _STREAM_INIT, _STREAM_TIME = 1, 2, 3, 4, 5


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------
def _check_n(n: int) -> int:
    if int(n) != n or n < 0:
        raise ValueError(f"number of samples must be a non-negative integer, got {n!r}")
    return int(n)


def eight_gaussians_means(radius: float = EIGHT_GAUSSIANS_RADIUS) -> np.ndarray:
    r"""Means of the 8-Gaussians target, shape ``(8, 2)``.

    .. math::
        m_j = r\,\big(\cos\tfrac{2\pi j}{8},\ \sin\tfrac{2\pi j}{8}\big),\qquad j=0,\dots,7 .
    """
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be positive and finite, got {radius!r}")
    ang = 2.0 * np.pi * np.arange(8) / 8.0
    return radius * np.stack([np.cos(ang), np.sin(ang)], axis=1)


def sample_gaussian_mixture(n: int, means: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    r"""``n`` draws of the equal-weight isotropic mixture :math:`\frac1K\sum_j\mathcal N(m_j,s^2I)`.

    Parameters
    ----------
    n : int
        Number of samples.
    means : ndarray, shape (K, d)
        Component means.
    std : float
        Common standard deviation :math:`s>0`.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n, d), float64
    """
    n = _check_n(n)
    means = np.asarray(means, dtype=np.float64)
    if means.ndim != 2 or means.shape[0] < 1 or not np.all(np.isfinite(means)):
        raise ValueError(f"means must be a finite (K, d) array, got shape {means.shape}")
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"std must be positive and finite, got {std!r}")
    comp = rng.integers(0, means.shape[0], size=n)
    return means[comp] + std * rng.standard_normal((n, means.shape[1]))


def sample_eight_gaussians(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws of the 2-D 8-Gaussians target (radius 4, std 0.4, equal weights; spec §3)."""
    return sample_gaussian_mixture(n, eight_gaussians_means(), EIGHT_GAUSSIANS_STD, rng)


def mixture_means(dim: int, n_components: int = MIXTURE_COMPONENTS, seed: int = MIXTURE_MEANS_SEED) -> np.ndarray:
    r"""Means of the ``dim``-dimensional mixture target of ``mfm/lower-transport-cost-high-dim``.

    .. math::
        m_j \sim \mathcal N\big(0, \tfrac{16}{d} I_d\big)\ \text{i.i.d.},\qquad j=1,\dots,8,

    so :math:`\mathbb E\|m_j\|^2=16` in every dimension (the scale of the 2-D 8-Gaussians ring).
    """
    if int(dim) != dim or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    if int(n_components) != n_components or n_components < 1:
        raise ValueError(f"n_components must be a positive integer, got {n_components!r}")
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, math.sqrt(16.0 / dim), size=(int(n_components), int(dim)))


@dataclass(frozen=True)
class FlowTarget:
    """A data distribution :math:`q_1` by name: ``"8gaussians"`` (``dim == 2``) or ``"mixture"``."""

    name: str = "8gaussians"
    dim: int = 2

    def __post_init__(self) -> None:
        if self.name not in TARGETS:
            raise ValueError(f"unknown target {self.name!r}; choose from {TARGETS}")
        if int(self.dim) != self.dim or self.dim < 1:
            raise ValueError(f"dim must be a positive integer, got {self.dim!r}")
        if self.name == "8gaussians" and self.dim != 2:
            raise ValueError(f"the 8-Gaussians target is 2-D, got dim={self.dim}")

    def means(self) -> np.ndarray:
        """Component means, shape ``(8, dim)``."""
        return eight_gaussians_means() if self.name == "8gaussians" else mixture_means(self.dim)

    @property
    def std(self) -> float:
        return EIGHT_GAUSSIANS_STD if self.name == "8gaussians" else MIXTURE_STD

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` float64 samples of :math:`q_1`."""
        return sample_gaussian_mixture(n, self.means(), self.std, rng)

    def independent_cost(self) -> float:
        r"""Independent-coupling cost :math:`c_1=\mathbb E\|x_1-x_0\|^2=\mathbb E\|x_1\|^2+d`.

        For the mixture, :math:`\mathbb E\|x_1\|^2=\frac1K\sum_j\|m_j\|^2+d s^2`.
        """
        m = self.means()
        return float(np.mean(np.sum(m**2, axis=1)) + self.dim * self.std**2 + self.dim)


# ----------------------------------------------------------------------------------------------
# Pairing inside a minibatch
# ----------------------------------------------------------------------------------------------
def coupling_names() -> tuple[str, ...]:
    """Names of the couplings of :mod:`numerics.couplings` usable for training."""
    return tuple(COUPLINGS)


def blockwise_pair(
    x0: np.ndarray, x1: np.ndarray, coupling: str, k: int, rng: np.random.Generator, **coupling_kwargs: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Paired minibatch, the coupling :func:`numerics.couplings.pair` solved in blocks of ``k``.

    Parameters
    ----------
    x0, x1 : ndarray, shape (B, d)
        Noise and data of one minibatch; ``B`` must be a multiple of ``k``.
    coupling : str
        A key of ``numerics.couplings.COUPLINGS``.
    k : int
        Coupling block size (``k = 1``: independent pairs).
    rng : numpy.random.Generator
        For randomised couplings (BatchEOT sampling).

    Returns
    -------
    x0_paired, x1_paired : ndarray, shape (B, d)
        Row ``i`` of both is one pair; pairs never cross a block.
    """
    x0 = np.asarray(x0)
    x1 = np.asarray(x1)
    if x0.ndim != 2 or x0.shape != x1.shape:
        raise ValueError(f"x0 and x1 must be (B, d) arrays of one shape, got {x0.shape} and {x1.shape}")
    if int(k) != k or k < 1 or x0.shape[0] % k:
        raise ValueError(f"block size k={k!r} must be a positive divisor of the batch size {x0.shape[0]}")
    if coupling not in COUPLINGS:
        raise ValueError(f"unknown coupling {coupling!r}; choose from {tuple(COUPLINGS)}")
    k = int(k)
    if k == 1:  # a block of one point: the only pairing is the independent one
        return x0, x1
    parts = [pair(x0[s : s + k], x1[s : s + k], coupling, rng, **coupling_kwargs) for s in range(0, len(x0), k)]
    return np.concatenate([a for a, _ in parts]), np.concatenate([b for _, b in parts])


# ----------------------------------------------------------------------------------------------
# Configuration and objective
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlowTrainingConfig:
    """Everything that defines one trained flow model (hashable: the cache key).

    Defaults are the spec's training defaults (``mfm.md`` §3): 8-Gaussians, ``k = batch = 256``,
    MLP with 3 hidden layers of 256 (SiLU), Adam 1e-3, 10,000 steps, seed 0, ``sigma_min = 0``.
    ``n_checkpoints`` evenly spaced checkpoints (step 0 included) are stored for the
    gradient-variance-vs-step measurements.
    """

    coupling: str = "batchot"
    k: int = 256
    batch: int = 256
    target: str = "8gaussians"
    dim: int = 2
    width: int = 256
    depth: int = 3
    steps: int = 10_000
    lr: float = 1e-3
    sigma_min: float = 0.0
    seed: int = 0
    eot_eps_rel: float = 0.05
    eot_sampling: str = "row"
    n_checkpoints: int = 20

    def __post_init__(self) -> None:
        FlowTarget(self.target, self.dim)  # validates target and dim
        if self.coupling not in COUPLINGS:
            raise ValueError(f"unknown coupling {self.coupling!r}; choose from {tuple(COUPLINGS)}")
        for name in ("k", "batch", "width", "depth", "steps", "n_checkpoints"):
            v = getattr(self, name)
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.batch % self.k:
            raise ValueError(f"coupling block k={self.k} must divide the batch size {self.batch}")
        if not (0.0 <= self.sigma_min < 1.0):
            raise ValueError(f"sigma_min must lie in [0, 1), got {self.sigma_min!r}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if self.eot_sampling not in ("row", "plan"):
            raise ValueError(f"eot_sampling must be 'row' or 'plan', got {self.eot_sampling!r}")

    @property
    def flow_target(self) -> FlowTarget:
        return FlowTarget(self.target, self.dim)

    def canonical(self) -> FlowTrainingConfig:
        """The same model under one name: ``k = 1`` is the independent coupling, and the
        independent coupling ignores ``k`` and the entropic parameters."""
        cfg = self
        if cfg.k == 1 or cfg.coupling == "condot":
            cfg = dataclasses.replace(cfg, coupling="condot", k=1)
        if cfg.coupling != "batcheot":
            cfg = dataclasses.replace(cfg, eot_eps_rel=0.05, eot_sampling="row")
        return cfg

    def coupling_kwargs(self) -> dict[str, Any]:
        if self.coupling == "batcheot":
            return {"eps_rel": self.eot_eps_rel, "sampling": self.eot_sampling}
        return {}

    def checkpoint_steps(self) -> list[int]:
        return sorted({round(i * self.steps / self.n_checkpoints) for i in range(self.n_checkpoints + 1)})

    def stream(self, which: int) -> list[int]:
        """Seed of one of the run's independent random streams."""
        return [int(self.seed), int(which)]


class CoupledBatchSampler:
    """Draws paired minibatches ``(x0, x1)`` of one configuration from its own seeded streams.

    Noise, data and the coupling's randomness each come from a separate generator, so the same
    configuration and seed give the same sequence of paired batches regardless of the model.
    """

    def __init__(self, config: FlowTrainingConfig, seed: int | list[int] | None = None) -> None:
        self.config = config
        self.target = config.flow_target
        base = [int(config.seed)] if seed is None else list(np.atleast_1d(seed).astype(int))
        self.noise_rng = np.random.default_rng([*base, _STREAM_NOISE])
        self.data_rng = np.random.default_rng([*base, _STREAM_DATA])
        self.coupling_rng = np.random.default_rng([*base, _STREAM_COUPLING])
        self._kwargs = config.coupling_kwargs()

    def draw(self, batch: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One paired minibatch (float64): ``x1[i]`` is the data point coupled to ``x0[i]``."""
        b = self.config.batch if batch is None else batch
        x0 = self.noise_rng.standard_normal((b, self.target.dim))
        x1 = self.target.sample(b, self.data_rng)
        return blockwise_pair(x0, x1, self.config.coupling, self.config.k, self.coupling_rng, **self._kwargs)


def coupled_cfm_loss_fn(
    config: FlowTrainingConfig, sampler: CoupledBatchSampler | None = None
) -> Callable[[nn.Module, int, torch.Generator], torch.Tensor]:
    r"""The joint-CFM objective (spec Eq. 15) as a ``loss_fn`` for :func:`numerics.training.train`.

    Each call draws a paired minibatch from ``sampler`` (seeded streams of ``config``), times
    :math:`t_i\sim U[0,1]` from the loop's generator, and returns

    .. math::
        \frac1B\sum_i\big\|v_\theta(x_{t_i},t_i)-\big(x_1^{j_i}-(1-\sigma_{\min})x_0^i\big)\big\|^2,
        \qquad x_{t}=(1-(1-\sigma_{\min})t)\,x_0^i+t\,x_1^{j_i}.
    """
    from numerics.training import conditional_flow_matching_loss

    sampler = sampler or CoupledBatchSampler(config)

    def loss_fn(model: nn.Module, step: int, gen: torch.Generator) -> torch.Tensor:
        x0, x1 = sampler.draw()
        dev = gen.device
        t = torch.rand(x0.shape[0], generator=gen, device=dev)
        return conditional_flow_matching_loss(
            model,
            torch.as_tensor(x0, dtype=torch.float32, device=dev),
            torch.as_tensor(x1, dtype=torch.float32, device=dev),
            t,
            config.sigma_min,
        )

    return loss_fn


def init_velocity_model(config: FlowTrainingConfig) -> VelocityMLP:
    """A :class:`~numerics.nets.VelocityMLP` initialised from the run's own seeded stream.

    PyTorch's default ``nn.Linear`` initialisation (uniform with bound :math:`1/\\sqrt{\\text{fan-in}}`)
    is redrawn from a seeded generator so that no global seed is touched.
    """
    return VelocityMLP(config.dim, width=config.width, depth=config.depth, init_seed=config.stream(_STREAM_INIT))


def train_flow(
    config: FlowTrainingConfig,
    *,
    cache: DiskCache | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    device: torch.device | str | None = None,
) -> TrainResult:
    """Train the flow model of ``config`` with the shared loop (optionally disk-cached)."""
    config = config.canonical()
    model = init_velocity_model(config)
    key = {"kind": "mfm-flow", **dataclasses.asdict(config)} if cache is not None else None
    return train(
        model,
        coupled_cfm_loss_fn(config),
        steps=config.steps,
        lr=config.lr,
        optimizer="adam",
        seed=config.stream(_STREAM_TIME),
        device=device,
        checkpoints=config.checkpoint_steps(),
        progress=progress,
        cache=cache,
        cache_key=key,
    )


# Trained models of this process, by canonical configuration: checks share them in-process.
_TRAINED: dict[FlowTrainingConfig, TrainResult] = {}


def trained_flow(config: FlowTrainingConfig, cache: DiskCache | None = None) -> TrainResult:
    """The trained model of ``config``: trained once per process (and once per disk cache).

    Checks call this without a cache (every ``memgen verify`` retrains from scratch and shares
    models in-process only); figures pass their :class:`~numerics.cache.DiskCache`.
    """
    config = config.canonical()
    if config not in _TRAINED:
        _TRAINED[config] = train_flow(config, cache=cache)
    return _TRAINED[config]


def train_flow_task(config: FlowTrainingConfig, cache: DiskCache | None = None) -> TrainResult:
    """Module-level sweep task (picklable) for :func:`numerics.executor.sweep`."""
    return train_flow(config.canonical(), cache=cache)


def train_many(
    configs: list[FlowTrainingConfig], executor: Any = None, cache: DiskCache | None = None
) -> list[TrainResult]:
    """Train the models of ``configs`` not yet trained in this process, through ``executor``.

    Independent trainings are submitted together, so a process pool trains them in parallel;
    each run carries its own seeds, so results do not depend on the number of workers.
    """
    from numerics.executor import sweep

    canon = [c.canonical() for c in configs]
    todo = list(dict.fromkeys(c for c in canon if c not in _TRAINED))
    for c, r in zip(todo, sweep(executor, train_flow_task, [{"config": c, "cache": cache} for c in todo])):
        _TRAINED[c] = r
    return [_TRAINED[c] for c in canon]


def forget_trained() -> None:
    """Drop the in-process model cache (tests that need a fresh training)."""
    _TRAINED.clear()


# ----------------------------------------------------------------------------------------------
# Evaluation of trained models
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeanEstimate:
    """A Monte Carlo mean with its standard error."""

    mean: float
    se: float
    n: int


def variance_proxy(
    model: nn.Module,
    config: FlowTrainingConfig,
    *,
    n_pairs: int = 100_000,
    seed: int | list[int] = 99,
) -> MeanEstimate:
    r"""Variance proxy :math:`V` of a trained model (spec §3): held-out coupled-CFM loss.

    .. math::
        V=\mathbb E_{t\sim U[0,1],\,(x_0,x_1)\sim q^k}\big\|v_\theta(x_t,t)-(x_1-(1-\sigma_{\min})x_0)\big\|^2,

    over ``n_pairs`` fresh pairs drawn from fresh minibatches of the same coupling (and block
    size) as ``config``. By Lemma 3.2 it is :math:`\mathbb E\sigma_t^2` plus the model's excess FM
    loss. The standard error treats minibatch means as independent replicates (pairs inside one
    coupled minibatch are dependent).
    """
    if int(n_pairs) != n_pairs or n_pairs < config.batch:
        raise ValueError(f"n_pairs must be an integer >= batch ({config.batch}), got {n_pairs!r}")
    sampler = CoupledBatchSampler(config, seed=seed)
    t_rng = np.random.default_rng([*np.atleast_1d(seed).astype(int).tolist(), _STREAM_TIME])
    n_batches = int(n_pairs) // config.batch
    p = next(model.parameters())
    means = np.empty(n_batches)
    with torch.no_grad():
        for b in range(n_batches):
            x0, x1 = sampler.draw()
            t = t_rng.random(x0.shape[0])
            tt = t[:, None]
            xt = (1.0 - (1.0 - config.sigma_min) * tt) * x0 + tt * x1
            target = x1 - (1.0 - config.sigma_min) * x0
            pred = model(
                torch.as_tensor(xt, dtype=p.dtype, device=p.device), torch.as_tensor(t, dtype=p.dtype, device=p.device)
            )
            means[b] = float(np.mean(np.sum((pred.double().cpu().numpy() - target) ** 2, axis=1)))
    return MeanEstimate(float(means.mean()), float(means.std(ddof=1) / math.sqrt(n_batches)), n_batches * config.batch)


def minibatch_gradient_variance(
    model: nn.Module,
    config: FlowTrainingConfig,
    *,
    n_batches: int = 100,
    seed: int | list[int] = 53,
) -> float:
    r"""Trace of the covariance of the full-minibatch gradient of the coupled-CFM loss.

    .. math::
        \operatorname{tr}\widehat{\mathrm{Cov}}(g),\qquad
        g_b=\nabla_\theta\,\frac1B\sum_i\|v_\theta(x_{t_i},t_i)-(x_1^{j_i}-(1-\sigma_{\min})x_0^i)\|^2,

    over ``n_batches`` fresh minibatches of the configuration's coupling (spec §3,
    ``mfm/gradient-variance-reduction``), unbiased (``ddof = 1``) sample covariance.
    """
    if int(n_batches) != n_batches or n_batches < 2:
        raise ValueError(f"n_batches must be an integer >= 2, got {n_batches!r}")
    sampler = CoupledBatchSampler(config, seed=seed)
    gen = torch_generator([*np.atleast_1d(seed).astype(int).tolist(), _STREAM_TIME])
    params = [q for q in model.parameters() if q.requires_grad]
    loss_fn = coupled_cfm_loss_fn(config, sampler)
    grads = []
    for _ in range(int(n_batches)):
        loss = loss_fn(model, 0, gen)
        g = torch.autograd.grad(loss, params)
        grads.append(torch.cat([x.reshape(-1) for x in g]).double().cpu().numpy())
    G = np.stack(grads)
    return float(np.sum(np.var(G, axis=0, ddof=1)))


@dataclass(frozen=True)
class PathMetrics:
    """Kinetic energy, transport cost and straightness of a learned flow (spec §1.4).

    ``endpoint`` holds :math:`\\psi_1(x_0)` (the near-exact sample) of every start.
    """

    kinetic_energy: float
    transport_cost: float
    straightness: float
    endpoint: np.ndarray
    rk4_steps: int

    @property
    def straightness_per_dim(self) -> float:
        return self.straightness / self.endpoint.shape[1]


def learned_path_metrics(model: nn.Module, x0: np.ndarray, rk4_steps: int = 1000) -> PathMetrics:
    r"""KE, :math:`C(\psi_1)` and straightness :math:`S` (Eq. 18) of a trained field along RK4 paths.

    .. math::
        \mathrm{KE}=\int_0^1\mathbb E\|v_t(\psi_t(x_0))\|^2dt,\quad
        C=\mathbb E\|\psi_1(x_0)-x_0\|^2,\quad
        S=\int_0^1\mathbb E\|v_t(\psi_t(x_0))-(\psi_1(x_0)-x_0)\|^2dt,

    the flow by classical RK4 (state float64) with ``rk4_steps`` equal steps, the field
    re-evaluated on the grid nodes and the time integrals by Simpson's rule on the same grid
    (error :math:`O(h^4)`). For the trained 2-D MLPs of the MFM checks, 200 and 1000 steps agree
    to :math:`2\times10^{-8}` relative in :math:`S` and :math:`10^{-10}` in KE and :math:`C`, and
    the 200-step endpoints agree with SciPy RK45 (rtol :math:`10^{-8}`) to :math:`10^{-6}`.
    """
    from scipy.integrate import simpson

    from numerics.ode import rk4, torch_field

    x0 = np.asarray(x0, dtype=np.float64)
    if x0.ndim != 2 or not np.all(np.isfinite(x0)):
        raise ValueError(f"x0 must be a finite (M, d) array, got shape {x0.shape}")
    if int(rk4_steps) != rk4_steps or rk4_steps < 2 or rk4_steps % 2:
        raise ValueError(f"rk4_steps must be an even integer >= 2 (Simpson), got {rk4_steps!r}")
    v = torch_field(model)
    path = rk4(v, x0, int(rk4_steps), return_path=True)
    ts = np.linspace(0.0, 1.0, int(rk4_steps) + 1)
    disp = path[-1] - x0
    speed2 = np.empty(ts.size)
    dev2 = np.empty(ts.size)
    for n, t in enumerate(ts):
        vel = v(path[n], t)
        speed2[n] = np.mean(np.sum(vel**2, axis=1))
        dev2[n] = np.mean(np.sum((vel - disp) ** 2, axis=1))
    return PathMetrics(
        kinetic_energy=float(simpson(speed2, x=ts)),
        transport_cost=float(np.mean(np.sum(disp**2, axis=1))),
        straightness=float(simpson(dev2, x=ts)),
        endpoint=path[-1],
        rk4_steps=int(rk4_steps),
    )


def euler_consistency(
    model: nn.Module, x0: np.ndarray, reference: np.ndarray, nfe: tuple[int, ...] = (1, 2, 4, 8)
) -> dict[int, tuple[float, float]]:
    r"""Few-step consistency :math:`\kappa_m` of Euler samples against a near-exact sample.

    .. math::
        \kappa_m=\frac1M\sum_i\|\hat x^{(m)}(x_0^i)-\hat x^{\rm ref}(x_0^i)\|,\qquad
        \kappa^{(2)}_m=\frac1M\sum_i\|\hat x^{(m)}(x_0^i)-\hat x^{\rm ref}(x_0^i)\|^2,

    with :math:`\hat x^{(m)}` the ``m``-step Euler sample from the same noise. Returns
    ``{m: (kappa_m, kappa2_m)}``.
    """
    from numerics.ode import euler, torch_field

    x0 = np.asarray(x0, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if x0.shape != reference.shape:
        raise ValueError(f"x0 and reference must have one shape, got {x0.shape} and {reference.shape}")
    v = torch_field(model)
    out = {}
    for m in nfe:
        dist = np.linalg.norm(euler(v, x0, int(m)) - reference, axis=1)
        out[int(m)] = (float(dist.mean()), float(np.mean(dist**2)))
    return out
