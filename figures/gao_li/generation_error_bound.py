r"""Figures of claim ``gao-li/generation-error-bound``: the Grönwall bound on the generation error of a learned field."""

from __future__ import annotations

import numpy as np

from figures.gao_li._shared import pyplot
from figures.registry import FigureOutput, figure
from numerics.experiments import RunSpec
from numerics.experiments.gao_li import SEED_IDENTITY, SIGMA_MIN
from numerics.experiments.gao_li.generation_error_bound import BOUND, checkpoint_bounds
from numerics.experiments.gao_li.osdnet_off_subspace_identity import IDENTITY, off_subspace_identity_run


@figure(
    "gao-li/fig-osdnet-bounds",
    "Learned-field bounds against measured values, sample by sample",
    claims=("gao-li/osdnet-off-subspace-identity", "gao-li/generation-error-bound"),
    slow=True,
)
def fig_osdnet_bounds(run: RunSpec) -> FigureOutput:
    plt = pyplot()
    idt = off_subspace_identity_run(run)
    bounds = checkpoint_bounds(run)
    vals = dict(
        off1=np.linalg.norm(idt.off1, axis=1),
        off_bound=SIGMA_MIN * np.linalg.norm(idt.off0, axis=1) + idt.norm_integral,
        error=bounds.error[-1],
        bound=bounds.bound[-1],
        log10_global=bounds.log10_global[-1],
    )
    fig, ax = plt.subplots(1, 2, figsize=(10, 4.4))
    for a, (meas, bnd, name) in zip(
        ax,
        [
            (vals["off1"], vals["off_bound"], "off-subspace: ‖x⊥(1)‖"),
            (vals["error"], vals["bound"], "generation error ‖x(1)−x*(1)‖"),
        ],
    ):
        a.scatter(bnd, meas, s=8, alpha=0.6)
        lo, hi = min(bnd.min(), meas.min()), max(bnd.max(), meas.max())
        a.plot([lo, hi], [lo, hi], "k--", lw=1, label="measured = bound")
        a.set(xscale="log", yscale="log", xlabel="bound", ylabel="measured", title=name)
        a.legend(fontsize=7)
    ax[0].set_xlabel("σmin‖x⊥(0)‖ + ∫σmin/σs‖e⊥‖ds")
    ax[1].set_xlabel(f"pathwise bound b(1)  (global Lipschitz bound: 10^{np.median(vals['log10_global']):.0f})")
    fig.tight_layout()
    isz, bsz = run.sizes(IDENTITY), run.sizes(BOUND)
    caption = (
        f"Final OSDNet checkpoint (step {int(bounds.steps[-1])}); left: {isz.starts} starts (seed 26), RK4 "
        f"{isz.ode_steps} steps; right: {bsz.starts} starts (seed 28), RK4 {bsz.ode_steps} steps. Each point is one "
        "sample; every point lies on or below the diagonal (claims gao-li/osdnet-off-subspace-identity, "
        "gao-li/generation-error-bound). The rigorous global version of the Grönwall bound is astronomically "
        "loose; its median log10 is in the axis label."
    )
    params = dict(identity=isz.as_dict(), bound=bsz.as_dict())
    return FigureOutput(fig, vals, params, caption, seed=run.seed_for(SEED_IDENTITY))
