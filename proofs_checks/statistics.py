r"""The statistics behind an ordering claimed over training seeds: paired one-sided t-tests, Holm, power.

An ordering such as "BatchOT has a lower transport cost than CondOT" is judged on the per-seed
differences :math:`d_s` (seed ``s`` of both arms shares data, noise, initialisation and evaluation
draws). With :math:`S` seeds,

.. math::

    t=\frac{\bar d}{s_d/\sqrt S},\qquad p=\Pr[T_{S-1}\ge t],\qquad
    p_{\text{against}}=\Pr[T_{S-1}\le t],

the one-sided p-value of the claimed direction and of the opposite one (Student's t with
:math:`S-1` degrees of freedom: the differences are assumed normal, which the seeds cannot test at
:math:`S=5`; the t-test is robust to moderate skew at :math:`S\ge20`).

A claim holds a *family* of such comparisons. The family-wise error rate is held at
:data:`FAMILY_ALPHA` by Holm's step-down procedure: sorted p-values :math:`p_{(1)}\le\dots\le
p_{(m)}` are compared with :math:`\alpha/m,\alpha/(m-1),\dots,\alpha`, and the first that fails
stops the rejections. A comparison is *refuted* when its opposite direction is significant at the
Bonferroni level :math:`\alpha/m`; otherwise a non-significant comparison is *not shown*
(inconclusive), and :func:`seeds_for_power` says how many seeds the measured effect would need.

References
----------
S. Holm, *A Simple Sequentially Rejective Multiple Test Procedure*, Scand. J. Statist. 6 (1979).
J. Cohen, *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed. (1988), ch. 2.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

FAMILY_ALPHA = 0.01
"""Family-wise error rate of the orderings of one claim (Holm); the spec's level for hypothesis tests."""
POWER = 0.9
"""Power at which :func:`seeds_for_power` sizes a comparison."""
MAX_SEEDS = 100_000


@dataclass(frozen=True)
class PairedT:
    """One-sided paired t-test of ``mean(d) > 0`` over ``n`` seeds, with a two-sided 95% interval of the mean."""

    n: int
    mean: float
    sd: float
    se: float
    t: float
    df: int
    p: float
    p_against: float
    ci95: tuple[float, float]

    @property
    def effect_size(self) -> float:
        """Standardised effect :math:`\\bar d/s_d` (Cohen's :math:`d_z`)."""
        if self.sd > 0:
            return self.mean / self.sd
        return 0.0 if self.mean == 0 else math.copysign(math.inf, self.mean)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ci95"] = list(self.ci95)
        out["effect_size"] = self.effect_size
        return out


def paired_t(differences: Any) -> PairedT:
    """The one-sided paired t-test of the claimed direction ``mean > 0``.

    Differences that are all equal give ``t = ±inf`` (``p`` 0 or 1) or, all zero, ``t = 0`` and
    ``p = p_against = 1``: an arm identical to the other shows nothing either way.

    Raises
    ------
    ValueError
        Fewer than two seeds, or a non-finite difference.
    """
    d = np.asarray(differences, dtype=np.float64).ravel()
    if d.size < 2:
        raise ValueError(f"a paired t-test needs at least two seeds, got {d.size}")
    if not np.all(np.isfinite(d)):
        raise ValueError("a paired difference is not finite")
    n, mean, sd = d.size, float(d.mean()), float(d.std(ddof=1))
    se, df = sd / math.sqrt(n), n - 1
    if se > 0:
        t = mean / se
        p, p_against = float(stats.t.sf(t, df)), float(stats.t.cdf(t, df))
        half = float(stats.t.ppf(0.975, df)) * se
    elif mean == 0:
        t, p, p_against, half = 0.0, 1.0, 1.0, 0.0
    else:
        t = math.copysign(math.inf, mean)
        p, p_against, half = (0.0, 1.0, 0.0) if mean > 0 else (1.0, 0.0, 0.0)
    return PairedT(n, mean, sd, se, t, df, p, p_against, (mean - half, mean + half))


def holm_levels(p_values: list[float], alpha: float = FAMILY_ALPHA) -> tuple[list[float], list[bool]]:
    """Holm's step-down levels and decisions for ``p_values`` (in their order).

    Returns the level each p-value is compared with (:math:`\\alpha/(m-r)` at rank ``r``) and
    whether it is rejected (all smaller p-values rejected too).
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    levels, rejected = [0.0] * m, [False] * m
    going = True
    for rank, i in enumerate(order):
        levels[i] = alpha / (m - rank)
        going = going and p_values[i] <= levels[i]
        rejected[i] = going
    return levels, rejected


def power(effect_size: float, n: int, alpha: float) -> float:
    """Power of the one-sided paired t-test at level ``alpha`` with ``n`` seeds for a true ``effect_size``."""
    if n < 2:
        return 0.0
    crit = stats.t.isf(alpha, n - 1)
    return float(stats.nct.sf(crit, n - 1, effect_size * math.sqrt(n)))


def seeds_for_power(effect_size: float, alpha: float, target: float = POWER) -> int | None:
    """Fewest seeds at which the one-sided paired t-test reaches power ``target`` for ``effect_size``.

    ``None`` when the effect is not in the claimed direction (no number of seeds shows it) or would
    need more than :data:`MAX_SEEDS`.
    """
    if not effect_size > 0:
        return None
    if math.isinf(effect_size):
        return 2
    hi = 2
    while power(effect_size, hi, alpha) < target:
        hi *= 2
        if hi > MAX_SEEDS:
            return None
    lo = max(2, hi // 2)
    while lo < hi:  # smallest n with enough power (power increases with n)
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if power(effect_size, mid, alpha) < target else (lo, mid)
    return lo
