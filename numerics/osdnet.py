r"""OSDNet: a velocity field split along the sample data subspace, its training and its bounds.

OSDNet (Orthogonal Subspace Decomposition Network, spec ``gao_li.md`` §2) writes a learned field
as a part inside the data span :math:`\mathcal S=\operatorname{span}\{x^{(i)}\}` plus a part in
its orthogonal complement,

.. math::

    v_\theta(x,t) = U f_{\theta_1}(U^\top x, t) + P_\perp g_{\theta_2}(x,t),
    \qquad P = UU^\top,\ P_\perp = I-P,

with :math:`U\in\mathbb R^{d\times r}` an orthonormal basis of :math:`\mathcal S`. The subspace
head :math:`f` works in the :math:`r` coordinates of :math:`\mathcal S` (so it sees and returns
only in-subspace information: :math:`Uf(U^\top x,t)=P F(Px,t)`); the off-subspace head :math:`g`
sees the whole state. With ``off_head="exact"`` the second term is the closed form
:math:`-(1-\sigma_{\min})x_\perp/\sigma_t` of the exact field (spec fact (b)).

This module also holds what the learned-model claims measure: the two objectives (conditional
flow matching and teacher–student regression on the closed-form field, the latter with the
subspace and off-subspace terms separate), generation by fixed-step RK4 with a float64 state, the
augmented-state integrals of the off-subspace identity and of the pathwise Grönwall bound, the
Monte Carlo excess loss, sample metrics, and the per-checkpoint evaluation shared by the checks
and figures. Points are rows: data ``(N, d)``, states ``(M, d)``.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import logsumexp
from torch import nn

from numerics.cache import DiskCache
from numerics.flow_matching import optimal_velocity, optimal_velocity_torch
from numerics.gao_li_data import dataset, embedded_dataset
from numerics.gao_li_data import subspace_basis as _span_basis
from numerics.nets import VelocityMLP, seeded_init_
from numerics.ode import rk4, torch_field
from numerics.training import TrainResult, conditional_flow_matching_loss, torch_generator, train

OFF_HEADS = ("learned", "exact", "isotropic")
TARGETS = ("conditional", "teacher")
ARCHITECTURES = ("osdnet", "mlp")

# Separate seeded streams of one run: initialisation of each head, data indices, noise; the
# training loop's own generator draws the times.
_STREAM_INIT_F, _STREAM_INIT_G, _STREAM_DATA, _STREAM_NOISE, _STREAM_TIME = 1, 2, 3, 4, 5


# ----------------------------------------------------------------------------------------------
# Sample data subspace
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DataSubspace:
    """Orthonormal basis of the data span and its rank.

    Attributes
    ----------
    basis : (d, r) array with orthonormal columns (float64)
    rank : int
        :math:`r`, the number of singular values of :math:`X` above ``rtol * s_max``.
    singular_values : (min(N, d),) array of :math:`X`
    """

    basis: np.ndarray
    rank: int
    singular_values: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.basis.shape[0])

    def inside(self, x: np.ndarray) -> np.ndarray:
        """:math:`Px` for rows ``x``."""
        return (x @ self.basis) @ self.basis.T

    def off(self, x: np.ndarray) -> np.ndarray:
        """:math:`P_\\perp x = x - UU^\\top x` for rows ``x``."""
        return x - (x @ self.basis) @ self.basis.T


def subspace_basis(data: np.ndarray, method: str = "qr") -> DataSubspace:
    r"""Orthonormal basis of :math:`\mathcal S=\operatorname{span}\{x^{(i)}\}` with its rank.

    The basis is the suite's one construction (:func:`numerics.gao_li_data.subspace_basis`,
    spec §1.2): thin QR of :math:`X` re-orthonormalised (``"qr"``, default) or the left singular
    vectors with :math:`s_k>10^{-10}s_{\max}` (``"svd"``). Rank-deficient data (linearly dependent
    points) always use the SVD range, so ``rank < N`` is handled and reported.

    Raises
    ------
    ValueError
        If ``data`` is not a finite ``(N, d)`` array, or its span is ``{0}`` or all of
        :math:`\mathbb R^d` (then :math:`P_\perp=0` and the split is void).
    """
    y = np.asarray(data, dtype=np.float64)
    if y.ndim != 2 or y.shape[0] == 0:
        raise ValueError(f"data must have shape (N, d) with N >= 1, got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("data contains NaN or inf")
    basis, _ = _span_basis(y, kind="span", method=method)
    rank = int(basis.shape[1])
    if rank == 0:
        raise ValueError("the data span is {0}: every point is zero")
    if rank >= y.shape[1]:
        raise ValueError(f"the data span is all of R^{y.shape[1]} (rank {rank}); the off-subspace part is void")
    return DataSubspace(basis, rank, np.linalg.svd(y.T, compute_uv=False))


# ----------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------
def _sigma(t: torch.Tensor, sigma_min: float) -> torch.Tensor:
    # 1 - t + sigma_min * t keeps 1 - t exact near t = 1.
    return (1.0 - t) + sigma_min * t


class TimeRate(nn.Module):
    """A scalar function :math:`a_\\theta(t)` (MLP of ``t`` alone, SiLU): the isotropic off-head rate."""

    def __init__(self, width: int, depth: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(1, width), nn.SiLU()]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), nn.SiLU()]
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.net(t.reshape(-1, 1)).reshape(-1)


class OSDNet(nn.Module):
    r"""Velocity field :math:`v_\theta(x,t)=Uf(U^\top x,t)+P_\perp g(x,t)`.

    Parameters
    ----------
    basis : (d, r) array
        Orthonormal basis :math:`U` of the data span (kept in float64 whatever the model dtype,
        so that :math:`P_\perp` is exact to float64 rounding when evaluated in float64).
    sigma_min : float
        :math:`\sigma_{\min}` of the OT path (used by the exact off head).
    width, depth, time_embedding : int
        Size of each head (:class:`numerics.nets.VelocityMLP`; input ``[x, t]`` by default).
    off_head : {"learned", "exact", "isotropic"}
        ``"learned"``: :math:`g` is an MLP of :math:`[x,t]` with output in :math:`\mathbb R^d`.
        ``"exact"`` replaces :math:`P_\perp g` by :math:`-(1-\sigma_{\min})P_\perp x/\sigma_t`.
        ``"isotropic"``: :math:`P_\perp g=a_\theta(t)\,P_\perp x` with a learned scalar rate
        (the form of the exact off-subspace field, fact (b), with its coefficient learned); its
        parameter count does not depend on :math:`d`.
    """

    def __init__(
        self,
        basis: np.ndarray,
        sigma_min: float,
        width: int = 256,
        depth: int = 3,
        time_embedding: int = 0,
        off_head: str = "learned",
    ) -> None:
        super().__init__()
        u = np.asarray(basis, dtype=np.float64)
        if u.ndim != 2 or u.shape[1] < 1 or u.shape[1] >= u.shape[0]:
            raise ValueError(f"basis must have shape (d, r) with 1 <= r < d, got {u.shape}")
        if not np.allclose(u.T @ u, np.eye(u.shape[1]), atol=1e-10):
            raise ValueError("basis columns must be orthonormal")
        if not 0.0 <= sigma_min < 1.0:
            raise ValueError(f"sigma_min must lie in [0, 1), got {sigma_min}")
        if off_head not in OFF_HEADS:
            raise ValueError(f"off_head must be one of {OFF_HEADS}, got {off_head!r}")
        self.dim, self.rank = u.shape
        self.sigma_min = float(sigma_min)
        self.off_head = off_head
        self.register_buffer("basis", torch.as_tensor(u, dtype=torch.float64))
        self.f = VelocityMLP(self.rank, width=width, depth=depth, time_embedding=time_embedding)
        self.g: nn.Module | None = None
        if off_head == "learned":
            self.g = VelocityMLP(self.dim, width=width, depth=depth, time_embedding=time_embedding)
        elif off_head == "isotropic":
            self.g = TimeRate(width, depth)

    def _apply(self, fn, recurse=True):
        # .float()/.half() must not round the basis: keep it float64 (device moves still apply).
        basis = self.basis
        out = super()._apply(fn, recurse)
        moved = fn(basis)
        self.basis = basis.to(device=moved.device)
        return out

    def split(self, x: torch.Tensor, t: torch.Tensor | float) -> tuple[torch.Tensor, torch.Tensor]:
        """The two terms :math:`Uf(U^\\top x,t)` and the off-subspace term, separately."""
        u = self.basis.to(x.dtype)
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        inside = self.f(x @ u, t) @ u.T
        if self.off_head == "learned":
            gx = self.g(x, t)
            return inside, gx - (gx @ u) @ u.T
        x_off = x - (x @ u) @ u.T
        if self.off_head == "isotropic":
            off = self.g(t)[:, None] * x_off
        else:
            off = -(1.0 - self.sigma_min) * x_off / _sigma(t, self.sigma_min)[:, None]
        return inside, off

    def forward(self, x: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        inside, off = self.split(x, t)
        return inside + off


def with_exact_off_head(model: OSDNet) -> OSDNet:
    """A copy of ``model`` with the same subspace head and the closed-form off-subspace head."""
    if not isinstance(model, OSDNet):
        raise ValueError(f"need an OSDNet, got {type(model).__name__}")
    out = copy.deepcopy(model)
    out.g = None
    out.off_head = "exact"
    return out


def as_float64(model: nn.Module) -> nn.Module:
    """An evaluation copy in float64 on CPU (evaluation keeps the state in float64)."""
    return copy.deepcopy(model).to("cpu").double().eval().requires_grad_(False)


# ----------------------------------------------------------------------------------------------
# Configuration and training
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LearnedFieldConfig:
    """One learned-field training run (hashable: the key of the in-process and disk caches).

    ``data`` is a name of :data:`numerics.gao_li_data.DATASETS` or ``"embedded-d<D>"`` (the
    5-point, 5-dimensional coordinates of spec fact (e) embedded in :math:`\\mathbb R^D`).
    ``checkpoints`` are steps in ``[0, steps]``. Spec defaults (§2): width 256, depth 3, Adam,
    lr :math:`10^{-3}`, batch 256, :math:`\\sigma_{\\min}=0.01`, 5000 steps, seed 0. ``optimizer``
    (``"adam"``/``"adamw"``), ``ema`` and ``clip`` are passed to the shared loop.
    """

    data: str = "sparse-d20"
    architecture: str = "osdnet"
    off_head: str = "learned"
    target: str = "conditional"
    sigma_min: float = 0.01
    width: int = 256
    depth: int = 3
    time_embedding: int = 0
    batch: int = 256
    lr: float = 1e-3
    optimizer: str = "adam"
    ema: float | None = None
    clip: float | None = None
    steps: int = 5000
    checkpoints: tuple[int, ...] = (0, 250, 500, 1000, 2000, 3000, 5000)
    seed: int | tuple[int, ...] = 0
    basis_method: str = "qr"

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        if self.off_head not in OFF_HEADS:
            raise ValueError(f"off_head must be one of {OFF_HEADS}, got {self.off_head!r}")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {self.target!r}")
        if not 0.0 < self.sigma_min < 1.0:
            # sigma_min = 0 makes the terminal field singular: RK4 in t cannot reach t = 1.
            raise ValueError(f"learned-field runs need sigma_min in (0, 1), got {self.sigma_min}")
        if min(self.width, self.depth, self.batch) < 1 or self.steps < 0 or not self.lr > 0:
            raise ValueError("width, depth, batch must be >= 1, steps >= 0 and lr > 0")
        if any(s < 0 or s > self.steps for s in self.checkpoints):
            raise ValueError(f"checkpoints must lie in [0, {self.steps}], got {self.checkpoints}")
        object.__setattr__(self, "checkpoints", tuple(sorted(set(int(s) for s in self.checkpoints))))
        if isinstance(self.seed, list):
            object.__setattr__(self, "seed", tuple(int(s) for s in self.seed))

    def points(self) -> np.ndarray:
        """The training points ``(N, d)``."""
        if self.data.startswith("embedded-d"):
            return embedded_dataset(int(self.data.removeprefix("embedded-d")))[0]
        return dataset(self.data)

    def subspace(self) -> DataSubspace:
        return subspace_basis(self.points(), method=self.basis_method)

    def stream(self, which: int) -> list[int]:
        """Seed of one stream of the run (``seed`` may be a ``--seed`` pair)."""
        base = [int(s) for s in self.seed] if isinstance(self.seed, tuple) else [int(self.seed)]
        return [*base, which]


SPEC_CHECKPOINTS = (0, 250, 500, 1000, 2000, 3000, 5000)
FAST_CHECKPOINTS = (0, 250, 500, 1000, 1500, 2000)


def tier_run(full: bool, seed: int | list[int] | tuple[int, ...] = 0, **changes: object) -> LearnedFieldConfig:
    """The shared OSDNet run of a tier (``sparse-d20``, learned off head, conditional target).

    Full tier: the spec sizes (width 256, 5000 steps, checkpoints ``{0,250,...,5000}``). Fast
    tier: width 64 and 2000 steps, keeping the spec checkpoints up to 2000 (plus 1500), so the
    criteria that name a step (250, 1000) read the same step in both tiers.
    """
    params: dict = (
        dict(width=256, steps=5000, checkpoints=SPEC_CHECKPOINTS)
        if full
        else dict(width=64, steps=2000, checkpoints=FAST_CHECKPOINTS)
    )
    params["seed"] = tuple(seed) if isinstance(seed, list) else seed
    params.update(changes)
    return LearnedFieldConfig(**params)


def build_model(config: LearnedFieldConfig) -> nn.Module:
    """The untrained model of ``config``, each head initialised from its own seeded stream."""
    sub = config.subspace()
    if config.architecture == "mlp":
        model = VelocityMLP(sub.dim, config.width, config.depth, config.time_embedding)
        return seeded_init_(model, config.stream(_STREAM_INIT_G))
    model = OSDNet(sub.basis, config.sigma_min, config.width, config.depth, config.time_embedding, config.off_head)
    seeded_init_(model.f, config.stream(_STREAM_INIT_F))
    if model.g is not None:
        seeded_init_(model.g, config.stream(_STREAM_INIT_G))
    return model


class _Minibatches:
    """Seeded draws of data points (index stream) and prior noise (noise stream)."""

    def __init__(self, data: np.ndarray, batch: int, seed_data: list[int], seed_noise: list[int]) -> None:
        self.data = torch.as_tensor(data, dtype=torch.float32)
        self.batch = batch
        self.gen_data = torch_generator(seed_data)
        self.gen_noise = torch_generator(seed_noise)

    def draw(self, gen_time: torch.Generator, device: torch.device) -> tuple[torch.Tensor, ...]:
        idx = torch.randint(self.data.shape[0], (self.batch,), generator=self.gen_data)
        x0 = torch.randn(self.batch, self.data.shape[1], generator=self.gen_noise)
        t = torch.rand(self.batch, generator=gen_time, device=gen_time.device).to("cpu")
        return x0.to(device), self.data[idx].to(device), t.to(device)


def _model_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def conditional_objective(
    data: np.ndarray, sigma_min: float, batch: int, seed_data: list[int], seed_noise: list[int]
) -> Callable[[nn.Module, int, torch.Generator], torch.Tensor]:
    r"""Conditional flow matching on data pairs (the suite's :func:`conditional_flow_matching_loss`).

    .. math:: \mathcal L=\frac1B\sum_b\|v_\theta(x_t,t)-(x_1-(1-\sigma_{\min})x_0)\|^2,
       \quad x_t=tx_1+\sigma_tx_0,\ x_1\sim q,\ x_0\sim\mathcal N(0,I),\ t\sim U[0,1].
    """
    mb = _Minibatches(data, batch, seed_data, seed_noise)

    def loss_fn(model: nn.Module, step: int, gen: torch.Generator) -> torch.Tensor:
        x0, x1, t = mb.draw(gen, _model_device(model))
        return conditional_flow_matching_loss(model, x0, x1, t, sigma_min)

    return loss_fn


def teacher_student_terms(
    model: nn.Module, x: torch.Tensor, t: torch.Tensor, data: torch.Tensor, basis: torch.Tensor, sigma_min: float
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Subspace and off-subspace terms of the teacher–student loss on a batch.

    .. math::

        \mathcal L_\parallel=\frac1B\sum_b\|P(v_\theta-v^*)(x_b,t_b)\|^2,\qquad
        \mathcal L_\perp=\frac1B\sum_b\|P_\perp(v_\theta-v^*)(x_b,t_b)\|^2,

    with the closed-form teacher :math:`v^*` of Theorem D.1 (no gradient through it). Their sum
    is :math:`\|v_\theta-v^*\|^2` because :math:`P` and :math:`P_\perp` are orthogonal.
    """
    with torch.no_grad():
        teacher = optimal_velocity_torch(x.double(), t.double(), data.double(), sigma_min).to(x.dtype)
    diff = model(x, t) - teacher
    u = basis.to(x.dtype)
    coords = diff @ u
    inside = (coords**2).sum(dim=1).mean()
    off = ((diff - coords @ u.T) ** 2).sum(dim=1).mean()
    return inside, off


def teacher_objective(
    data: np.ndarray, basis: np.ndarray, sigma_min: float, batch: int, seed_data: list[int], seed_noise: list[int]
) -> Callable[[nn.Module, int, torch.Generator], torch.Tensor]:
    r"""Teacher–student regression on the closed-form field at :math:`x_t` of the OT path.

    .. math:: \mathcal L=\mathcal L_\parallel+\mathcal L_\perp
       =\frac1B\sum_b\|v_\theta(x_t,t)-v_t^*(x_t)\|^2

    Same minimiser as conditional flow matching, without the conditional variance. Times are
    drawn in :math:`[0,1)` (:math:`t=1` is included only through :math:`\sigma_{\min}>0`).
    """
    mb = _Minibatches(data, batch, seed_data, seed_noise)
    u = torch.as_tensor(np.asarray(basis, dtype=np.float64))

    def loss_fn(model: nn.Module, step: int, gen: torch.Generator) -> torch.Tensor:
        dev = _model_device(model)
        x0, x1, t = mb.draw(gen, dev)
        tt = t[:, None]
        xt = tt * x1 + _sigma(tt, sigma_min) * x0
        inside, off = teacher_student_terms(model, xt, t, mb.data.to(dev), u.to(dev), sigma_min)
        return inside + off

    return loss_fn


def train_learned_field(
    config: LearnedFieldConfig,
    *,
    cache: DiskCache | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    device: torch.device | str | None = None,
) -> TrainResult:
    """Train the model of ``config`` with the suite's loop :func:`numerics.training.train`.

    Device: CUDA when present, else CPU (``device`` overrides). With ``cache`` the result is stored
    under the configuration.
    """
    data = config.points()
    seeds = (config.stream(_STREAM_DATA), config.stream(_STREAM_NOISE))
    if config.target == "teacher":
        loss_fn = teacher_objective(data, config.subspace().basis, config.sigma_min, config.batch, *seeds)
    else:
        loss_fn = conditional_objective(data, config.sigma_min, config.batch, *seeds)
    key = {"kind": "gao-li-learned-field", **dataclasses.asdict(config)} if cache is not None else None
    return train(
        build_model(config),
        loss_fn,
        steps=config.steps,
        lr=config.lr,
        optimizer=config.optimizer,
        ema=config.ema,
        clip=config.clip,
        seed=config.stream(_STREAM_TIME),
        device=device,
        checkpoints=config.checkpoints,
        progress=progress,
        cache=cache,
        cache_key=key,
    )


@functools.lru_cache(maxsize=16)
def _trained_in_process(config: LearnedFieldConfig) -> TrainResult:
    return train_learned_field(config)


def trained_learned_field(config: LearnedFieldConfig, cache: DiskCache | None = None) -> TrainResult:
    """The trained run of ``config``, trained once per process (and once per disk cache)."""
    if cache is None:
        return _trained_in_process(config)
    return train_learned_field(config, cache=cache)


def train_task(config: LearnedFieldConfig) -> TrainResult:
    """Module-level sweep task (picklable) for :func:`numerics.executor.sweep`."""
    return trained_learned_field(config)


# ----------------------------------------------------------------------------------------------
# Generation and the augmented-state integrals
# ----------------------------------------------------------------------------------------------
def _check_starts(x0: np.ndarray, d: int) -> np.ndarray:
    x = np.asarray(x0, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"starts must have shape (M, {d}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("starts contain NaN or inf")
    return x


def _model_dim(model: nn.Module) -> int:
    dim = getattr(model, "dim", None)
    if dim is None:
        raise ValueError(f"cannot read the dimension of {type(model).__name__}")
    return int(dim)


def generate(model: nn.Module, x0: np.ndarray, steps: int = 500, return_path: bool = False) -> np.ndarray:
    """Samples :math:`x(1)` of a learned field by fixed-step RK4 in :math:`t` (float64 state).

    The model is evaluated in float64 (a copy); ``return_path`` gives ``(steps + 1, M, d)``.
    """
    x = _check_starts(x0, _model_dim(model))
    return rk4(torch_field(as_float64(model)), x, steps, 0.0, 1.0, return_path=return_path)


def generate_in_tau(model: nn.Module, x0: np.ndarray, sigma_min: float, steps: int = 2000) -> np.ndarray:
    r"""Samples :math:`x(1)` by fixed-step RK4 in :math:`\tau=-\ln\sigma_t\in[0,-\ln\sigma_{\min}]`.

    .. math:: \frac{dx}{d\tau}=\frac{\sigma_t}{1-\sigma_{\min}}\,v_\theta(x,t),\qquad
       t=\frac{1-e^{-\tau}}{1-\sigma_{\min}}

    (spec §1.3): the off-subspace rate :math:`(1-\sigma_{\min})/\sigma_t` becomes 1.
    """
    if not 0.0 < sigma_min < 1.0:
        raise ValueError(f"sigma_min must lie in (0, 1) to reach t = 1, got {sigma_min}")
    x = _check_starts(x0, _model_dim(model))
    field = torch_field(as_float64(model))
    a = 1.0 - sigma_min

    def w(y: np.ndarray, tau: float) -> np.ndarray:
        sig = math.exp(-tau)
        t = min(-math.expm1(-tau) / a, 1.0)
        return (sig / a) * field(y, t)

    return rk4(w, x, steps, 0.0, -math.log(sigma_min))


def off_subspace_norm_path(
    model: nn.Module, x0: np.ndarray, basis: np.ndarray, steps: int = 500, records: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\|P_\perp x(t)\|` along generated paths at ``records + 1`` equally spaced times.

    RK4 in :math:`t` with ``steps`` steps in total, run segment by segment so that only the norms
    are kept (memory :math:`O(Md)` even for large :math:`d`).

    Returns
    -------
    times : (records + 1,) array
    norms : (records + 1, M) array
    """
    if steps % records:
        raise ValueError(f"steps ({steps}) must be a multiple of records ({records})")
    u = np.asarray(basis, dtype=np.float64)
    x = _check_starts(x0, u.shape[0])
    field = torch_field(as_float64(model))
    times = np.linspace(0.0, 1.0, records + 1)
    norms = [np.linalg.norm(x - (x @ u) @ u.T, axis=1)]
    for a, b in itertools.pairwise(times):
        x = rk4(field, x, steps // records, float(a), float(b))
        norms.append(np.linalg.norm(x - (x @ u) @ u.T, axis=1))
    return times, np.stack(norms)


@dataclass
class OffSubspaceIdentity:
    r"""Terms of the variation-of-constants identity along each generated path (rows = samples).

    ``integral`` is :math:`\int_0^1\frac{\sigma_{\min}}{\sigma_s}e_\perp(s,x(s))ds` and
    ``norm_integral`` is :math:`\int_0^1\frac{\sigma_{\min}}{\sigma_s}\|e_\perp(s,x(s))\|ds`.
    """

    x1: np.ndarray
    off0: np.ndarray
    off1: np.ndarray
    integral: np.ndarray
    norm_integral: np.ndarray
    sigma_min: float

    @property
    def predicted_off1(self) -> np.ndarray:
        """Right-hand side :math:`\\sigma_{\\min}x_\\perp(0)+\\int\\frac{\\sigma_{\\min}}{\\sigma_s}e_\\perp ds`."""
        return self.sigma_min * self.off0 + self.integral


def off_subspace_identity(
    model: nn.Module,
    x0: np.ndarray,
    data: np.ndarray,
    sigma_min: float,
    steps: int = 2000,
    method: str = "qr",
    kernel_sigma_min: float | None = None,
) -> OffSubspaceIdentity:
    r"""Integrate the learned flow with the identity's integrals as extra state (RK4 in :math:`t`).

    Augmented state :math:`(x, I, J)` with

    .. math::

        \dot x=v_\theta(x,t),\quad
        \dot I=\frac{\sigma_{\min}}{\sigma_t}\,e_\perp(t,x),\quad
        \dot J=\frac{\sigma_{\min}}{\sigma_t}\,\|e_\perp(t,x)\|,\qquad
        e_\perp=P_\perp\big(v_\theta(x,t)-v_t^*(x)\big),

    so :math:`I(1)` and :math:`J(1)` use the same RK4 stages as the path. :math:`v^*` is the
    closed form (:func:`numerics.flow_matching.optimal_velocity`). ``kernel_sigma_min`` replaces
    :math:`\sigma_{\min}` in the kernel :math:`\sigma_{\min}/\sigma_s` only (a deliberately wrong
    kernel for negative controls).
    """
    sub = subspace_basis(data, method=method)
    x = _check_starts(x0, sub.dim)
    d = sub.dim
    field = torch_field(as_float64(model))
    k_s = sigma_min if kernel_sigma_min is None else float(kernel_sigma_min)

    def rhs(y: np.ndarray, t: float) -> np.ndarray:
        xs = y[:, :d]
        v = field(xs, t)
        e_off = sub.off(v - optimal_velocity(xs, min(t, 1.0), data, sigma_min))
        kern = k_s / float((1.0 - t) + sigma_min * t)
        return np.concatenate([v, kern * e_off, kern * np.linalg.norm(e_off, axis=1, keepdims=True)], axis=1)

    y0 = np.concatenate([x, np.zeros_like(x), np.zeros((x.shape[0], 1))], axis=1)
    y1 = rk4(rhs, y0, steps, 0.0, 1.0)
    return OffSubspaceIdentity(y1[:, :d], sub.off(x), sub.off(y1[:, :d]), y1[:, d : 2 * d], y1[:, 2 * d], sigma_min)


@dataclass
class GenerationErrorBound:
    """Learned and exact endpoints from the same starts, the error and the pathwise bound ``b(1)``."""

    x1: np.ndarray
    x1_exact: np.ndarray
    error: np.ndarray
    bound: np.ndarray
    log10_global_bound: np.ndarray


def _global_log_rate_integral(t: np.ndarray, sigma_min: float, diameter: float) -> np.ndarray:
    r""":math:`\Lambda(t)=\int_0^tL_u\,du` for the global one-sided rate of spec fact (d).

    .. math::

        L_t=\frac1{\sigma_t}\Big[\frac{tD_X^2}{4\sigma_t^2}-(1-\sigma_{\min})\Big],\qquad
        \Lambda(t)=\frac{D_X^2}{4a^2}\Big(\frac1{2\sigma_t^2}-\frac1{\sigma_t}+\frac12\Big)+\ln\sigma_t,
        \quad a=1-\sigma_{\min}.
    """
    a = 1.0 - sigma_min
    sig = (1.0 - t) + sigma_min * t
    return diameter**2 / (4.0 * a * a) * (0.5 / sig**2 - 1.0 / sig + 0.5) + np.log(sig)


def generation_error_bound(
    model: nn.Module, x0: np.ndarray, data: np.ndarray, sigma_min: float, steps: int = 2000, rate_shift: float = 0.0
) -> GenerationErrorBound:
    r"""Integrate learned flow, exact flow and the pathwise Grönwall bound jointly (RK4 in :math:`t`).

    .. math::

        \dot x=v_\theta(x,t),\quad \dot x^*=v_t^*(x^*),\quad
        \dot b=\ell(t)\,b+\|e(t,x)\|,\ b(0)=0,\\
        \ell=\frac{\delta^\top(v_t^*(x)-v_t^*(x^*))}{\|\delta\|^2}\ (\ell:=0\text{ at }\delta=0),\quad
        \delta=x-x^*,\quad e=v_\theta-v^* .

    Then :math:`\|x(1)-x^*(1)\|\le b(1)` (spec §2, derived). ``rate_shift`` is added to
    :math:`\ell` (a deliberately wrong rate for negative controls). The rigorous global version
    with :math:`L_t` is returned as :math:`\log_{10}` only (it is astronomically loose).
    """
    y = np.asarray(data, dtype=np.float64)
    d = y.shape[1]
    x = _check_starts(x0, d)
    field = torch_field(as_float64(model))

    def rhs(z: np.ndarray, t: float) -> np.ndarray:
        xs, xe, b = z[:, :d], z[:, d : 2 * d], z[:, 2 * d]
        t = min(t, 1.0)
        v = field(xs, t)
        vs_x = optimal_velocity(xs, t, y, sigma_min)
        vs_e = optimal_velocity(xe, t, y, sigma_min)
        delta = xs - xe
        dd = np.einsum("ij,ij->i", delta, delta)
        num = np.einsum("ij,ij->i", delta, vs_x - vs_e)
        rate = np.divide(num, dd, out=np.zeros_like(dd), where=dd > 0) + rate_shift
        db = rate * b + np.linalg.norm(v - vs_x, axis=1)
        return np.concatenate([v, vs_e, db[:, None]], axis=1)

    z0 = np.concatenate([x, x, np.zeros((x.shape[0], 1))], axis=1)
    path = rk4(rhs, z0, steps, 0.0, 1.0, return_path=True)
    z1 = path[-1]
    # Global bound (reported only): log of int_0^1 exp(Lambda(1) - Lambda(s)) ||e(s, x(s))|| ds by the
    # trapezoid rule on at most ~100 nodes of the RK4 grid (its log10 is ~1e4: a coarse grid suffices).
    stride = max(steps // 100, 1)
    nodes = np.unique(np.append(np.arange(0, steps + 1, stride), steps))
    ts = nodes / steps
    e_norm = np.stack(
        [
            np.linalg.norm(field(path[k][:, :d], t) - optimal_velocity(path[k][:, :d], t, y, sigma_min), axis=1)
            for k, t in zip(nodes, ts)
        ]
    )
    diam = float(np.max(np.linalg.norm(y[:, None, :] - y[None, :, :], axis=-1)))
    lam = _global_log_rate_integral(ts, sigma_min, diam)
    wts = np.zeros(ts.size)
    wts[1:] += 0.5 * np.diff(ts)
    wts[:-1] += 0.5 * np.diff(ts)
    with np.errstate(divide="ignore"):
        logs = (lam[-1] - lam)[:, None] + np.log(e_norm) + np.log(wts)[:, None]
    log10_global = logsumexp(logs, axis=0) / math.log(10.0)
    err = np.linalg.norm(z1[:, :d] - z1[:, d : 2 * d], axis=1)
    return GenerationErrorBound(z1[:, :d], z1[:, d : 2 * d], err, z1[:, 2 * d], log10_global)


# ----------------------------------------------------------------------------------------------
# Excess loss and sample metrics
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExcessLoss:
    r"""Monte Carlo :math:`\mathbb E_{t,x\sim p_t}\|v_\theta-v^*\|^2` and its two orthogonal parts."""

    total: float
    inside: float
    off: float
    se: float
    n: int


def excess_loss(
    model: nn.Module,
    data: np.ndarray,
    sigma_min: float,
    n: int = 8192,
    seed: int | list[int] = 0,
    t_max: float = 0.99,
    method: str = "qr",
) -> ExcessLoss:
    r"""Excess CFM loss of a learned field (spec §2 "Link to the training loss").

    .. math::

        \mathcal L_{\rm CFM}(\theta)-\mathcal L_{\rm CFM}(v^*)=\mathbb E_{t,x\sim p_t}\|v_\theta(x,t)-v_t^*(x)\|^2,

    estimated with ``n`` draws :math:`t\sim U[0,t_{\max}]`, :math:`i\sim U\{1..N\}`,
    :math:`x=tx^{(i)}+\sigma_tx_0`; a fixed ``seed`` gives common random numbers across
    checkpoints. Split into :math:`\|P(\cdot)\|^2` and :math:`\|P_\perp(\cdot)\|^2`.
    """
    y = np.asarray(data, dtype=np.float64)
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    if not 0.0 < t_max <= 1.0:
        raise ValueError(f"t_max must lie in (0, 1], got {t_max}")
    sub = subspace_basis(y, method=method)
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, t_max, n)
    idx = rng.integers(0, y.shape[0], n)
    x0 = rng.standard_normal((n, y.shape[1]))
    sig = (1.0 - t) + sigma_min * t
    x = t[:, None] * y[idx] + sig[:, None] * x0
    m64 = as_float64(model)
    with torch.no_grad():
        v = m64(torch.as_tensor(x), torch.as_tensor(t)).numpy()
    diff = v - optimal_velocity(x, t, y, sigma_min)
    off = sub.off(diff)
    sq_off = np.einsum("ij,ij->i", off, off)
    sq = np.einsum("ij,ij->i", diff, diff)
    return ExcessLoss(
        float(sq.mean()), float((sq - sq_off).mean()), float(sq_off.mean()), float(sq.std(ddof=1) / math.sqrt(n)), n
    )


def nearest_point_distance(x: np.ndarray, data: np.ndarray) -> np.ndarray:
    """:math:`\\min_i\\|x_m-x^{(i)}\\|` for each row ``x_m``."""
    d2 = ((np.asarray(x)[:, None, :] - np.asarray(data)[None, :, :]) ** 2).sum(-1)
    return np.sqrt(d2.min(axis=1))


def median_data_gap(data: np.ndarray) -> float:
    """Median over points of the distance to the nearest other training point."""
    y = np.asarray(data, dtype=np.float64)
    if y.shape[0] < 2:
        raise ValueError("need at least two points for a data gap")
    dist = np.linalg.norm(y[:, None, :] - y[None, :, :], axis=-1)
    np.fill_diagonal(dist, np.inf)
    return float(np.median(dist.min(axis=1)))


@dataclass(frozen=True)
class SampleMetrics:
    r"""Off-subspace decay, closeness and diversity of generated samples.

    ``rho`` = mean :math:`\|x_\perp(1)\|/\|x_\perp(0)\|`; ``off_fraction`` = mean
    :math:`\|x_\perp(1)\|/\|x(1)\|`; ``nn_distance`` = mean nearest-training-point distance;
    ``distinct_fraction`` = fraction of samples farther than 5% of the median data gap from every
    training point (not copies); ``coverage`` = fraction of training points that are the nearest
    point of some sample (diversity).
    """

    rho: float
    off_fraction: float
    nn_distance: float
    distinct_fraction: float
    coverage: float


def sample_metrics(x0: np.ndarray, x1: np.ndarray, data: np.ndarray, method: str = "qr") -> SampleMetrics:
    """Metrics of samples ``x1`` generated from starts ``x0`` (see :class:`SampleMetrics`)."""
    y = np.asarray(data, dtype=np.float64)
    sub = subspace_basis(y, method=method)
    off0 = np.linalg.norm(sub.off(x0), axis=1)
    off1 = np.linalg.norm(sub.off(x1), axis=1)
    nn_d = nearest_point_distance(x1, y)
    nearest = np.argmin(((x1[:, None, :] - y[None, :, :]) ** 2).sum(-1), axis=1)
    gap = median_data_gap(y)
    return SampleMetrics(
        float(np.mean(off1 / off0)),
        float(np.mean(off1 / np.linalg.norm(x1, axis=1))),
        float(nn_d.mean()),
        float(np.mean(nn_d > 0.05 * gap)),
        float(np.unique(nearest).size / y.shape[0]),
    )


# ----------------------------------------------------------------------------------------------
# Per-checkpoint evaluation shared by the checks and figures
# ----------------------------------------------------------------------------------------------
@dataclass
class CheckpointEvaluation:
    """Per-checkpoint measurements of one training run (arrays indexed like ``steps``)."""

    steps: np.ndarray
    rho: np.ndarray
    off_fraction: np.ndarray
    nn_distance: np.ndarray
    distinct_fraction: np.ndarray
    coverage: np.ndarray
    excess: np.ndarray
    excess_inside: np.ndarray
    excess_off: np.ndarray
    excess_se: np.ndarray
    median_gap: float
    samples: dict[int, np.ndarray]
    starts: np.ndarray


def evaluate_checkpoints(
    result: TrainResult,
    config: LearnedFieldConfig,
    n_starts: int,
    ode_steps: int,
    seed: int | list[int],
    excess_n: int = 8192,
    excess_seed: int | list[int] = 0,
) -> CheckpointEvaluation:
    """Generate ``n_starts`` samples (RK4, ``ode_steps``) and the excess loss at every checkpoint.

    The same starts (seeded) and the same Monte Carlo draws are used at every checkpoint.
    """
    data = config.points()
    x0 = np.random.default_rng(seed).standard_normal((n_starts, data.shape[1]))
    steps = np.array(sorted(result.checkpoints))
    rows, samples = [], {}
    for s in steps:
        model = result.model_at(int(s))
        x1 = generate(model, x0, ode_steps)
        samples[int(s)] = x1
        m = sample_metrics(x0, x1, data, config.basis_method)
        ex = excess_loss(model, data, config.sigma_min, excess_n, excess_seed, method=config.basis_method)
        rows.append(
            (m.rho, m.off_fraction, m.nn_distance, m.distinct_fraction, m.coverage, ex.total, ex.inside, ex.off, ex.se)
        )
    cols = np.array(rows, dtype=np.float64).T
    return CheckpointEvaluation(steps, *cols, median_gap=median_data_gap(data), samples=samples, starts=x0)


@functools.lru_cache(maxsize=8)
def evaluated_run(
    config: LearnedFieldConfig, n_starts: int, ode_steps: int, seed: int | tuple[int, ...], excess_n: int = 8192
) -> CheckpointEvaluation:
    """:func:`evaluate_checkpoints` of the in-process trained run of ``config`` (computed once)."""
    s = list(seed) if isinstance(seed, tuple) else seed
    return evaluate_checkpoints(trained_learned_field(config), config, n_starts, ode_steps, s, excess_n)
