"""Judge of ``digits/bridge`` (measurement: :mod:`numerics.experiments.digits.bridge`); its control's wrong closed form."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.digits import bridge as exp
from proofs_checks.digits._shared import K_SE
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


def off_span_without_null_variance(modes, law) -> float:
    """Wrong closed form (negative control): the null modes' sampler variance f left out."""
    f, lam_hat = law.f[0, 0], modes.lam_hat[0, 0]
    c = modes.u[0, 0].T @ (law.mean_gen[0, 0] - modes.mu_hat[0, 0])
    null = lam_hat == 0
    return float((c[null] ** 2).sum() / (f + c * c).sum())


@check(
    "digits/bridge",
    title="memorization ratio and off-span variance vs $N/d$: exact flow, linear denoiser (matches its closed form), "
    "trained MLPs",
    tag="derived",
    kinds=("training", "monte-carlo"),
    tier=exp.BRIDGE,
    controls={
        "null-variance-dropped": Control(
            fault={"off_span_law": off_span_without_null_variance},
            breaks="linear denoiser: |off-span measured - closed form| / SE*",
            why="the closed form without the sampler's variance in the null modes",
        ),
    },
)
def check_bridge(run: RunSpec, off_span_law=exp.linear_off_span) -> Verdict:
    """[extension] The three theories on the same digits: the linear denoiser matches its closed form; the
    exact flow copies with no off-span variance; where the trained MLPs sit is reported.

    Control: the closed form without the null modes' variance.
    """
    m = exp.bridge(run, off_span_law)
    sz = run.sizes(exp.BRIDGE)
    ev = Evidence.of(
        "Gao & Li (exact flow), Merger & Goldt (linear denoiser, generated law of the per-mode recursion), "
        "trained MLPs: extension to the digits",
        m,
    )
    gap = np.abs(m.linear_off - m.linear_off_closed)
    z = np.divide(gap, m.linear_off_se, out=np.where(gap > 0, np.inf, 0.0), where=m.linear_off_se > 0)
    ev.at_most(
        f"linear denoiser: |off-span measured - closed form| / SE, N = {list(m.ns)}",
        z,
        K_SE,
        basis="statistical",
        why=f"Monte Carlo over {sz.samples} DDPM samples, delta-method SE of a ratio, {K_SE:g} SE; for N > d the "
        "affine hull is the whole space and both are 0 exactly",
        expected="closed form of the generated law",
        headline=True,
    )
    ev.at_least(
        "exact flow: memorization ratio, every N",
        m.exact_ratio.min(),
        1.0,
        basis="theory",
        why="exact: the flow ends on training points (tau = 40)",
        expected=1.0,
    )
    ev.at_most(
        "exact flow: off-span fraction, every N",
        m.exact_off.max(),
        1e-20,
        basis="numerical",
        why="samples on training points lie in their affine hull: float64 rounding of squared norms (~1e-30)",
        expected=0.0,
    )
    ev.report(
        "linear denoiser off-span: measured [N]", m.linear_off.tolist(), f"closed form {m.linear_off_closed.tolist()}"
    )
    ev.report("linear denoiser memorization ratio [N]", m.linear_ratio.tolist())
    ev.report(
        "trained MLP memorization ratio, seed mean [N]",
        m.mlp_ratio.mean(axis=1).tolist(),
        f"N = {list(m.mlp_ns)}; between the linear denoiser (~0) and the exact flow (1)",
    )
    ev.report("trained MLP off-span fraction, seed mean [N]", m.mlp_off.mean(axis=1).tolist())
    return ev.verdict()
