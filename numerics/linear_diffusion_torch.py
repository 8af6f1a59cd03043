r"""PyTorch training of linear and small nonlinear denoisers for the linear-diffusion checks.

- :func:`closed_form_loss`: the noise-averaged loss per step,
  :math:`L_t(W)=\operatorname{tr}[I-2\sqrt{1-\bar\alpha_t}W+W\hat C_tW^\top]+\lambda\|W\|_F^2`;
- :func:`gradient_descent_closed_form`: full-batch gradient descent on it (autograd, float64),
  batched over independent problems;
- :func:`train_linear_denoiser`: Adam on the *sampled* loss (fresh noise every step) through the
  shared loop :func:`numerics.training.train`;
- :func:`ddpm_objective`: the DDPM objective for an MLP :math:`\epsilon_\theta([x_t,\mathrm{emb}(t)])`
  (:func:`make_mlp_denoiser`), trained with the same loop, and :func:`mlp_eps_fn` to sample from
  it with :func:`numerics.linear_diffusion.ddpm_sample`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from numerics.linear_diffusion import Schedule
from numerics.nets import VelocityMLP
from numerics.training import TrainResult, check_train_controls, default_device, torch_generator, train
from theory.validation import check_range, dense_guard, integer, real_array, real_scalar


def closed_form_loss(w: torch.Tensor, c_hat: torch.Tensor, s: torch.Tensor, ridge: torch.Tensor) -> torch.Tensor:
    r"""Sum over a batch of :math:`\operatorname{tr}[I-2\sqrt{s}\,W+W\hat CW^\top]+\lambda\|W\|_F^2`.

    Shapes: ``w``, ``c_hat`` ``(B, d, d)``; ``s``, ``ridge`` ``(B,)``; real floating tensors.
    """
    for name, v in (("w", w), ("c_hat", c_hat), ("s", s), ("ridge", ridge)):
        if not v.dtype.is_floating_point:
            raise TypeError(f"{name} must be a real floating tensor, got dtype {v.dtype}")
    d = w.shape[-1]
    tr_w = torch.diagonal(w, dim1=-2, dim2=-1).sum(-1)
    quad = ((w @ c_hat) * w).sum((-2, -1))
    return (d - 2.0 * torch.sqrt(s) * tr_w + quad + ridge * (w * w).sum((-2, -1))).sum()


@dataclass
class GDResult:
    """Outcome of :func:`gradient_descent_closed_form`."""

    weights: np.ndarray
    steps: int
    grad_norm: np.ndarray


def gradient_descent_closed_form(
    c_hat: np.ndarray,
    s: np.ndarray,
    ridge: np.ndarray,
    lr: np.ndarray | float,
    steps: int | None = None,
    grad_tol: float | None = None,
    max_steps: int = 2_000_000,
    momentum: np.ndarray | float = 0.0,
    init: np.ndarray | None = None,
) -> GDResult:
    r"""Full-batch gradient descent :math:`W\leftarrow W-\eta\nabla_WL_t(W)` from :math:`W=0` or ``init`` (float64 autograd).

    Runs ``steps`` steps, or until every problem's gradient norm is below ``grad_tol``. ``lr``
    may differ per problem (shape ``(B,)``). ``momentum`` :math:`m>0` gives Polyak's heavy ball,
    :math:`V\leftarrow mV-\eta\nabla L`, :math:`W\leftarrow W+V`, which needs
    :math:`O(\sqrt\kappa)` instead of :math:`O(\kappa)` steps on ill-conditioned problems.

    Raises
    ------
    TypeError
        Complex or non-numeric input.
    ValueError
        Before any work: not exactly one of ``steps`` and ``grad_tol``, ``c_hat`` not a finite
        ``(d, d)`` or ``(B, d, d)`` array, ``s`` outside (0, 1], ``ridge`` not finite and >= 0,
        ``lr`` not positive and finite, ``steps`` not an integer >= 0, ``grad_tol`` not positive
        and finite, ``max_steps`` not an integer >= 1, ``momentum`` outside [0, 1), ``init`` of
        the wrong size, or per-problem arrays that do not broadcast to ``(B,)``.
    DenseSizeError
        If the ``(B, d, d)`` iterates and their gradients exceed the dense cap.
    """
    if (steps is None) == (grad_tol is None):
        raise ValueError("give exactly one of steps and grad_tol")
    c_arr = real_array(c_hat, "c_hat", ndim=(2, 3))
    if c_arr.shape[-1] != c_arr.shape[-2] or c_arr.shape[-1] == 0:
        raise ValueError(f"c_hat must be square, got shape {c_arr.shape}")
    b, d = (1 if c_arr.ndim == 2 else c_arr.shape[0]), c_arr.shape[-1]
    dense_guard((b, d, d), "gradient-descent iterates", copies=6)

    def per_problem(v: np.ndarray | float, name: str, lo: float, hi: float | None = None, **open_ends) -> np.ndarray:
        arr = real_array(v, name)
        check_range(arr, name, lo, hi, **open_ends)
        try:
            return np.broadcast_to(arr, (b,)).copy()
        except ValueError:
            raise ValueError(f"{name} of shape {arr.shape} does not broadcast to the {b} problems") from None

    s_b = per_problem(s, "s", 0.0, 1.0, lo_open=True)
    ridge_b = per_problem(ridge, "ridge", 0.0)
    lr_b = per_problem(lr, "lr", 0.0, lo_open=True)
    mom_b = per_problem(momentum, "momentum", 0.0, 1.0, hi_open=True)
    if steps is not None:
        steps = integer(steps, "steps", 0)
    else:
        grad_tol = real_scalar(grad_tol, "grad_tol", 0.0, lo_open=True)
    max_steps = integer(max_steps, "max_steps", 1)
    if init is not None:
        init = real_array(init, "init")
        if init.size != b * d * d:
            raise ValueError(f"init must hold {b} x {d} x {d} entries, got shape {init.shape}")
    ch = torch.as_tensor(c_arr)
    if ch.ndim == 2:
        ch = ch[None]
    st = torch.as_tensor(s_b)
    rg = torch.as_tensor(ridge_b)
    eta = torch.as_tensor(lr_b)[:, None, None]
    mom = torch.as_tensor(mom_b)[:, None, None]
    w0 = np.zeros((b, d, d)) if init is None else init.reshape(b, d, d)
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    vel = torch.zeros((b, d, d), dtype=torch.float64)
    limit = steps if steps is not None else max_steps
    gnorm = torch.full((b,), np.inf, dtype=torch.float64)
    n = 0
    for n in range(1, limit + 1):
        loss = closed_form_loss(w, ch, st, rg)
        (grad,) = torch.autograd.grad(loss, w)
        with torch.no_grad():
            vel = mom * vel - eta * grad
            w += vel
        # Checking every 64 steps costs at most 63 extra (harmless) steps past the tolerance.
        if grad_tol is not None and n % 64 == 0:
            gnorm = torch.linalg.matrix_norm(grad)
            if bool(torch.all(gnorm < grad_tol)):
                break
    loss = closed_form_loss(w, ch, st, rg)
    (grad,) = torch.autograd.grad(loss, w)
    return GDResult(w.detach().numpy().copy(), n, torch.linalg.matrix_norm(grad).numpy())


class LinearDenoiser(nn.Module):
    r"""Centred linear denoiser of one step, :math:`\epsilon_\theta(x_t)=W(x_t-\sqrt{\bar\alpha_t}\hat\mu)+c`, started at 0."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(d, d))
        self.bias = nn.Parameter(torch.zeros(d))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y @ self.weight.T + self.bias


def train_linear_denoiser(
    x: np.ndarray,
    schedule: Schedule,
    t: int,
    ridge: float = 0.0,
    steps: int = 20_000,
    lr: float = 1e-3,
    noises_per_step: int = 4096,
    seed: int | list[int] = 0,
    ema: float | None = None,
    device: torch.device | str | None = None,
) -> tuple[np.ndarray, TrainResult]:
    r"""Adam on the sampled loss :math:`\|\epsilon-W(x_t-\sqrt{\bar\alpha_t}\hat\mu)-c\|^2+\lambda\|W\|_F^2`.

    Every step uses the full training set, each point repeated equally often, with fresh noise
    (at least ``noises_per_step`` noises in all), so the minibatch loss is an unbiased estimate
    of the empirical noise-averaged loss. Returns the learned :math:`W` (float64) and the run.

    Raises
    ------
    TypeError
        Complex or non-numeric input, ``schedule`` not a :class:`~numerics.linear_diffusion.Schedule`.
    ValueError
        Before any work: ``x`` not a finite ``(N, d)`` array with ``N, d >= 1``, ``t`` not an
        integer step of the schedule, ``ridge`` not finite and >= 0, ``noises_per_step`` not an
        integer >= 1, or a bad control of :func:`numerics.training.train` (``steps``, ``lr``, ``ema``).
    """
    x = real_array(x, "training set", ndim=2)
    n, d = x.shape
    if n < 1 or d < 1:
        raise ValueError(f"training set must be an (N, d) array with N, d >= 1, got shape {x.shape}")
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
    t = integer(t, "step t", 1, schedule.T)
    ridge = real_scalar(ridge, "ridge", 0.0)
    noises_per_step = integer(noises_per_step, "noises_per_step", 1)
    dense_guard((int(np.ceil(noises_per_step / n)) * n, d), "tiled training set", itemsize=4, copies=4)
    check_train_controls(steps=steps, lr=lr, ema=ema)
    dev = torch.device(device) if device is not None else default_device()
    ab, s = float(schedule.abar[t - 1]), float(schedule.one_minus_abar[t - 1])
    mu = x.mean(axis=0)
    reps = int(np.ceil(noises_per_step / n))
    x0 = torch.as_tensor(np.tile(x, (reps, 1)), dtype=torch.float32, device=dev)
    shift = torch.as_tensor(np.sqrt(ab) * mu, dtype=torch.float32, device=dev)

    def loss_fn(model: nn.Module, step: int, gen: torch.Generator) -> torch.Tensor:
        eps = torch.randn(x0.shape, generator=gen, device=dev)
        xt = np.sqrt(ab) * x0 + np.sqrt(s) * eps
        res = eps - model(xt - shift)
        return (res * res).sum(-1).mean() + ridge * (model.weight**2).sum()

    model = LinearDenoiser(d)
    result = train(model, loss_fn, steps=steps, lr=lr, seed=seed, device=dev, ema=ema)
    return result.model.weight.detach().double().numpy(), result


def make_mlp_denoiser(
    d: int, width: int = 256, depth: int = 3, time_embedding: int = 32, seed: int | list[int] = 0
) -> nn.Module:
    """MLP :math:`\\epsilon_\\theta([x_t,\\mathrm{emb}(t)])` (SiLU, sinusoidal time features), seeded init."""
    d, width, depth = integer(d, "d", 1), integer(width, "width", 1), integer(depth, "depth", 1)
    time_embedding = integer(time_embedding, "time_embedding", 0)
    return VelocityMLP(d, width=width, depth=depth, time_embedding=time_embedding, init_seed=seed)


def ddpm_objective(x: np.ndarray, schedule: Schedule, batch: int = 256) -> Callable[..., torch.Tensor]:
    r"""The DDPM objective :math:`\mathbb E_{t,x_0,\epsilon}\|\epsilon-\epsilon_\theta(x_t,t)\|^2` on the rows of ``x``.

    Each call draws ``batch`` training points, steps :math:`t` uniform on :math:`1..T` and noises
    from the loop's generator (on the training device), with
    :math:`x_t=\sqrt{\bar\alpha_t}x_0+\sqrt{1-\bar\alpha_t}\epsilon`.
    """
    x = real_array(x, "training set", finite=False)
    if x.ndim != 2 or x.shape[0] < 1 or not np.all(np.isfinite(x)):
        raise ValueError(f"training set must be a finite (N, d) array with N >= 1, got shape {x.shape}")
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
    batch = integer(batch, "batch", 1)
    n, d = x.shape
    on_device: dict[str, tuple[torch.Tensor, ...]] = {}

    def tensors(dev: torch.device) -> tuple[torch.Tensor, ...]:
        if str(dev) not in on_device:
            on_device[str(dev)] = (
                torch.as_tensor(x, dtype=torch.float32, device=dev),
                torch.as_tensor(np.sqrt(schedule.abar), dtype=torch.float32, device=dev),
                torch.as_tensor(np.sqrt(schedule.one_minus_abar), dtype=torch.float32, device=dev),
            )
        return on_device[str(dev)]

    def loss_fn(model: nn.Module, step: int, gen: torch.Generator) -> torch.Tensor:
        dev = gen.device
        data, sab, ssm = tensors(dev)
        idx = torch.randint(0, n, (batch,), generator=gen, device=dev)
        ti = torch.randint(0, schedule.T, (batch,), generator=gen, device=dev)
        eps = torch.randn((batch, d), generator=gen, device=dev)
        xt = sab[ti, None] * data[idx] + ssm[ti, None] * eps
        res = eps - model(xt, (ti + 1).float())
        return (res * res).sum(-1).mean()

    return loss_fn


def mlp_eps_fn(model: nn.Module, batch: int = 65536):
    """``eps_fn(u, t)`` for :func:`numerics.linear_diffusion.ddpm_sample` (float32 forward, float64 state)."""
    batch = integer(batch, "batch", 1)
    model = model.eval().to("cpu")

    def eps(u: np.ndarray, t: int) -> np.ndarray:
        out = np.empty_like(u)
        with torch.no_grad():
            for i in range(0, u.shape[0], batch):
                xb = torch.as_tensor(u[i : i + batch], dtype=torch.float32)
                out[i : i + batch] = model(xb, float(t)).double().numpy()
        return out

    return eps


__all__ = [
    "GDResult",
    "LinearDenoiser",
    "closed_form_loss",
    "ddpm_objective",
    "gradient_descent_closed_form",
    "make_mlp_denoiser",
    "mlp_eps_fn",
    "torch_generator",
    "train_linear_denoiser",
]
