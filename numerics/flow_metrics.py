r"""Metrics of a flow, in one place (spec ``mfm.md`` §1.4, §3): transport cost, kinetic energy,
straightness, path length, few-step consistency, the variance proxy of a trained field and the
variance of its minibatch gradient.

For a field :math:`v` with flow :math:`\psi` started at :math:`x_0\sim q_0`:

.. math::

    C(\psi_1)=\mathbb E\|\psi_1(x_0)-x_0\|^2,\qquad
    \mathrm{KE}=\int_0^1\mathbb E\|v_t(\psi_t(x_0))\|^2dt,\qquad
    S=\int_0^1\mathbb E\|v_t(\psi_t(x_0))-(\psi_1(x_0)-x_0)\|^2dt=\mathrm{KE}-C(\psi_1).

The state is integrated with classical RK4 (float64 state) and the kinetic energy is carried as
an extra ODE component; :math:`S` (Eq. 18 form) and a second KE are Simpson integrals of the
velocities at the grid nodes, accumulated along the path with the Simpson weights (memory
:math:`O(nd)`, no path is stored). Their agreement, and a step-halving (Richardson) estimate,
state the integration accuracy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from numerics.integrators import euler, rk4, rk4_nodes
from theory.validation import integer, real_array

Field = Callable[[np.ndarray, float], np.ndarray]


def as_numpy_field(velocity: Any) -> Field:
    """A NumPy float64 field ``v(x, t)`` from a NumPy callable or a torch module ``model(x, t)``."""
    try:
        import torch

        if isinstance(velocity, torch.nn.Module):
            from numerics.integrators import torch_field

            return torch_field(velocity)
    except ImportError:  # torch is optional for exact fields
        pass
    if not callable(velocity):
        raise ValueError(f"velocity must be callable, got {type(velocity).__name__}")

    def v(x: np.ndarray, t: float) -> np.ndarray:
        return real_array(velocity(x, t), "velocity output", finite=False)

    return v


def _check_x0(x0: Any) -> np.ndarray:
    x = real_array(x0, "x0")
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x0 must have shape (n, d) with n >= 1, got {x.shape}")
    return x


def _simpson_weight(node: int, steps: int) -> float:
    """Composite Simpson weight of grid node ``node`` on ``[0, 1]`` with ``steps`` (even) intervals."""
    if node in (0, steps):
        return 1.0 / (3.0 * steps)
    return (4.0 if node % 2 else 2.0) / (3.0 * steps)


def _per_sample(v: Field, x0: np.ndarray, steps: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    r"""Per-start metrics and end points; RK4 on (x, kinetic energy), Simpson sums accumulated along the path.

    Memory :math:`O(nd)`: no path is stored. With :math:`r=v_0(x_0)` (the velocity at the start)
    and :math:`D=\psi_1(x_0)-x_0`, the straightness is accumulated as

    .. math:: S=\int\|v-D\|^2=\int\|v-r\|^2-2(D-r)^\top\!\int(v-r)+\|D-r\|^2\int1,

    whose cancellation error is :math:`u\int\|v-r\|^2`, small exactly when the flow is straight.
    """
    d = x0.shape[1]
    # the velocity at a node is also the first RK4 stage of the step leaving it: evaluated once
    node_velocity: list[Any] = [None, None, None]  # (state, t, v(state, t)) of the last node

    def aug(y: np.ndarray, t: float) -> np.ndarray:
        state, at, known = node_velocity
        vel = known if state is y and at == t else v(y[:, :d], t)
        return np.concatenate([vel, (vel * vel).sum(1, keepdims=True)], axis=1)

    y0 = np.concatenate([x0, np.zeros((x0.shape[0], 1))], axis=1)
    speed2, length, dev2 = (np.zeros(x0.shape[0]) for _ in range(3))
    dev = np.zeros_like(x0)
    total = 0.0
    y, ref = y0, None
    for node, (t, y) in enumerate(rk4_nodes(aug, y0, steps)):
        w = _simpson_weight(node, steps)
        vel = v(y[:, :d], t)
        node_velocity[:] = (y, t, vel)
        ref = vel if ref is None else ref
        s2 = (vel * vel).sum(1)
        dv = vel - ref
        speed2 += w * s2
        length += w * np.sqrt(s2)
        dev2 += w * (dv * dv).sum(1)
        dev += w * dv
        total += w
    end = y[:, :d]
    disp = end - x0
    off = disp - ref
    per = {
        "transport_cost": (disp * disp).sum(1),
        "kinetic_energy": y[:, d],
        "kinetic_energy_simpson": speed2,
        "straightness": dev2 - 2.0 * (off * dev).sum(1) + (off * off).sum(1) * total,
        "path_length": length,
    }
    return per, end


def flow_metrics(
    velocity: Any,
    x0: Any,
    steps: int = 1000,
    *,
    per_dimension: bool = False,
    error_estimate: bool = True,
    return_samples: bool = False,
) -> dict[str, Any]:
    r"""Transport cost, kinetic energy, straightness and path length of the flow of ``velocity``.

    Parameters
    ----------
    velocity : callable or torch.nn.Module
        ``v(x, t)`` on batches ``(n, d)``; NumPy or torch (modules are evaluated without
        gradients, the state stays float64).
    x0 : array_like, shape (n, d)
        Starting points (samples of :math:`q_0`).
    steps : int
        RK4 steps (even: Simpson's rule on the nodes).
    per_dimension : bool
        Divide every energy-type quantity by ``d``.
    error_estimate : bool
        Also run with ``steps // 2`` and report the change of each mean (a Richardson-type
        estimate of the integration error; RK4 and Simpson are both 4th order).
    return_samples : bool
        Include per-start arrays under ``"samples"``.

    Returns
    -------
    dict
        Means ``transport_cost`` (:math:`C`), ``kinetic_energy`` (RK4-carried),
        ``kinetic_energy_simpson``, ``straightness`` (Eq. 18 form, Simpson),
        ``straightness_identity`` (:math:`\mathrm{KE}-C`, Eq. 19), ``path_length``
        (:math:`\mathbb E\int\|v\|dt`), their standard errors under ``"se"``, ``endpoints``
        (:math:`\psi_1(x_0)`), ``quadrature_gap`` (:math:`|S_{18}-(\mathrm{KE}-C)|`) and, with
        ``error_estimate``, ``integration_error`` per quantity.
    """
    steps = integer(steps, "steps", 2)
    if steps % 2:
        raise ValueError(f"steps must be an even integer >= 2, got {steps}")
    x = _check_x0(x0)
    v = as_numpy_field(velocity)
    per, endpoints = _per_sample(v, x, steps)
    scale = 1.0 / x.shape[1] if per_dimension else 1.0
    per = {k: scale * a for k, a in per.items()}
    out: dict[str, Any] = {k: float(a.mean()) for k, a in per.items()}
    out["straightness_identity"] = out["kinetic_energy"] - out["transport_cost"]
    out["quadrature_gap"] = abs(out["straightness"] - out["straightness_identity"])
    n = x.shape[0]
    out["se"] = {k: float(a.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan") for k, a in per.items()}
    out["endpoints"] = endpoints
    out["steps"] = steps
    if error_estimate:
        half = steps // 2 if (steps // 2) % 2 == 0 else steps // 2 + 1
        coarse = {k: float(scale * a.mean()) for k, a in _per_sample(v, x, half)[0].items()}
        out["integration_error"] = {k: abs(out[k] - coarse[k]) / 15.0 for k in coarse}
    if return_samples:
        out["samples"] = per
    return out


def consistency(
    velocity: Any,
    x0: Any,
    nfe_list: Sequence[int] = (1, 2, 4, 8),
    reference_steps: int = 1000,
    reference: np.ndarray | None = None,
) -> dict[str, Any]:
    r"""Few-step consistency: distance of ``m``-step Euler samples to an accurate solve.

    .. math:: \kappa_m=\mathbb E\|\hat x^{(m)}-\hat x^{\rm ref}\|,\qquad
              \kappa_m^{(2)}=\mathbb E\|\hat x^{(m)}-\hat x^{\rm ref}\|^2,

    with the same starting noise, :math:`\hat x^{\rm ref}` from RK4 with ``reference_steps`` (or
    the given ``reference`` samples, e.g. the ``endpoints`` of :func:`flow_metrics`).

    Returns
    -------
    dict
        ``nfe`` (array), ``l2`` and ``sq_l2`` (arrays of :math:`\kappa_m`, :math:`\kappa^{(2)}_m`),
        their standard errors ``l2_se``, ``sq_l2_se``, the ``reference`` samples and the Euler
        ``samples`` per NFE.
    """
    x = _check_x0(x0)
    if isinstance(nfe_list, str | bytes) or not nfe_list:
        raise ValueError(f"nfe_list must hold integers >= 1, got {nfe_list!r}")
    nfe_list = [integer(m, "nfe_list entry", 1) for m in nfe_list]
    reference_steps = integer(reference_steps, "reference_steps", 1)
    v = as_numpy_field(velocity)
    if reference is None:
        ref = rk4(v, x, reference_steps)
    else:
        ref = real_array(reference, "reference")
        if ref.shape != x.shape:
            raise ValueError(f"reference must have the shape of x0 {x.shape}, got {ref.shape}")
    l2, sq, l2_se, sq_se, samples = [], [], [], [], {}
    for m in nfe_list:
        xm = euler(v, x, int(m))
        dist = np.sqrt(((xm - ref) ** 2).sum(1))
        samples[int(m)] = xm
        l2.append(dist.mean())
        sq.append((dist**2).mean())
        l2_se.append(dist.std(ddof=1) / np.sqrt(dist.size) if dist.size > 1 else np.nan)
        sq_se.append((dist**2).std(ddof=1) / np.sqrt(dist.size) if dist.size > 1 else np.nan)
    return {
        "nfe": np.asarray(nfe_list, dtype=int),
        "l2": np.asarray(l2),
        "sq_l2": np.asarray(sq),
        "l2_se": np.asarray(l2_se),
        "sq_l2_se": np.asarray(sq_se),
        "reference": ref,
        "samples": samples,
    }


def gradient_variance(model: Any, objective: Any, n_batches: int = 100, seed: int | list[int] = 0) -> float:
    r"""Trace of the covariance of the minibatch gradient of ``objective`` over ``n_batches`` draws.

    .. math::
        \operatorname{tr}\widehat{\mathrm{Cov}}(g),\qquad g_b=\nabla_\theta\,\mathcal L_b(\theta),

    with :math:`\mathcal L_b` = ``objective(model, b, gen)`` the loss of one fresh minibatch (the
    training objective itself, e.g. :func:`numerics.training.coupled_objective`), ``gen`` a torch
    generator seeded from ``seed``; unbiased (``ddof = 1``) sample covariance, accumulated in float64.
    """
    import torch

    from numerics.training import torch_generator

    n_batches = integer(n_batches, "n_batches", 2)
    params = [q for q in model.parameters() if q.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    gen = torch_generator(seed)
    grads = []
    for b in range(n_batches):
        loss = objective(model, b, gen)
        g = torch.autograd.grad(loss, params)
        grads.append(torch.cat([x.reshape(-1) for x in g]).double().cpu().numpy())
    return float(np.sum(np.var(np.stack(grads), axis=0, ddof=1)))


@dataclass(frozen=True)
class MeanEstimate:
    """A Monte Carlo mean with its standard error and sample count."""

    mean: float
    se: float
    n: int


def variance_proxy(model: Any, sampler: Any, sigma_min: Any, n_pairs: int, seed: int | list[int]) -> MeanEstimate:
    r"""Variance proxy :math:`V` of a trained field (spec ``mfm.md`` §3): its held-out coupled-CFM loss.

    .. math::
        V=\mathbb E_{t\sim U[0,1],\,(x_0,x_1)\sim q^k}\big\|v_\theta(x_t,t)-(x_1-(1-\sigma_{\min})x_0)\big\|^2,

    on the OT path with ``sigma_min`` (a number), or with the target :math:`\dot\alpha_tx_1+\dot\sigma_tx_0`
    of any path :func:`numerics.paths.as_path` accepts in its place; over ``n_pairs`` fresh pairs from fresh minibatches of ``sampler``
    (:class:`numerics.couplings.CoupledBatchSampler`, the run's coupling and block size), times from
    a generator seeded with ``seed``. By Lemma 3.2 it is :math:`\mathbb E\sigma_t^2` plus the
    model's excess FM loss. The standard error treats minibatch means as independent replicates
    (pairs inside one coupled minibatch are dependent).
    """
    import torch

    from numerics.paths import as_path

    n_pairs = integer(n_pairs, "n_pairs", sampler.batch)
    path = as_path(sigma_min)
    t_rng = np.random.default_rng(seed)
    n_batches = n_pairs // sampler.batch
    p = next(model.parameters())
    means = np.empty(n_batches)
    with torch.no_grad():
        for b in range(n_batches):
            x0, x1 = sampler.draw()
            t = t_rng.random(x0.shape[0])
            xt = path.sample(x0, x1, t)
            pred = model(
                torch.as_tensor(xt, dtype=p.dtype, device=p.device), torch.as_tensor(t, dtype=p.dtype, device=p.device)
            )
            means[b] = float(np.mean(np.sum((pred.double().cpu().numpy() - path.target(x0, x1, t)) ** 2, axis=1)))
    return MeanEstimate(float(means.mean()), float(means.std(ddof=1) / np.sqrt(n_batches)), n_batches * sampler.batch)
