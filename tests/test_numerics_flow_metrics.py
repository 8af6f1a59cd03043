"""Flow metrics on fields with known answers (straight constant-speed flows, Gaussian family)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from numerics.couplings import pair
from numerics.flow_metrics import consistency, flow_metrics, gradient_variance
from numerics.gaussian_family import GaussianCoupling
from numerics.training import conditional_flow_matching_loss


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


def test_gradient_variance_is_positive_and_deterministic():
    net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    init = np.random.default_rng(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.as_tensor(init.standard_normal(tuple(p.shape)), dtype=p.dtype))

    class Field(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x, t):
            return self.net(x) * t[:, None]

    rng = np.random.default_rng(3)
    batches = [(rng.standard_normal((16, 2)), rng.standard_normal((16, 2)) + 2) for _ in range(6)]

    def objective(model, b, gen):  # the coupled CFM loss of fixed minibatch b (BatchOT pairs)
        x0, x1 = pair(*batches[b], "batchot")
        t = torch.rand(16, generator=gen)
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
        return conditional_flow_matching_loss(model, as_t(x0), as_t(x1), t)

    a = gradient_variance(Field(), objective, n_batches=6, seed=1)
    b = gradient_variance(Field(), objective, n_batches=6, seed=1)
    assert a > 0 and a == b
