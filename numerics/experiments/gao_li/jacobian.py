r"""The Jacobian of the optimal field (claim ``gao-li/jacobian``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from numerics.datasets import dataset
from numerics.empirical_field import (
    optimal_velocity_torch,
    posterior_weights,
)
from numerics.experiments import Measurement, RunSpec, Tier
from numerics.experiments.gao_li._shared import SIGMA_MINS, PointsSizes, is_zero, spec_row
from numerics.paths import CondOTPath
from numerics.subspace import subspace_basis
from theory import flow_matching as th

JACOBIAN = Tier.same("gao-li/jacobian", PointsSizes(points=200), spec_row("jacobian"))


def jacobian_formula(w: np.ndarray, data: np.ndarray, t: float, sigma_min: float) -> np.ndarray:
    r"""Fact (d): :math:`\sigma_t^{-1}[t\sigma_t^{-2}\mathrm{Cov}_w-(1-\sigma_{\min})I]` for weights ``w`` (N,)."""
    mean = w @ data
    cov = (data - mean).T @ (w[:, None] * (data - mean))
    sig = float(CondOTPath(sigma_min).sigma(t))
    return (t / sig**2 * cov - (1.0 - sigma_min) * np.eye(data.shape[1])) / sig


@dataclass(frozen=True)
class Jacobian(Measurement):
    """Per sigma_min: max relative Frobenius error autograd vs formula, asymmetry, off-subspace restriction error."""

    rel_error: np.ndarray
    asymmetry: np.ndarray
    off_restriction: np.ndarray
    symbolic_zero: bool


def jacobian(run: RunSpec, formula: Callable[..., np.ndarray] = jacobian_formula) -> Jacobian:
    """Reverse-mode autograd (float64) Jacobians of the torch field on ``sparse-d20`` against ``formula``.

    The off-subspace restriction uses an orthonormal complement of the span (complete QR).
    """
    n = run.sizes(JACOBIAN).points
    data = dataset("sparse-d20")
    sub = subspace_basis(data)
    off_basis = np.linalg.qr(sub.basis, mode="complete")[0][:, sub.rank :]
    rng = run.rng(19)
    yt = torch.tensor(data, dtype=torch.float64)
    rel, asym, off = [], [], []
    for smin in SIGMA_MINS:
        x = rng.standard_normal((n, 20))
        ts = rng.uniform(0.0, 0.99, n)
        # Rows are independent: d/dx of sum_m v_k(x_m) holds row k of every Jacobian, so d
        # reverse passes give all n Jacobians.
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        vt = optimal_velocity_torch(xt, torch.tensor(ts, dtype=torch.float64), yt, smin)
        jacs = torch.stack([torch.autograd.grad(vt[:, k].sum(), xt, retain_graph=True)[0] for k in range(20)], 1)
        jacs = jacs.numpy()
        sig = CondOTPath(smin).sigma(ts)
        r_, a_, o_ = 0.0, 0.0, 0.0
        for i in range(n):
            w = posterior_weights(x[i], float(ts[i]), data, smin)
            jac, ref = jacs[i], formula(w, data, float(ts[i]), smin)
            r_ = max(r_, float(np.linalg.norm(jac - ref) / np.linalg.norm(ref)))
            a_ = max(a_, float(np.linalg.norm(jac - jac.T) / np.linalg.norm(jac)))
            restr = off_basis.T @ jac @ off_basis
            o_ = max(o_, float(np.abs(restr + (1 - smin) / sig[i] * np.eye(off_basis.shape[1])).max() * sig[i]))
        rel.append(r_)
        asym.append(a_)
        off.append(o_)
    return Jacobian(
        np.array(rel),
        np.array(asym),
        np.array(off),
        is_zero(th.jacobian_identity()["residual"]),
        seeds={"points": run.seed_for(19)},
        sizes=run.sizes(JACOBIAN),
        settings={"autograd": "reverse mode, float64"},
    )
