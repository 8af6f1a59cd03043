"""The compact training loop shared by every learned-model check of the suite, and the one model cache.

One loop for all papers (:func:`train`): seeded, CUDA when present else CPU, Adam/AdamW,
optional EMA and gradient clipping, a progress callback, the loss history returned, checkpoints
at chosen steps. The objective is a callable, so conditional flow matching (:func:`conditional_objective`),
coupled (multisample) flow matching (:func:`coupled_objective`), teacher–student regression
(:func:`teacher_objective`) and denoising all plug in.

A training run is described by a frozen configuration object (:class:`TrainingConfig`: it builds
its model and objective and states its :class:`Hyper` parameters). :func:`trained` trains a
configuration once per process and, with a :class:`~numerics.cache.DiskCache`, once per cache
(both layers behind one :class:`~numerics.cache.LayeredCache`, the interface :func:`numerics.experiments.measured`
uses too): the key is derived from every field of the configuration, so checks and figures that need the
same model share it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from numerics.cache import DiskCache, LayeredCache
from numerics.empirical_field import optimal_velocity_torch
from numerics.paths import CondOTPath
from theory.validation import integer, real_scalar


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def torch_generator(seed: int | list[int], device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` seeded from an int or a NumPy-style seed list (no global seeding)."""
    s = int(np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)[0] % (2**63 - 1))
    return torch.Generator(device=device).manual_seed(s)


LossFn = Callable[[nn.Module, int, torch.Generator], torch.Tensor]


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    ``checkpoints`` maps a step (0 = initialisation) to a CPU ``state_dict`` of the evaluated
    model (the EMA model when EMA is on).
    """

    model: nn.Module
    losses: np.ndarray
    checkpoints: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)
    seconds: float = 0.0
    device: str = "cpu"

    def model_at(self, step: int) -> nn.Module:
        """A copy of the model with the weights of checkpoint ``step``."""
        if step not in self.checkpoints:
            raise KeyError(f"no checkpoint at step {step}; have {sorted(self.checkpoints)}")
        m = copy.deepcopy(self.model)
        m.load_state_dict(self.checkpoints[step])
        return m


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}


def check_train_controls(
    *,
    steps: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    ema: float | None = None,
    clip: float | None = None,
) -> tuple[int, float, float, float | None, float | None]:
    """Validated numeric controls of :func:`train` (also used by callers that build the loop's inputs first).

    Raises
    ------
    TypeError
        Complex, bool or non-numeric values.
    ValueError
        ``steps`` not an integer >= 0, ``lr`` not positive and finite, ``weight_decay`` not finite
        and >= 0, ``ema`` outside [0, 1), ``clip`` not positive and finite.
    """
    steps = integer(steps, "steps", 0)
    lr = real_scalar(lr, "lr", 0.0, lo_open=True)
    weight_decay = real_scalar(weight_decay, "weight_decay", 0.0)
    ema = None if ema is None else real_scalar(ema, "ema", 0.0, 1.0, hi_open=True)
    clip = None if clip is None else real_scalar(clip, "clip", 0.0, lo_open=True)
    return steps, lr, weight_decay, ema, clip


def train(
    model: nn.Module,
    loss_fn: LossFn,
    *,
    steps: int,
    lr: float = 1e-3,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    ema: float | None = None,
    clip: float | None = None,
    seed: int | list[int] = 0,
    device: torch.device | str | None = None,
    checkpoints: Iterable[int] = (),
    progress: Callable[[int, int, float], None] | None = None,
) -> TrainResult:
    """Train ``model`` by minimising ``loss_fn(model, step, generator)`` for ``steps`` steps.

    Parameters
    ----------
    model : nn.Module
        Initialised by the caller (with its own seeded generator).
    loss_fn : callable
        Returns a scalar loss for one minibatch; draws its randomness from the generator it is
        given (seeded from ``seed``, on the training device).
    optimizer : {"adam", "adamw"}
    ema : float, optional
        EMA decay (e.g. 0.999); the returned model and checkpoints are then the EMA weights.
    clip : float, optional
        Gradient-norm clipping threshold.
    checkpoints : iterable of int
        Steps (0..steps) at which to store the weights.
    progress : callable(step, steps, loss), optional
        Called every 1% of the run.

    Returns
    -------
    TrainResult
        The trained model on CPU, the loss history (float64, one entry per step), checkpoints.

    Raises
    ------
    TypeError, ValueError
        Before any work, for a bad control (:func:`check_train_controls`), model, objective,
        optimizer name or checkpoint step.
    """
    steps, lr, weight_decay, ema, clip = check_train_controls(
        steps=steps, lr=lr, weight_decay=weight_decay, ema=ema, clip=clip
    )
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    if optimizer not in ("adam", "adamw"):
        raise ValueError(f"optimizer must be 'adam' or 'adamw', got {optimizer!r}")
    ckpt_steps = sorted(set(integer(s, "checkpoint step") for s in checkpoints))
    if any(s < 0 or s > steps for s in ckpt_steps):
        raise ValueError(f"checkpoint steps must lie in [0, {steps}], got {ckpt_steps}")
    dev = torch.device(device) if device is not None else default_device()
    model = model.to(dev)
    gen = torch_generator(seed, dev)
    opt_cls = torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW
    # foreach: one call per operation for all parameter tensors instead of one per tensor (on the
    # CPU the same per-tensor kernels, so the same numbers; measured 2x faster steps for small MLPs)
    opt = opt_cls(model.parameters(), lr=lr, weight_decay=weight_decay, foreach=True)
    ema_model = copy.deepcopy(model).requires_grad_(False) if ema is not None else None
    evaluated = ema_model if ema_model is not None else model
    # Losses stay on the training device and come back every `every` steps (and at checkpoints):
    # a per-step .item() would synchronise a GPU at every step. A non-finite loss is then found
    # at the next transfer and reported with the step where it first appeared.
    losses = np.empty(steps, dtype=np.float64)
    loss_dev = torch.empty(steps, dtype=torch.float64, device=dev)
    fetched = 0

    def fetch(upto: int) -> None:
        nonlocal fetched
        if upto > fetched:
            losses[fetched:upto] = loss_dev[fetched:upto].cpu().numpy()
            bad = ~np.isfinite(losses[fetched:upto])
            if bad.any():
                first = fetched + int(np.argmax(bad))
                raise FloatingPointError(f"training loss is {losses[first]} at step {first + 1}")
            fetched = upto

    saved: dict[int, dict[str, torch.Tensor]] = {}
    if 0 in ckpt_steps:
        saved[0] = _cpu_state(evaluated)
    every = max(steps // 100, 1)
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        loss = loss_fn(model, step, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if ema_model is not None:
            with torch.no_grad():
                torch._foreach_lerp_(list(ema_model.parameters()), list(model.parameters()), 1.0 - ema)
        loss_dev[step - 1] = loss.detach()
        if step in ckpt_steps or step % every == 0 or step == steps:
            fetch(step)
        if step in ckpt_steps:
            saved[step] = _cpu_state(evaluated)
        if progress is not None and (step % every == 0 or step == steps):
            progress(step, steps, losses[step - 1])
    final = evaluated.to("cpu")
    return TrainResult(final, losses, saved, time.perf_counter() - t0, str(dev))


def conditional_flow_matching_loss(
    model: nn.Module, x0: torch.Tensor, x1: torch.Tensor, t: torch.Tensor, sigma_min: float = 0.0
) -> torch.Tensor:
    r"""Minibatch CFM loss on paired ``(x0, x1)`` for the conditional OT path.

    .. math::
        x_t = (1-(1-\sigma_{\min})t)\,x_0 + t\,x_1,\qquad
        \mathcal L = \frac1B\sum_b \|v_\theta(x_t, t) - (x_1-(1-\sigma_{\min})x_0)\|^2 .

    The pairing (independent, BatchOT, ...) is whatever the caller passes.
    """
    path = CondOTPath(sigma_min)
    xt = path.sample(x0, x1, t)
    return ((model(xt, t) - path.target(x0, x1)) ** 2).sum(dim=tuple(range(1, x0.ndim))).mean()


def conditional_flow_matching_losses(
    forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    x1: torch.Tensor,
    t: torch.Tensor,
    sigma_min: float = 0.0,
) -> torch.Tensor:
    """:func:`conditional_flow_matching_loss` of ``S`` members at once: ``(S,)`` losses.

    ``x0``, ``x1`` are ``(S, B, d)``, ``t`` is ``(S, B)`` and ``forward(x, t)`` evaluates member
    ``s`` on ``x[s]`` (e.g. :meth:`numerics.nets.VelocityMLP.stacked_forward`).
    """
    path = CondOTPath(sigma_min)
    rows = t.numel()
    xt = path.sample(x0.reshape(rows, -1), x1.reshape(rows, -1), t.reshape(rows)).reshape(x0.shape)
    return ((forward(xt, t) - path.target(x0, x1)) ** 2).sum(dim=-1).mean(dim=-1)


# ----------------------------------------------------------------------------------------------
# Objectives
# ----------------------------------------------------------------------------------------------
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


def conditional_draws(data: np.ndarray, batch: int, seed_data: list[int], seed_noise: list[int]) -> Draw:
    """The minibatches :func:`conditional_objective` draws, as tensors ``(x0, x1, t)`` on ``gen``'s device.

    ``conditional_flow_matching_loss(model, *draw(step, gen), sigma_min)`` is that objective's
    loss (the draw of a member of a seed ensemble, :func:`train_ensemble`).
    """
    mb = _Minibatches(data, batch, seed_data, seed_noise)

    def draw(step: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        return mb.draw(gen, gen.device)

    return draw


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
        xt = CondOTPath(sigma_min).sample(x0, x1, t)
        inside, off = teacher_student_terms(model, xt, t, mb.data.to(dev), u.to(dev), sigma_min)
        return inside + off

    return loss_fn


def coupled_objective(sampler: Any, sigma_min: float = 0.0) -> LossFn:
    r"""The joint (coupled) CFM objective (spec ``mfm.md`` Eq. 15) on paired minibatches of ``sampler``.

    Each call draws a paired minibatch (:class:`numerics.couplings.CoupledBatchSampler`: the
    coupling solved in blocks of ``k``), times :math:`t_i\sim U[0,1]` from the loop's generator,
    and returns

    .. math::
        \frac1B\sum_i\big\|v_\theta(x_{t_i},t_i)-\big(x_1^{j_i}-(1-\sigma_{\min})x_0^i\big)\big\|^2,
        \qquad x_{t}=(1-(1-\sigma_{\min})t)\,x_0^i+t\,x_1^{j_i}.
    """

    def loss_fn(model: nn.Module, step: int, gen: torch.Generator) -> torch.Tensor:
        x0, x1 = sampler.draw()
        dev = gen.device
        t = torch.rand(x0.shape[0], generator=gen, device=dev)
        return conditional_flow_matching_loss(
            model,
            torch.as_tensor(x0, dtype=torch.float32, device=dev),
            torch.as_tensor(x1, dtype=torch.float32, device=dev),
            t,
            sigma_min,
        )

    return loss_fn


# ----------------------------------------------------------------------------------------------
# Training configurations and the one model cache
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hyper:
    """Hyper-parameters of one run of :func:`train` (everything but the model and the objective)."""

    steps: int
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    ema: float | None = None
    clip: float | None = None
    seed: tuple[int, ...] = (0,)
    checkpoints: tuple[int, ...] = ()


class TrainingConfig(Protocol):
    """A frozen, hashable description of one training run (the key of the model cache)."""

    def build_model(self) -> nn.Module: ...

    def objective(self) -> LossFn: ...

    def hyper(self) -> Hyper: ...


def _config_key(config: Any) -> Any:
    """A configuration is its own memo key (frozen and hashable)."""
    return config


_TRAINED = LayeredCache(key=_config_key)
"""The runs trained in this process (or read from the disk cache), keyed by their configuration."""


def trained(
    config: TrainingConfig,
    cache: DiskCache | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    device: torch.device | str | None = None,
) -> TrainResult:
    """The trained run of ``config``: trained once per process and, with ``cache``, once per disk cache.

    The disk key is derived from every field of ``config`` (:func:`numerics.cache.param_record`).
    """

    def compute() -> TrainResult:
        h = config.hyper()
        return train(
            config.build_model(),
            config.objective(),
            steps=h.steps,
            lr=h.lr,
            optimizer=h.optimizer,
            weight_decay=h.weight_decay,
            ema=h.ema,
            clip=h.clip,
            seed=list(h.seed),
            device=device,
            checkpoints=h.checkpoints,
            progress=progress,
        )

    return _TRAINED.get_or_compute("train", config, compute, cache)


def train_task(config: TrainingConfig, cache: DiskCache | None = None) -> TrainResult:
    """Module-level sweep task (picklable) for :func:`numerics.executor.sweep`."""
    return trained(config, cache)


def train_many(configs: list[Any], executor: Any = None, cache: DiskCache | None = None) -> list[TrainResult]:
    """Train the configurations not yet trained in this process, through ``executor``.

    Independent trainings are submitted together, so a process pool trains them in parallel;
    each run carries its own seeds, so results do not depend on the number of workers.
    """
    from numerics.executor import sweep

    todo = list(dict.fromkeys(c for c in configs if not _TRAINED.known(c)))
    for c, r in zip(todo, sweep(executor, train_task, [{"config": c, "cache": cache} for c in todo])):
        _TRAINED.remember(c, r)
    return [_TRAINED.recall(c) for c in configs]


def forget_trained() -> None:
    """Drop the in-process model cache (tests that need a fresh training)."""
    _TRAINED.forget()


# ----------------------------------------------------------------------------------------------
# Seed ensembles: the runs of several seeds trained as one vectorised model
# ----------------------------------------------------------------------------------------------
Draw = Callable[[int, torch.Generator], tuple[torch.Tensor, ...]]
BatchLoss = Callable[..., torch.Tensor]
StackedLoss = Callable[..., torch.Tensor]


class EnsembleConfig(TrainingConfig, Protocol):
    """A :class:`TrainingConfig` whose objective splits into a minibatch draw and a pure loss.

    ``objective()(model, step, gen)`` must equal ``batch_loss()(model, *draw()(step, gen))``: the
    draw holds the run's randomness (its own seeded streams and ``gen``), the loss is a function
    of the model and the drawn tensors only, so :func:`train_ensemble` can ``vmap`` it over the
    members. Members of one ensemble differ only in their seeds (equal :meth:`ensemble_key`).
    """

    def draw(self) -> Draw: ...

    def batch_loss(self) -> BatchLoss: ...

    def ensemble_key(self) -> Any: ...

    # optional: ``stacked_batch_loss() -> StackedLoss | None``, the members' losses from their
    # stacked parameters (see train_ensemble's ``stacked_loss``)


def coupled_draws(sampler: Any) -> Draw:
    """The minibatches :func:`coupled_objective` draws, as tensors ``(x0, x1, t)`` (float32, on ``gen``'s device).

    Pairs come from ``sampler.draw()``, then the times from ``gen``: the order of
    :func:`coupled_objective`, so ``conditional_flow_matching_loss(model, *draw(step, gen))``
    is its loss.
    """

    def draw(step: int, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        x0, x1 = sampler.draw()
        dev = gen.device
        t = torch.rand(x0.shape[0], generator=gen, device=dev)
        return (
            torch.as_tensor(x0, dtype=torch.float32, device=dev),
            torch.as_tensor(x1, dtype=torch.float32, device=dev),
            t,
        )

    return draw


def train_ensemble(
    models: list[nn.Module],
    draws: list[Draw],
    loss: BatchLoss,
    *,
    steps: int,
    seeds: list[int | list[int]],
    lr: float = 1e-3,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    ema: float | None = None,
    clip: float | None = None,
    device: torch.device | str | None = None,
    checkpoints: Iterable[int] = (),
    progress: Callable[[int, int, float], None] | None = None,
    stacked_loss: StackedLoss | None = None,
) -> list[TrainResult]:
    r"""Train ``S`` models of one architecture as one vectorised ensemble: :func:`train` per member, batched.

    Member :math:`s` is ``models[s]`` trained on ``loss(model, *draws[s](step, gen_s))`` with
    ``gen_s`` seeded from ``seeds[s]``, exactly as ``train(models[s], lambda m, step, g:
    loss(m, *draws[s](step, g)), seed=seeds[s], ...)`` would train it alone. The forward and
    backward passes of all members run as one call: the members' parameters are stacked into one
    leaf tensor per parameter name (members along the first axis) and the loss is ``vmap``-ed over
    ``torch.func.functional_call`` of the architecture. The summed loss has gradient
    :math:`\partial\mathcal L_s/\partial\theta_s` on member :math:`s`'s slice; the optimizer and
    EMA (elementwise) update the stacked tensors, clipping scales each member's slices by its own
    gradient norm, as :func:`train` does per model.

    On CPU the per-member results are bit-for-bit those of :func:`train` (losses, weights,
    checkpoints) for hidden layers of at least 256 entries per minibatch (observed threshold:
    hidden width x batch >= 256, met by every model of the suite); for smaller products PyTorch
    picks another small-matrix kernel for the batched and the single product and the members agree
    with single runs to float32 rounding (relative ~1e-7 per step), as they may on CUDA, where the
    batched GEMMs can also round differently (``tests/test_numerics_training_ensembles.py``).

    ``stacked_loss(params, *stacked_batch)``, where given, computes the members' losses directly
    from the stacked parameters (``(S,)``, the values the ``vmap``-ed loss gives, without its
    per-operation cost; e.g. :meth:`numerics.nets.VelocityMLP.stacked_forward` with
    :func:`conditional_flow_matching_losses`).

    Returns
    -------
    list of TrainResult
        One per member, in order; ``seconds`` is the wall time of the whole ensemble.
    """
    ckpt_steps = _checked_ensemble(models, draws, seeds, steps, optimizer, checkpoints)
    dev = torch.device(device) if device is not None else default_device()
    models = [m.to(dev) for m in models]
    gens = [torch_generator(s, dev) for s in seeds]
    params = _stacked_parameters(models)
    opt_cls = torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW
    opt = opt_cls(list(params.values()), lr=lr, weight_decay=weight_decay, foreach=True)
    emas = [copy.deepcopy(m).requires_grad_(False) for m in models] if ema is not None else None
    ema_params = {n: p.detach().clone() for n, p in params.items()} if ema is not None else None
    evaluated = emas if emas is not None else models
    evaluated_params = ema_params if ema_params is not None else params
    batched_loss = _vmapped_loss(models[0], loss)
    buffers = {n: torch.stack([dict(m.named_buffers())[n] for m in models]) for n, _ in models[0].named_buffers()}
    losses = np.empty((len(models), steps), dtype=np.float64)
    saved: list[dict[int, dict[str, torch.Tensor]]] = [{} for _ in models]
    if 0 in ckpt_steps:
        for s, m in enumerate(evaluated):
            saved[s][0] = _cpu_state(m)
    every = max(steps // 100, 1)
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        batch = [d(step, g) for d, g in zip(draws, gens)]
        stacked = tuple(torch.stack(parts) for parts in zip(*batch))
        per_member = stacked_loss(params, *stacked) if stacked_loss else batched_loss(params, buffers, *stacked)
        if not torch.isfinite(per_member).all():
            raise FloatingPointError(f"training loss is {per_member.tolist()} at step {step}")
        opt.zero_grad(set_to_none=True)
        per_member.sum().backward()
        if clip is not None:
            _clip_members(params, clip, len(models))
        opt.step()
        if ema_params is not None:
            with torch.no_grad():
                torch._foreach_lerp_(list(ema_params.values()), list(params.values()), 1.0 - ema)
        losses[:, step - 1] = per_member.detach().cpu().double().numpy()
        if step in ckpt_steps:
            _sync_members(evaluated, evaluated_params)
            for s, m in enumerate(evaluated):
                saved[s][step] = _cpu_state(m)
        if progress is not None and (step % every == 0 or step == steps):
            progress(step, steps, float(losses[:, step - 1].mean()))
    _sync_members(evaluated, evaluated_params)
    seconds = time.perf_counter() - t0
    return [TrainResult(m.to("cpu"), losses[s], saved[s], seconds, str(dev)) for s, m in enumerate(evaluated)]


def _checked_ensemble(
    models: list[nn.Module],
    draws: list[Draw],
    seeds: list[int | list[int]],
    steps: int,
    optimizer: str,
    checkpoints: Iterable[int],
) -> list[int]:
    """The arguments of :func:`train_ensemble`, checked before any work; returns the sorted checkpoint steps."""
    if not models or not (len(models) == len(draws) == len(seeds)):
        raise ValueError(f"need one draw and one seed per model, got {len(models)}, {len(draws)}, {len(seeds)}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if optimizer not in ("adam", "adamw"):
        raise ValueError(f"optimizer must be 'adam' or 'adamw', got {optimizer!r}")
    shapes = [[(n, p.shape) for n, p in m.named_parameters()] for m in models]
    if any(s != shapes[0] for s in shapes):
        raise ValueError("ensemble members must share one architecture (same parameter names and shapes)")
    ckpt_steps = sorted(set(int(s) for s in checkpoints))
    if any(s < 0 or s > steps for s in ckpt_steps):
        raise ValueError(f"checkpoint steps must lie in [0, {steps}], got {ckpt_steps}")
    return ckpt_steps


def _stacked_parameters(models: list[nn.Module]) -> dict[str, torch.Tensor]:
    """One leaf tensor per parameter name with the members along the first axis.

    The optimizer, EMA and clipping then act on a few stacked tensors instead of one per member
    and name. Adam, AdamW and EMA are elementwise, so member s's slice is updated exactly as its
    own tensor would be (the same numbers, bit for bit, as
    tests/test_numerics_training_ensembles.py checks).
    """
    names = [n for n, _ in models[0].named_parameters()]
    return {
        n: torch.stack([dict(m.named_parameters())[n].detach() for m in models]).requires_grad_(True) for n in names
    }


def _vmapped_loss(architecture: nn.Module, loss: BatchLoss) -> Callable[..., torch.Tensor]:
    """``loss`` of every member at once, ``(params, buffers, *batch) -> (S,)``: ``vmap`` over
    ``functional_call`` of the architecture (a parameter-free copy on the meta device)."""
    from torch.func import functional_call, vmap

    skeleton = copy.deepcopy(architecture).to("meta")

    def member_loss(params: dict[str, torch.Tensor], bufs: dict[str, torch.Tensor], *batch: torch.Tensor):
        def model(*inputs: torch.Tensor) -> torch.Tensor:
            return functional_call(skeleton, (params, bufs), inputs)

        return loss(model, *batch)

    return vmap(member_loss)


def _clip_members(params: dict[str, torch.Tensor], clip: float, members: int) -> None:
    """``nn.utils.clip_grad_norm_`` of each member: its slices scaled by its own gradient norm."""
    for s in range(members):
        grads = [p.grad[s] for p in params.values()]
        total = nn.utils.get_total_norm(grads, 2.0)
        coef = torch.clamp(clip / (total + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef)


def _sync_members(evaluated: list[nn.Module], evaluated_params: dict[str, torch.Tensor]) -> None:
    """Copy the stacked (evaluated) weights into the members' own modules."""
    with torch.no_grad():
        for s, m in enumerate(evaluated):
            for n, p in m.named_parameters():
                p.copy_(evaluated_params[n][s])


def trained_ensemble(
    configs: list[EnsembleConfig],
    cache: DiskCache | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    device: torch.device | str | None = None,
) -> list[TrainResult]:
    """:func:`trained` of every configuration, the missing ones trained together by :func:`train_ensemble`.

    Runs already trained in this process or present in ``cache`` are reused; the others (which
    must share :meth:`EnsembleConfig.ensemble_key`) are trained as one ensemble and stored under
    the same keys as :func:`trained` would store them, so both routes share every model.
    """
    todo = [c for c in dict.fromkeys(configs) if not _TRAINED.known(c)]
    if cache is not None:
        for c in list(todo):
            path = cache.path("train", c)
            if path is not None and path.exists():
                trained(c, cache)
                todo.remove(c)
    if todo:
        keys = {c.ensemble_key() for c in todo}
        if len(keys) > 1:
            raise ValueError(f"ensemble members must differ only in their seeds; got {len(keys)} different runs")
        hypers = [c.hyper() for c in todo]
        h = hypers[0]
        results = train_ensemble(
            [c.build_model() for c in todo],
            [c.draw() for c in todo],
            todo[0].batch_loss(),
            steps=h.steps,
            seeds=[list(x.seed) for x in hypers],
            lr=h.lr,
            optimizer=h.optimizer,
            weight_decay=h.weight_decay,
            ema=h.ema,
            clip=h.clip,
            device=device,
            checkpoints=h.checkpoints,
            progress=progress,
            stacked_loss=getattr(todo[0], "stacked_batch_loss", lambda: None)(),
        )
        for c, r in zip(todo, results):
            _TRAINED.get_or_compute("train", c, lambda r=r: r, cache)
    return [_TRAINED.recall(c) for c in configs]


def ensemble_task(configs: list[Any], cache: DiskCache | None = None) -> list[TrainResult]:
    """Module-level sweep task (picklable): one seed ensemble."""
    return trained_ensemble(configs, cache)


def train_ensembles(
    groups: list[list[Any]], executor: Any = None, cache: DiskCache | None = None
) -> list[list[TrainResult]]:
    """:func:`trained_ensemble` of each group (one arm: its seeds), the groups through ``executor``.

    Groups whose runs are all trained in this process are answered without the executor; the
    results of the others are remembered in this process as :func:`train_many` does.
    """
    from numerics.executor import sweep

    todo = [g for g in groups if any(not _TRAINED.known(c) for c in g)]
    for g, rs in zip(todo, sweep(executor, ensemble_task, [{"configs": g, "cache": cache} for g in todo])):
        for c, r in zip(g, rs):
            _TRAINED.remember(c, r)
    return [[_TRAINED.recall(c) for c in g] for g in groups]
