"""Tests of the learned-flow (training) checks of MFM: positive runs and negative controls.

Positive runs train the fast-tier models (a few CPU-minutes in all) and are marked ``slow``. The
fast negative controls either feed the judge falsified measurements (swapped coupling labels,
values that break the criterion) or mis-couple a tiny real run: a "BatchOT" model trained on
independent pairs is the CondOT model, so every strict comparison between the two must fail.
"""

from __future__ import annotations

import pytest

import proofs_checks.mfm_learned as ml
from proofs_checks.registry import Context, run_check

# Tiny sizes for real-input negative controls (well under a second of training per model).
TINY = dict(
    width=8,
    steps=40,
    batch=16,
    ks=(1, 16),
    v_pairs=320,
    rk4_steps=10,
    starts=100,
    grad_batches=4,
    w2_samples=50,
    dims=(2,),
)

# Fast-tier measurements as recorded by a run of the checks (used to test the judges alone).
K_SWEEP = {
    1: dict(V=8.281, S=1.948, C=8.141, KE=10.089),
    4: dict(V=4.594, S=0.406, C=8.099, KE=8.506),
    16: dict(V=1.670, S=0.0772, C=7.577, KE=7.654),
    64: dict(V=0.574, S=0.0452, C=7.512, KE=7.558),
}
GRAD = {"condot": {150: 11.26, 750: 19.95, 1500: 27.95}, "batchot": {150: 4.83, 750: 5.95, 1500: 7.01}}
STRAIGHT = {
    "condot": dict(S=1.948, kappa={1: (2.924, 9.0), 2: (0.918, 1.0), 4: (0.344, 0.2), 8: (0.165, 0.05)}),
    "batchot": dict(S=0.0452, kappa={1: (0.380, 0.2), 2: (0.188, 0.05), 4: (0.098, 0.01), 8: (0.051, 0.003)}),
}
VPROXY = {"condot": (8.281, 0.08), "batchot": (0.574, 0.01), "batcheot": (1.089, 0.02), "stable": (1.486, 0.03)}
COST = {
    2: dict(c1=28.71, condot=17.20, batchot=16.60),
    8: dict(c1=31.21, condot=13.57, batchot=13.05),
    32: dict(c1=55.16, condot=19.58, batchot=18.39),
}


def _swap(m: dict, a: str = "condot", b: str = "batchot") -> dict:
    out = dict(m)
    out[a], out[b] = m[b], m[a]
    return out


# --- mfm/theorem-4.2-variance-straightness-limit ------------------------------------------------
@pytest.mark.claim("mfm/theorem-4.2-variance-straightness-limit")
def test_k_sweep_judge_accepts_recorded_measurements(ctx: Context):
    v = run_check("mfm/theorem-4.2-variance-straightness-limit", ctx, measurements=K_SWEEP)
    assert v.passed is True, v.error


@pytest.mark.claim("mfm/theorem-4.2-variance-straightness-limit")
def test_k_sweep_fails_on_reversed_k_labels(ctx: Context):
    ks = sorted(K_SWEEP)
    reversed_m = {k: K_SWEEP[k2] for k, k2 in zip(ks, ks[::-1])}
    assert run_check("mfm/theorem-4.2-variance-straightness-limit", ctx, measurements=reversed_m).passed is False


@pytest.mark.claim("mfm/theorem-4.2-variance-straightness-limit")
def test_k_sweep_fails_on_non_monotone_straightness(ctx: Context):
    bad = {k: dict(v) for k, v in K_SWEEP.items()}
    bad[16]["S"] = 0.5  # S_16 > 1.1 S_4 breaks monotonicity only
    assert run_check("mfm/theorem-4.2-variance-straightness-limit", ctx, measurements=bad).passed is False


@pytest.mark.claim("mfm/theorem-4.2-variance-straightness-limit")
def test_k_sweep_fails_when_every_run_is_independent(ctx: Context):
    v = run_check("mfm/theorem-4.2-variance-straightness-limit", ctx, tier=TINY, coupling="condot")
    assert v.error is None and v.passed is False


@pytest.mark.slow
@pytest.mark.claim("mfm/theorem-4.2-variance-straightness-limit")
def test_k_sweep_passes(ctx: Context):
    v = run_check("mfm/theorem-4.2-variance-straightness-limit", ctx)
    assert v.passed is True, v.error or v.to_json()


# --- mfm/gradient-variance-reduction ------------------------------------------------------------
@pytest.mark.claim("mfm/gradient-variance-reduction")
def test_gradient_variance_judge_accepts_recorded_measurements(ctx: Context):
    tier = dict(steps=1500)
    assert run_check("mfm/gradient-variance-reduction", ctx, measurements=GRAD, tier=tier).passed is True


@pytest.mark.claim("mfm/gradient-variance-reduction")
def test_gradient_variance_fails_on_swapped_labels(ctx: Context):
    v = run_check("mfm/gradient-variance-reduction", ctx, measurements=_swap(GRAD), tier=dict(steps=1500))
    assert v.passed is False


@pytest.mark.claim("mfm/gradient-variance-reduction")
def test_gradient_variance_fails_when_batchot_run_is_independent(ctx: Context):
    v = run_check("mfm/gradient-variance-reduction", ctx, tier=TINY, batchot_coupling="condot")
    assert v.error is None and v.passed is False


@pytest.mark.slow
@pytest.mark.claim("mfm/gradient-variance-reduction")
def test_gradient_variance_passes(ctx: Context):
    v = run_check("mfm/gradient-variance-reduction", ctx)
    assert v.passed is True, v.error or v.to_json()


# --- mfm/straighter-flows-consistency -----------------------------------------------------------
@pytest.mark.claim("mfm/straighter-flows-consistency")
def test_straightness_judge_accepts_recorded_measurements(ctx: Context):
    assert run_check("mfm/straighter-flows-consistency", ctx, measurements=STRAIGHT).passed is True


@pytest.mark.claim("mfm/straighter-flows-consistency")
def test_straightness_fails_on_swapped_labels(ctx: Context):
    assert run_check("mfm/straighter-flows-consistency", ctx, measurements=_swap(STRAIGHT)).passed is False


@pytest.mark.claim("mfm/straighter-flows-consistency")
def test_straightness_fails_when_one_nfe_is_worse(ctx: Context):
    bad = {k: dict(v) for k, v in STRAIGHT.items()}
    bad["batchot"] = dict(bad["batchot"], kappa={**bad["batchot"]["kappa"], 8: (0.2, 0.04)})
    assert run_check("mfm/straighter-flows-consistency", ctx, measurements=bad).passed is False


@pytest.mark.claim("mfm/straighter-flows-consistency")
def test_straightness_fails_when_batchot_run_is_independent(ctx: Context):
    v = run_check("mfm/straighter-flows-consistency", ctx, tier=TINY, batchot_coupling="condot")
    assert v.error is None and v.passed is False


@pytest.mark.slow
@pytest.mark.claim("mfm/straighter-flows-consistency")
def test_straightness_passes(ctx: Context):
    v = run_check("mfm/straighter-flows-consistency", ctx)
    assert v.passed is True, v.error or v.to_json()


# --- mfm/variance-proxy-ordering ----------------------------------------------------------------
@pytest.mark.claim("mfm/variance-proxy-ordering")
def test_variance_proxy_judge_accepts_recorded_measurements(ctx: Context):
    assert run_check("mfm/variance-proxy-ordering", ctx, measurements=VPROXY).passed is True


@pytest.mark.claim("mfm/variance-proxy-ordering")
@pytest.mark.parametrize("a, b", [("condot", "batchot"), ("batchot", "batcheot"), ("stable", "condot")])
def test_variance_proxy_fails_on_swapped_labels(ctx: Context, a: str, b: str):
    assert run_check("mfm/variance-proxy-ordering", ctx, measurements=_swap(VPROXY, a, b)).passed is False


@pytest.mark.claim("mfm/variance-proxy-ordering")
def test_variance_proxy_fails_when_every_run_is_independent(ctx: Context):
    labels = {lab: "condot" for lab in ("condot", "batchot", "batcheot", "stable")}
    v = run_check("mfm/variance-proxy-ordering", ctx, tier=TINY, labels=labels)
    assert v.error is None and v.passed is False


@pytest.mark.slow
@pytest.mark.claim("mfm/variance-proxy-ordering")
def test_variance_proxy_passes(ctx: Context):
    v = run_check("mfm/variance-proxy-ordering", ctx)
    assert v.passed is True, v.error or v.to_json()


# --- mfm/lower-transport-cost-high-dim ----------------------------------------------------------
@pytest.mark.claim("mfm/lower-transport-cost-high-dim")
def test_cost_vs_dim_judge_accepts_recorded_measurements(ctx: Context):
    assert run_check("mfm/lower-transport-cost-high-dim", ctx, measurements=COST).passed is True


@pytest.mark.claim("mfm/lower-transport-cost-high-dim")
def test_cost_vs_dim_fails_on_swapped_labels_in_one_dimension(ctx: Context):
    bad = dict(COST)
    bad[32] = _swap(COST[32])
    assert run_check("mfm/lower-transport-cost-high-dim", ctx, measurements=bad).passed is False


@pytest.mark.claim("mfm/lower-transport-cost-high-dim")
def test_cost_vs_dim_fails_when_batchot_run_is_independent(ctx: Context):
    v = run_check("mfm/lower-transport-cost-high-dim", ctx, tier=TINY, batchot_coupling="condot")
    assert v.error is None and v.passed is False


@pytest.mark.slow
@pytest.mark.claim("mfm/lower-transport-cost-high-dim")
def test_cost_vs_dim_passes(ctx: Context):
    v = run_check("mfm/lower-transport-cost-high-dim", ctx)
    assert v.passed is True, v.error or v.to_json()


def test_comparison_models_helper_shares_trained_models(ctx: Context):
    a = ml.comparison_models(ctx, TINY)
    b = ml.comparison_models(ctx, TINY)
    assert set(a) == {"condot", "batchot"} and a["batchot"] is b["batchot"]
