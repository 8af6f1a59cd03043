"""The statistics of orderings over training seeds: paired t-test, Holm, power, and the recorded pilots."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from numerics.experiments.mfm.trained_arms import PILOTS
from proofs_checks.statistics import holm_levels, paired_t, power, seeds_for_power


def test_paired_t_matches_scipy_one_sided():
    d = np.array([0.63, 0.21, -0.24, 0.19, 0.42])
    t = paired_t(d)
    ref = stats.ttest_1samp(d, 0.0, alternative="greater")
    assert t.t == pytest.approx(ref.statistic, rel=1e-12) and t.p == pytest.approx(ref.pvalue, rel=1e-12)
    assert t.p + t.p_against == pytest.approx(1.0) and t.df == 4
    lo, hi = stats.t.interval(0.95, 4, loc=d.mean(), scale=stats.sem(d))
    assert t.ci95 == pytest.approx((lo, hi), rel=1e-12)
    with pytest.raises(ValueError, match="two seeds"):
        paired_t([1.0])
    with pytest.raises(ValueError, match="finite"):
        paired_t([1.0, np.nan])


def test_holm_step_down():
    levels, rejected = holm_levels([0.004, 0.001, 0.03, 0.006], alpha=0.01)
    assert levels == pytest.approx([0.01 / 3, 0.01 / 4, 0.01, 0.01 / 2])
    # 0.001 <= 0.0025, 0.004 > 0.0033: the step-down stops there, so 0.006 is not rejected either
    assert rejected == [False, True, False, False]


def test_power_by_simulation():
    """The noncentral-t power agrees with a seeded simulation of the test (4 SE of a proportion)."""
    n, effect, alpha, sims = 26, 0.76, 0.01, 4000
    d = np.random.default_rng(0).normal(effect, 1.0, size=(sims, n))
    p = stats.t.sf(d.mean(1) / (d.std(1, ddof=1) / np.sqrt(n)), n - 1)
    rate = float(np.mean(p <= alpha))
    assert abs(rate - power(effect, n, alpha)) <= 4 * np.sqrt(rate * (1 - rate) / sims)
    assert seeds_for_power(-0.1, 0.01) is None and seeds_for_power(np.inf, 0.01) == 2


@pytest.mark.parametrize("pilot", PILOTS, ids=lambda p: p.comparison)
def test_recorded_seed_counts_follow_their_power_analysis(pilot):
    needed = seeds_for_power(pilot.effect_size, pilot.alpha)
    assert needed is not None and pilot.seeds >= needed
    assert power(pilot.effect_size, pilot.seeds, pilot.alpha) >= 0.9
