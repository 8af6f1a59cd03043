r"""Small PyTorch networks shared by the learned-model checks.

- :class:`VelocityMLP`: a field :math:`v(x,t)` with input :math:`[x,t]` (or sinusoidal time features);
- :class:`OSDNet`: a field split along the sample data subspace (Gao & Li), with a learned,
  exact or isotropic off-subspace head;
- :func:`seeded_init_`: PyTorch's default initialisation redrawn from a seeded generator;
- :func:`as_float64`: an evaluation copy in float64 on a chosen device;
- :func:`stack_checkpoints`: ``K`` checkpoints of one model evaluated as one batched module.

Every field takes states with any leading shape, ``x`` of shape ``(..., d)``, and a time that is a
scalar or one value per state (broadcast against ``x.shape[:-1]``), so a stack of checkpoints
evaluates states of shape ``(K, M, d)`` with the same code.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from numerics.paths import CondOTPath


def seeded_init_(module: nn.Module, seed: int | Sequence[int]) -> nn.Module:
    """Re-initialise every ``nn.Linear`` of ``module`` from its own seeded generator (PyTorch's
    default uniform ranges), so that initialisation never touches the global RNG."""
    from numerics.training import torch_generator

    gen = torch_generator(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.in_features)
                m.weight.uniform_(-bound, bound, generator=gen)
                if m.bias is not None:
                    m.bias.uniform_(-bound, bound, generator=gen)
    return module


class SinusoidalTimeEmbedding(nn.Module):
    """Fixed sinusoidal features of a scalar time, ``dim`` even."""

    def __init__(self, dim: int, max_period: float = 1000.0) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f"time-embedding dimension must be even, got {dim}")
        freqs = torch.exp(-math.log(max_period) * torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))
        self.register_buffer("freqs", freqs)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        arg = t[..., None].to(self.freqs.dtype) * self.freqs
        return torch.cat([torch.cos(arg), torch.sin(arg)], dim=-1)


def times_like(t: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
    """``t`` (a scalar or one time per state) as a tensor of shape ``x.shape[:-1]``."""
    return torch.as_tensor(t, dtype=x.dtype, device=x.device).expand(x.shape[:-1])


class VelocityMLP(nn.Module):
    """MLP field ``v(x, t)`` with input ``[x, t]`` (or ``[x, emb(t)]``), SiLU activations.

    Parameters
    ----------
    dim : int
        Data dimension (input and output).
    width, depth : int
        Hidden width and number of hidden layers (spec default 256 and 3).
    time_embedding : int
        0 feeds ``t`` as one extra input; an even number uses sinusoidal features of that size.
    init_seed : int, optional
        Seed of the initialisation (:func:`seeded_init_`); ``None`` keeps PyTorch's global RNG.
    """

    def __init__(
        self,
        dim: int,
        width: int = 256,
        depth: int = 3,
        time_embedding: int = 0,
        init_seed: int | Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if dim < 1 or width < 1 or depth < 1:
            raise ValueError(f"dim, width and depth must be positive, got {dim}, {width}, {depth}")
        self.dim = dim
        self.embed = SinusoidalTimeEmbedding(time_embedding) if time_embedding else None
        n_in = dim + (time_embedding or 1)
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(n_in, width), nn.SiLU()]
            n_in = width
        layers.append(nn.Linear(n_in, dim))
        self.net = nn.Sequential(*layers)
        if init_seed is not None:
            seeded_init_(self, init_seed)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        tt = times_like(t, x)
        tf = self.embed(tt).to(x.dtype) if self.embed is not None else tt[..., None]
        return self.net(torch.cat([x, tf], dim=-1))

    def stacked_forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """:meth:`forward` of ``S`` members of this architecture at once, from their stacked parameters.

        ``params[name]`` holds the members' tensors of ``name`` along a first axis of size ``S``;
        ``x`` is ``(S, B, dim)`` and ``t`` is ``(S, B)``. Each layer is one batched product
        (``baddbmm``) for all members, the product ``torch.func.vmap`` of :meth:`forward` computes
        (the same numbers, without the per-operation cost of ``vmap``).
        """
        tf = self.embed(t).to(x.dtype) if self.embed is not None else t[..., None]
        h = torch.cat([x, tf], dim=-1)
        for i, layer in enumerate(self.net):
            if isinstance(layer, nn.Linear):
                h = torch.baddbmm(params[f"net.{i}.bias"][:, None, :], h, params[f"net.{i}.weight"].transpose(1, 2))
            else:
                h = layer(h)
        return h


OFF_HEADS = ("learned", "exact", "isotropic")


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
        return self.net(t[..., None])[..., 0]


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
        self.path = CondOTPath(self.sigma_min)
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
        t = times_like(t, x)
        inside = self.f(x @ u, t) @ u.T
        if self.off_head == "learned":
            gx = self.g(x, t)
            return inside, gx - (gx @ u) @ u.T
        x_off = x - (x @ u) @ u.T
        if self.off_head == "isotropic":
            off = self.g(t)[..., None] * x_off
        else:
            off = -(1.0 - self.sigma_min) * x_off / self.path.sigma(t)[..., None]
        return inside, off

    def forward(self, x: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        inside, off = self.split(x, t)
        return inside + off


def with_exact_off_head(model: OSDNet, sigma_min: float | None = None) -> OSDNet:
    """A copy of ``model`` with the same subspace head and the closed-form off-subspace head.

    ``sigma_min`` builds the head with another :math:`\\sigma_{\\min}` than the model's (a
    deliberately wrong head for negative controls).
    """
    if not isinstance(model, OSDNet):
        raise ValueError(f"need an OSDNet, got {type(model).__name__}")
    out = copy.deepcopy(model)
    out.g = None
    out.off_head = "exact"
    if sigma_min is not None:
        out.sigma_min = float(sigma_min)
        out.path = CondOTPath(out.sigma_min)
    return out


def as_float64(model: nn.Module, device: torch.device | str = "cpu") -> nn.Module:
    """An evaluation copy in float64 on ``device`` (evaluation keeps the state in float64)."""
    return copy.deepcopy(model).to(device).double().eval().requires_grad_(False)


class StackedLinear(nn.Module):
    """``K`` affine maps of one shape applied to ``K`` batches: ``(K, ..., in) -> (K, ..., out)``.

    One batched product (``torch.baddbmm``) for the ``K`` checkpoints of a layer.
    """

    def __init__(self, weights: torch.Tensor, biases: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("weight_t", weights.transpose(1, 2).contiguous())
        self.register_buffer("bias", biases[:, None, :].contiguous())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.weight_t.shape[0]
        if x.shape[0] != k:
            raise ValueError(f"states must have leading dimension {k} (one batch per checkpoint), got {tuple(x.shape)}")
        flat = torch.baddbmm(self.bias, x.reshape(k, -1, x.shape[-1]), self.weight_t)
        return flat.reshape(*x.shape[:-1], flat.shape[-1])


def stack_checkpoints(
    model: nn.Module, states: Sequence[dict[str, torch.Tensor]], device: torch.device | str = "cpu"
) -> nn.Module:
    """One float64 module that evaluates ``K`` checkpoints of ``model`` at once.

    Every ``nn.Linear`` of a float64 copy of ``model`` is replaced by a :class:`StackedLinear`
    holding the ``K`` checkpoints' weights; activations, projections and closed-form heads act
    elementwise or on the last axis, so the stacked module maps states ``(K, M, d)`` (and a
    time that is a scalar or broadcasts against ``(K, M)``) to velocities ``(K, M, d)``, checkpoint
    ``k`` evaluated on batch ``k``. The number of checkpoints is the attribute ``stack_size``.

    Raises
    ------
    ValueError
        If ``states`` is empty, if a state lacks a weight of ``model``, if the checkpoints differ
        in a buffer (e.g. the subspace basis), or if ``model`` has parameters outside ``nn.Linear``
        layers.
    """
    if not states:
        raise ValueError("need at least one checkpoint state")
    out = as_float64(model, device)
    linear = {name for name, m in out.named_modules() if isinstance(m, nn.Linear)}
    loose = [n for n, _ in out.named_parameters() if n.rpartition(".")[0] not in linear]
    if loose:
        raise ValueError(f"cannot stack parameters outside nn.Linear layers: {loose}")
    for name, buf in out.named_buffers():
        if any(not torch.equal(s[name].to(buf.dtype).cpu(), states[0][name].to(buf.dtype).cpu()) for s in states):
            raise ValueError(f"the checkpoints differ in buffer {name!r}; they are not one model")
    for name in linear:
        parent, _, child = name.rpartition(".")

        weights = torch.stack([s[f"{name}.weight"] for s in states]).to(device=device, dtype=torch.float64)
        biases = torch.stack([s[f"{name}.bias"] for s in states]).to(device=device, dtype=torch.float64)
        setattr(out.get_submodule(parent), child, StackedLinear(weights, biases))
    out.stack_size = len(states)
    return out
