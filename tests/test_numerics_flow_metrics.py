"""Flow metrics on fields with known answers (straight constant-speed flows, Gaussian family)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.couplings import CoupledBatchSampler
from numerics.datasets import FlowTarget
from numerics.flow_metrics import consistency, flow_metrics, gradient_variance, variance_proxy
from numerics.gaussian_family import GaussianCoupling
from numerics.nets import VelocityMLP
from numerics.training import coupled_objective


def test_constant_field_is_straight():
    shift = np.array([1.0, -2.0])
    x0 = np.random.default_rng(0).standard_normal((50, 2))
    fm = flow_metrics(lambda x, t: np.broadcast_to(shift, x.shape), x0, 10)
    assert fm["transport_cost"] == pytest.approx(5.0, rel=1e-12)
    assert fm["kinetic_energy"] == pytest.approx(5.0, rel=1e-12)
    assert fm["straightness"] == pytest.approx(0.0, abs=1e-12)
    assert fm["path_length"] == pytest.approx(np.sqrt(5.0), rel=1e-12)


@pytest.mark.claim("mfm/straightness-identity")
def test_gaussian_family_matches_closed_forms():
    fam = GaussianCoupling(rho=0.5)
    x0 = np.random.default_rng(1).standard_normal((400, 2))
    fm = flow_metrics(fam.velocity, x0, 200)
    assert fm["quadrature_gap"] < 1e-8 * fm["kinetic_energy"]
    assert max(fm["integration_error"].values()) < 1e-7
    mm, m = fam.flow(np.array([1.0]))
    assert np.allclose(fm["endpoints"], x0 @ mm[0].T + m[0], atol=1e-8)


def test_torch_module_field_and_bad_input():
    model = torch.nn.Linear(2, 2).double()

    class Field(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = model

        def forward(self, x, t):
            return self.lin(x)

    x0 = np.zeros((3, 2))
    fm = flow_metrics(Field(), x0, 4, error_estimate=False)
    assert np.isfinite(fm["kinetic_energy"])
    with pytest.raises(ValueError):
        flow_metrics(Field(), x0, 3)
    with pytest.raises(ValueError):
        flow_metrics(Field(), np.full((2, 2), np.nan), 4)


def test_consistency_of_a_straight_field_is_exact_for_one_step():
    x0 = np.random.default_rng(2).standard_normal((20, 2))
    c = consistency(lambda x, t: np.ones_like(x), x0, (1, 2))
    assert np.allclose(c["l2"], 0.0, atol=1e-12)
    curved = consistency(lambda x, t: -x * t, x0, (1, 2, 4))
    assert curved["l2"][0] > curved["l2"][1] > curved["l2"][2]


class ZeroField(torch.nn.Module):
    """v = 0 with one (unused) parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.0 * x + 0.0 * self.dummy


class DecayField(torch.nn.Module):
    """v(x, t) = -x, flow x(t) = x0 exp(-t)."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return -x + 0.0 * self.dummy.to(x.dtype)


def _sampler(coupling: str, k: int, batch: int = 64, seed: int = 1) -> CoupledBatchSampler:
    return CoupledBatchSampler(FlowTarget(), batch, coupling, k, seed)


def test_gradient_variance_is_deterministic_and_reacts_to_the_coupling():
    model = VelocityMLP(2, width=8, depth=2, init_seed=0)
    g1 = gradient_variance(model, coupled_objective(_sampler("condot", 1)), n_batches=10, seed=1)
    assert g1 == gradient_variance(model, coupled_objective(_sampler("condot", 1)), n_batches=10, seed=1)
    g_ot = gradient_variance(model, coupled_objective(_sampler("batchot", 64)), n_batches=10, seed=1)
    assert 0 < g_ot < g1 and np.isfinite(g1)
    with pytest.raises(ValueError):
        gradient_variance(model, coupled_objective(_sampler("condot", 1)), n_batches=1)


def test_variance_proxy_of_zero_field_is_independent_cost():
    # v = 0: V = E|x1 - x0|^2 = c1 under independent pairs (closed form of FlowTarget)
    est = variance_proxy(ZeroField(), _sampler("condot", 1, 256, 5), 0.0, n_pairs=50_000, seed=[5, 5])
    assert abs(est.mean - FlowTarget().independent_cost()) <= 4 * est.se
    # BatchOT pairs are closer: strictly smaller mean squared displacement
    est_ot = variance_proxy(ZeroField(), _sampler("batchot", 64, 256, 99), 0.0, n_pairs=5120, seed=[99, 5])
    assert est_ot.mean < est.mean - 4 * est.se
    with pytest.raises(ValueError):
        variance_proxy(ZeroField(), _sampler("condot", 1), 0.0, n_pairs=10, seed=0)


def test_decay_field_closed_forms_and_one_euler_step():
    # v = -x: psi_t = x0 e^{-t}; KE = E|x0|^2 (1 - e^{-2})/2, C = E|x0|^2 (1 - e^{-1})^2
    x0 = np.random.default_rng(0).standard_normal((500, 3))
    r2 = np.mean(np.sum(x0**2, 1))
    fm = flow_metrics(DecayField(), x0, 200, error_estimate=False)
    ke, c = r2 * (1 - np.exp(-2)) / 2, r2 * (1 - np.exp(-1)) ** 2
    for key in ("kinetic_energy", "kinetic_energy_simpson"):
        assert abs(fm[key] - ke) < 1e-9 * ke
    assert abs(fm["transport_cost"] - c) < 1e-9 * c
    assert abs(fm["straightness"] - (ke - c)) < 1e-8 * ke  # Eq. 19 to quadrature accuracy
    kap = consistency(DecayField(), x0, (1, 4), reference=fm["endpoints"])
    # one Euler step maps x0 to 0: distance |x0| e^{-1}
    assert abs(kap["l2"][0] - np.exp(-1) * np.mean(np.linalg.norm(x0, axis=1))) < 1e-9
    assert kap["l2"][1] < kap["l2"][0]


def test_the_node_velocity_is_the_first_stage_of_the_next_step():
    # each RK4 step evaluates the field 4 times; the Simpson sums reuse the velocity at the node
    calls = []

    def v(x, t):
        calls.append(t)
        return np.column_stack([np.sin(3 * t) + 0 * x[:, 0], x[:, 0] * t])

    x0 = np.random.default_rng(0).standard_normal((5, 2))
    flow_metrics(v, x0, 10, error_estimate=False)
    assert len(calls) == 4 * 10 + 1
    assert calls[:5] == [0.0, 0.05, 0.05, 0.1, 0.1]  # node 0 once (also stage 1), stages 2-4, node 1
