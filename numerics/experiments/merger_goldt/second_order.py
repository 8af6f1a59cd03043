"""Measurement of ``merger-goldt/kl-second-order``: white sample covariances and their KLs (spec §2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import Measurement, RunSpec, Sizes, Tier, measured
from numerics.experiments.merger_goldt._shared import row
from theory import linear_diffusion as sym


@dataclass(frozen=True)
class SecondOrderSizes(Sizes):
    d: int = 50
    ns: tuple[int, ...] = (500, 5000)
    draws: int = 2000
    # "data": S = Z'Z/N from a white data matrix per draw (the spec's protocol);
    # "bartlett": the same Wishart law drawn by the Bartlett decomposition (O(d^3) per draw).
    sampling: str = "data"


KL_SECOND_ORDER = Tier(
    "merger-goldt/kl-second-order",
    fast=SecondOrderSizes(sampling="bartlett"),
    spec=SecondOrderSizes(),
    section=row("kl-second-order", "§2"),
)


@dataclass(frozen=True)
class SecondOrder(Measurement):
    r""":math:`\operatorname{tr}(S-I)^2` and the KLs of :math:`\mathcal N(0,S)` vs :math:`\mathcal N(0,I)` per draw, per N."""

    ns: tuple[int, ...]
    d: int
    tr2: np.ndarray  # (N, draws)
    kl_forward: np.ndarray  # (N, draws)
    kl_reverse: np.ndarray  # (N, draws)

    def ratio(self, direction: str) -> np.ndarray:
        r""":math:`\mathbb E D_{\rm KL}/\frac{d(d+1)}{4N}` per N."""
        kl = self.kl_forward if direction == "forward" else self.kl_reverse
        return kl.mean(axis=1) / (self.d * (self.d + 1) / (4 * np.asarray(self.ns, dtype=float)))


def second_order(run: RunSpec, kl_mode: Callable[[np.ndarray], np.ndarray] | None = None) -> SecondOrder:
    r"""White sample covariances (known mean, seed 66) and their KLs by the per-mode form ``kl_mode(r)``.

    Default ``kl_mode``: :math:`\frac12(r-1-\ln r)` of :mod:`theory.linear_diffusion`; forward with
    :math:`r=\mathrm{eig}(S)`, reverse with :math:`1/\mathrm{eig}(S)`. The eigenvalues are memoised.
    """
    sz = run.sizes(KL_SECOND_ORDER)
    kl_mode = kl_mode or sym.kl_mode()

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        seed = [*run.seed_list(66), n]
        if sz.sampling == "bartlett":
            s_mats = ld.wishart_white_covariance(sz.d, n, sz.draws, seed)
        elif sz.sampling == "data":
            rng = np.random.default_rng(seed)
            s_mats = np.empty((sz.draws, sz.d, sz.d))
            for b in range(sz.draws):
                z = rng.standard_normal((n, sz.d))
                s_mats[b] = z.T @ z / n
        else:
            raise ValueError(f"sampling must be 'bartlett' or 'data', got {sz.sampling!r}")
        dev = s_mats - np.eye(sz.d)
        return np.einsum("bij,bij->b", dev, dev), np.linalg.eigvalsh(s_mats)

    drawn = measured(
        run, "merger-goldt/wishart-draws", {"sizes": sz, "seed": run.seed_for(66)}, lambda: [draw(n) for n in sz.ns]
    )
    tr2 = np.array([t for t, _ in drawn])
    eig = np.array([e for _, e in drawn])
    return SecondOrder(
        sz.ns,
        sz.d,
        tr2,
        kl_mode(eig).sum(axis=-1),
        kl_mode(1 / eig).sum(axis=-1),
        seeds={"draws": run.seed_for(66)},
        sizes=sz,
    )
