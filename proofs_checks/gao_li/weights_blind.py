r"""Judges of claim ``gao-li/weights-blind-off-subspace``: the posterior weights are blind to the off-subspace part."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.gao_li.weights_blind import WEIGHTS_BLIND, weights_blind
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import per_path
from proofs_checks.registry import Control, check


@check(
    "gao-li/weights-blind-off-subspace",
    title="softmax weights do not depend on the component orthogonal to the data span",
    tag="derived",
    kinds=("symbolic",),
    tier=WEIGHTS_BLIND,
    controls={
        "unprojected": Control(
            fault={"project": False},
            breaks="max |w(x_par + y_perp) - w(x_par)|*",
            sizes={"points": 100},
            why="a generic vector y added instead of its off-subspace part",
        )
    },
    follows_path=True,
)
def check_weights_blind(run: RunSpec, project: bool = True) -> Verdict:
    """Fact (a): :math:`w(x_\\parallel+y_\\perp,t)=w(x_\\parallel,t)` for the span and the affine hull.

    Control: the unprojected vector.
    """
    m = weights_blind(run, project)
    ev = Evidence.of("fact (a), spec gao_li.md §2 (derived)", m)
    eps = np.finfo(float).eps
    for name in ("span", "affine"):
        diff, scale = m.diff[name], m.logit_scale[name]
        kind = per_path(run, name).replace("on path", f"{name}, path")
        # Rounding of the logits (t / sigma_t^2)(x . x_i - t |x_i|^2 / 2) is ~ eps times their
        # scale, which grows like 1/sigma_t^2; the spec's flat 1e-13 holds where that is small.
        ev.at_most(
            f"max |w(x_par + y_perp) - w(x_par)| / (1e-13 + 8 eps * logit scale) ({kind})",
            float(np.max(diff / (1e-13 + 8 * eps * scale))),
            1.0,
            basis="numerical",
            why="float64 rounding: spec 1e-13 plus the logit rounding 8 eps (alpha/sigma^2)(|x| R + alpha R^2)",
            headline=name == "span",
        )
        ev.at_most(
            f"max |w(x_par + y_perp) - w(x_par)| where the logit scale <= 1 ({kind})",
            float(diff[scale <= 1.0].max()),
            1e-13,
            basis="numerical",
            why="spec: 1e-13 (float64)",
        )
        ev.report(
            f"max |w(x_par + y_perp) - w(x_par)| over all t in [0, 0.99] ({kind})",
            float(diff.max()),
            "exceeds the spec's 1e-13 only through logit rounding near t = 1 (finding)",
        )
    return ev.verdict()
