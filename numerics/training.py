"""The compact training loop shared by every learned-model check of the suite.

One loop for all papers: seeded, CUDA when present else CPU, Adam/AdamW, optional EMA and
gradient clipping, a progress callback, the loss history returned, checkpoints at chosen steps,
and an optional on-disk cache keyed by the training parameters (so figures and checks that
need the same model train it once). The objective is a callable, so conditional flow matching,
coupled (multisample) flow matching, teacher–student regression and denoising all plug in.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from numerics.cache import DiskCache


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
    cache: DiskCache | None = None,
    cache_key: dict[str, Any] | None = None,
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
    cache, cache_key : optional
        With both, the result is stored in / loaded from the disk cache under ``cache_key``.

    Returns
    -------
    TrainResult
        The trained model on CPU, the loss history (float64, one entry per step), checkpoints.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if optimizer not in ("adam", "adamw"):
        raise ValueError(f"optimizer must be 'adam' or 'adamw', got {optimizer!r}")
    ckpt_steps = sorted(set(int(s) for s in checkpoints))
    if any(s < 0 or s > steps for s in ckpt_steps):
        raise ValueError(f"checkpoint steps must lie in [0, {steps}], got {ckpt_steps}")
    hyper = dict(steps=steps, lr=lr, optimizer=optimizer, weight_decay=weight_decay, ema=ema, clip=clip, seed=seed)
    if cache is not None and cache_key is not None:
        return cache.get_or_compute(
            "train",
            dict(cache_key, **hyper, checkpoints=ckpt_steps),
            lambda: train(model, loss_fn, **hyper, device=device, checkpoints=ckpt_steps, progress=progress),
        )

    dev = torch.device(device) if device is not None else default_device()
    model = model.to(dev)
    gen = torch_generator(seed, dev)
    opt_cls = torch.optim.Adam if optimizer == "adam" else torch.optim.AdamW
    opt = opt_cls(model.parameters(), lr=lr, weight_decay=weight_decay)
    ema_model = copy.deepcopy(model).requires_grad_(False) if ema is not None else None
    evaluated = ema_model if ema_model is not None else model
    losses = np.empty(steps, dtype=np.float64)
    saved: dict[int, dict[str, torch.Tensor]] = {}
    if 0 in ckpt_steps:
        saved[0] = _cpu_state(evaluated)
    every = max(steps // 100, 1)
    t0 = time.perf_counter()
    for step in range(1, steps + 1):
        loss = loss_fn(model, step, gen)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training loss is {loss.item()} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if ema_model is not None:
            with torch.no_grad():
                for pe, p in zip(ema_model.parameters(), model.parameters()):
                    pe.lerp_(p, 1.0 - ema)
        losses[step - 1] = loss.item()
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
    tt = t.reshape(-1, *([1] * (x0.ndim - 1)))
    xt = (1.0 - (1.0 - sigma_min) * tt) * x0 + tt * x1
    target = x1 - (1.0 - sigma_min) * x0
    return ((model(xt, t) - target) ** 2).sum(dim=tuple(range(1, x0.ndim))).mean()
