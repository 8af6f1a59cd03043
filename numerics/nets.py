"""Small PyTorch networks shared by the learned-model checks."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


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
        arg = t.reshape(-1, 1).to(self.freqs.dtype) * self.freqs
        return torch.cat([torch.cos(arg), torch.sin(arg)], dim=-1)


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
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        tf = self.embed(t).to(x.dtype) if self.embed is not None else t.reshape(-1, 1)
        return self.net(torch.cat([x, tf], dim=-1))
