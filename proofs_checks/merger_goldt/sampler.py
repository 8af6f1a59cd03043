"""Judge of ``merger-goldt/sampler-gaussian-recursion`` (measurement: :mod:`numerics.experiments.merger_goldt.sampler`); its controls' wrong forms."""

from __future__ import annotations

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import sampler as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check
from theory import linear_diffusion as sym


# -------------------------------------------------------------------------- wrong forms (controls)
def mode_recursion_previous_weight(lam_hat: np.ndarray, schedule: ld.Schedule, **kw) -> ld.GeneratedModes:
    """The recursion with :math:`a_t` evaluated at the previous step's weight :math:`w_{t-1}` (:math:`w_1` at t = 1).

    An off-by-one in the weight index: it leaves the null modes alone (:math:`a_1=0` still) and moves
    :math:`f` by 4-6% at :math:`\\hat\\lambda\\approx10^{-3}..10^{-2}`, by < 1% at :math:`\\hat\\lambda\\gtrsim0.3`.
    """
    prev = dict(zip(schedule.one_minus_abar.tolist(), schedule.one_minus_abar_prev.tolist()))
    coef = sym.sampler_coefficient()

    def lagged(w, s, beta):
        s_prev = prev[float(s)] or float(s)
        return coef(ld.mode_weights(lam_hat, s_prev, kw.get("ridge", 0.0)), s, beta)

    return ld.mode_recursion(lam_hat, schedule, coefficient=lagged, **kw)


def mode_recursion_final_noise_always(lam_hat: np.ndarray, schedule: ld.Schedule, **kw) -> ld.GeneratedModes:
    """The recursion that adds the last step's noise whatever ``final_noise`` says."""
    return ld.mode_recursion(lam_hat, schedule, **{**kw, "final_noise": True})


# -------------------------------------------------------------------------- checks
@check(
    "merger-goldt/sampler-gaussian-recursion",
    title="the DDPM sampler with a linear denoiser outputs the Gaussian of the per-mode recursion",
    tag="derived",
    kinds=("monte-carlo",),
    tier=exp.SAMPLER_RECURSION,
    controls={
        "weight-index-lagged": Control(
            fault={"recursion": mode_recursion_previous_weight},
            breaks="N=40 k=3.0: mode variances*",
            sizes={"samples": 100_000, "training_sets": ((40, 3.0),), "variants": (("beta", True, "zero"),)},
            why="a_t with w_{t-1}: f moves by ~4% at lambda_hat ~ 1e-2, 2.2x the 4-SE tolerance at M = 1e5",
        ),
        "final-noise-ignored": Control(
            fault={"recursion": mode_recursion_final_noise_always},
            breaks="N=5 k=1.0: mode variances*",
            why="the recursion adds sigma_1^2 without final noise: null modes predicted at beta_1 instead of 0",
        ),
    },
)
def check_sampler_recursion(run: RunSpec, recursion=ld.mode_recursion) -> Verdict:
    """The dense DDPM sampler with the linear denoiser outputs N(mu_gen, Sigma_gen) of the per-mode recursion (§1.6).

    Every variant of sigma^2, final noise and mean of u_T, on the spec's training sets (d = 10,
    k = 1, N = 5 and 40) and a steep spectrum (k = 3) with eigenvalues near 1e-2, where an index
    error in the weights shows. Controls: the weight index lagged by one step (at M = 1e5); the
    final-noise flag ignored by the recursion.
    """
    m = exp.sampler_recursion(run, recursion)
    ev = Evidence.of("spec merger_goldt.md §1.6 (per-mode recursion, derived)", m)
    n_samples = m.samples
    # The dense sampler leaves float64 residue in each eigen-coordinate: terms of size |W_1 mu_hat|
    # ~ 300 (null-mode weight 1/sqrt(1 - abar_1) ~ 95) cancel in the last step, so the residue is
    # up to eps * 300 * d ~ 1e-12 (observed <= 6e-14 on null modes, where f = 0 and the spec's
    # bound is 0). A residue e of that size shifts cov(x_i + e_i, x_j + e_j) by at most
    # (sqrt f_i + sqrt f_j) delta + delta^2 (Cauchy-Schwarz) and a mean by delta: each 4-SE bound
    # gets that allowance, negligible wherever f > 1e-20.
    delta = 1e-12
    steep = max(k for _, k in m.training_sets)
    for j, (n, k) in enumerate(m.training_sets):
        f, cov, mean = m.f[j], m.moments.cov[j], m.moments.mean[j]
        var = np.diagonal(cov, axis1=-2, axis2=-1)
        sd = np.sqrt(f)
        z_var = np.abs(var - f) / (4 * np.sqrt(2 / n_samples) * f + 2 * sd * delta + delta**2)
        off = np.abs(cov - np.einsum("vi,ij->vij", var, np.eye(f.shape[-1])))
        pair_sd = np.einsum("vi,vj->vij", sd, sd)
        z_off = off / (4 * pair_sd / np.sqrt(n_samples) + (sd[:, :, None] + sd[:, None, :]) * delta + delta**2)
        z_mean = np.abs(mean - m.mean_gen[j]) / (4 * sd / np.sqrt(n_samples) + delta)
        tag = f"N={n} k={k}"
        ev.at_most(
            f"{tag}: mode variances, max over modes and variants (units of 4 SE)",
            float(z_var.max()),
            1.0,
            basis="statistical",
            why=f"4 SE of a sample variance, sqrt(2/M) f relative (M = {n_samples})",
            headline=k == steep,
        )
        ev.at_most(
            f"{tag}: off-diagonals in the eigenbasis (units of 4 SE)",
            float(z_off.max()),
            1.0,
            basis="statistical",
            why="4 SE of a sample covariance, sqrt(f_i f_j / M)",
        )
        ev.at_most(
            f"{tag}: mean (units of 4 SE)",
            float(z_mean.max()),
            1.0,
            basis="statistical",
            why="4 SE of a sample mean, sqrt(f / M)",
        )
        ev.report(f"{tag}: smallest nonzero eigenvalue of Sigma_hat", float(m.lam_hat[j][m.lam_hat[j] > 0].min()))
    ev.detail("variants (sigma^2, final_noise, u_T mean)", m.variants)
    return ev.verdict()
