"""Fixed-step solvers for learned fields (training-time monitoring, few-step sampling).

Fields are callables ``v(x, t)`` on batches; the state is kept in float64 (spec convention:
float32 model evaluation is allowed, the state is float64).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import torch

Field = Callable[[np.ndarray, float], np.ndarray]


def torch_field(model: torch.nn.Module, dtype: torch.dtype | None = None) -> Field:
    """Adapter: a torch module ``model(x, t)`` as a NumPy float64 field (no gradients)."""
    p = next(model.parameters(), None)
    dev = p.device if p is not None else torch.device("cpu")
    dt = dtype or (p.dtype if p is not None else torch.float32)

    def v(x: np.ndarray, t: float) -> np.ndarray:
        with torch.no_grad():
            xt = torch.as_tensor(x, dtype=dt, device=dev)
            return model(xt, torch.full((xt.shape[0],), float(t), dtype=dt, device=dev)).double().cpu().numpy()

    return v


def _grid(t0: float, t1: float, steps: int) -> np.ndarray:
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    return np.linspace(t0, t1, steps + 1)


def euler(v: Field, x0: np.ndarray, steps: int, t0: float = 0.0, t1: float = 1.0) -> np.ndarray:
    """Euler with ``steps`` equal steps (NFE = steps)."""
    x = np.array(x0, dtype=np.float64)
    ts = _grid(t0, t1, steps)
    for a, b in itertools.pairwise(ts):
        x = x + (b - a) * v(x, a)
    return x


def rk4(
    v: Field, x0: np.ndarray, steps: int, t0: float = 0.0, t1: float = 1.0, return_path: bool = False
) -> np.ndarray:
    """Classical RK4 with ``steps`` equal steps (NFE = 4 steps); optionally the whole path."""
    x = np.array(x0, dtype=np.float64)
    ts = _grid(t0, t1, steps)
    path = [x.copy()] if return_path else None
    for a, b in itertools.pairwise(ts):
        h = b - a
        k1 = v(x, a)
        k2 = v(x + 0.5 * h * k1, a + 0.5 * h)
        k3 = v(x + 0.5 * h * k2, a + 0.5 * h)
        k4 = v(x + h * k3, b)
        x = x + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
        if path is not None:
            path.append(x.copy())
    return np.stack(path) if path is not None else x
