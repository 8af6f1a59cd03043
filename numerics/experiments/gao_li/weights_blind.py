r"""The posterior weights are blind to the off-subspace part (claim ``gao-li/weights-blind-off-subspace``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from numerics.datasets import dataset
from numerics.empirical_field import (
    posterior_weights,
)
from numerics.experiments import Measurement, RunSpec, Tier
from numerics.experiments.gao_li._shared import PointsSizes, flow_paths, spec_row
from numerics.subspace import subspace_basis

WEIGHTS_BLIND = Tier.same("gao-li/weights-blind-off-subspace", PointsSizes(), spec_row("weights-blind-off-subspace"))


@dataclass(frozen=True)
class WeightsBlind(Measurement):
    """Per subspace kind: :math:`\\max_i|w_i(x_\\parallel+y_\\perp)-w_i(x_\\parallel)|` per point and the logit scale."""

    diff: dict[str, np.ndarray]
    logit_scale: dict[str, np.ndarray]


def weights_blind(run: RunSpec, project: bool = True) -> WeightsBlind:
    r"""Weights at :math:`x_\parallel+y_\perp` and at :math:`x_\parallel` on ``sparse-d20`` (``span`` and ``affine``).

    ``project=False`` adds the unprojected :math:`y` (a wrong input). The logit scale
    :math:`\frac{\alpha_t}{\sigma_t^2}(\|x\|R+\alpha_tR^2)` (:math:`R` = largest data norm) sets the
    float64 rounding of the logits. Path: the first of :func:`flow_paths` (:math:`\sigma_{\min}=0` by default).
    """
    n = run.sizes(WEIGHTS_BLIND).points
    data = dataset("sparse-d20")
    r_max = float(np.linalg.norm(data, axis=1).max())
    path = flow_paths(run)[0]
    rng = run.rng(17)
    diff, scale = {}, {}
    for kind in ("span", "affine"):
        sub = subspace_basis(data, kind)
        x = rng.standard_normal((n, 20))
        y = 2.0 * rng.standard_normal((n, 20))
        t = rng.uniform(0.0, 0.99, n)
        x_par = sub.offset + sub.inside(x - sub.offset) if kind == "span" else x
        y_perp = sub.off(y) if project else y
        w_full, w_par = posterior_weights(x_par + y_perp, t, data, path), posterior_weights(x_par, t, data, path)
        diff[kind] = np.abs(w_full - w_par).max(axis=1)
        alpha = path.alpha(t)
        scale[kind] = alpha / path.sigma(t) ** 2 * (np.linalg.norm(x_par + y_perp, axis=1) * r_max + alpha * r_max**2)
    return WeightsBlind(
        diff,
        scale,
        seeds={"points": run.seed_for(17)},
        sizes=run.sizes(WEIGHTS_BLIND),
        settings={"path": path.record()},
    )
