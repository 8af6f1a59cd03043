"""Judge of ``merger-goldt/loss-depends-on-moments`` (measurement: :mod:`numerics.experiments.merger_goldt.loss`); its controls' wrong forms."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import loss as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.merger_goldt._shared import within_four_se
from proofs_checks.registry import Control, check
from theory import linear_diffusion as sym


def loss_without_bias_term(w: np.ndarray, c: np.ndarray, cov_hat: np.ndarray, s: float) -> float:
    """The closed-form loss with the bias term :math:`\\|c\\|^2` dropped."""
    return exp.noise_averaged_loss(w, np.zeros_like(c), cov_hat, s)


@check(
    "merger-goldt/loss-depends-on-moments",
    title="noise-averaged loss is a closed form in $(\\hat\\mu,\\hat\\Sigma)$",
    tag="derived",
    kinds=("symbolic", "monte-carlo"),
    tier=exp.LOSS_MOMENTS,
    controls={
        "bias-term-dropped": Control(
            fault={"loss": loss_without_bias_term}, breaks="|MC loss - closed form| / SE*", why="||c||^2 forgotten"
        )
    },
)
def check_loss_depends_on_moments(run: RunSpec, loss=exp.noise_averaged_loss) -> Verdict:
    """The noise-averaged loss is the closed form of §1.3 in (mu_hat, Sigma_hat): SymPy (d = 2) and Monte Carlo.

    Control: the closed form without the bias term.
    """
    m = exp.loss_moments(run, loss)
    sz = run.sizes(exp.LOSS_MOMENTS)
    ev = Evidence.of("spec merger_goldt.md §1.3 (noise-averaged loss, derived)", m)
    residual = sym.loss_moment_residual()
    ev.holds(
        "SymPy: E_eps[loss] - closed form (d=2, two data points)",
        residual == 0,
        measured=str(residual),
        expected="0",
        basis="theory",
        why="exact Gaussian moments",
    )
    within_four_se(
        ev,
        f"|MC loss - closed form| / SE, {', '.join(m.labels)}",
        m.z,
        f"{sz.noises} noises per training point, N = {sz.n}",
        headline=True,
    )
    ev.report("MC loss per t", m.mc.tolist())
    ev.report("closed form per t", m.closed_form.tolist())
    return ev.verdict()
