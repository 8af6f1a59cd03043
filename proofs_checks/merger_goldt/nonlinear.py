"""Judge of ``merger-goldt/linear-vs-nonlinear`` (measurement: :mod:`numerics.experiments.merger_goldt.nonlinear`); its controls' wrong forms."""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import nonlinear as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


def another_training_set(seeds: tuple[int, ...], n: int) -> tuple[int, ...]:
    """The MLP's data seed off the linear model's: another draw of the same law."""
    return (*seeds, n, 1)


@check(
    "merger-goldt/linear-vs-nonlinear",
    title="nonlinear denoiser behaves like the linear one qualitatively; leading directions compared",
    tag="reported",
    kinds=("training",),
    tier=exp.LINEAR_VS_NONLINEAR,
    controls={
        "other-training-set": Control(
            fault={"data_seed": another_training_set},
            breaks="N=10: fraction of generated variance outside mu_hat + range(Sigma_hat), MLP",
            sizes={"ns": (10,)},
            why="the MLP trained on another draw of N = 10 points than the linear model",
        ),
        "trained-with-ho-schedule": Control(
            fault={"train_beta_max": 0.02},
            breaks="N=80: top-* generated eigenvalues, max |MLP / linear theory - 1|",
            sizes={"ns": (80,)},
            why="MLP trained with beta_max = 0.02 (Ho et al.), sampled with the paper's schedule",
        ),
    },
)
def check_linear_vs_nonlinear(run: RunSpec, data_seed=exp.same_training_set, train_beta_max=1e-2) -> Verdict:
    """[reported] Linear and nonlinear denoisers behave similarly in quality; their leading directions compared.

    Spec criterion (N = 10 < d): both keep the generated variance in the data's affine span.
    Quality, asserted per N: the MLP's top generated eigenvalues agree with the linear theory
    f(lambda_hat) to the resolution at which the N training points determine them, sqrt(2/N)
    relative (the standard deviation of a sample-covariance eigenvalue, Anderson 1963), plus 4 SE
    of the MLP's own sample eigenvalues, 4 sqrt(2/M). The leading directions (principal angles of
    the top eigenvectors) are reported with the linear simulation as the sampling reference, as
    the spec asks, without pass/fail. Controls: the MLP trained on another training set; the MLP
    trained with another noise schedule than it is sampled with.
    """
    m = exp.linear_vs_nonlinear(run, data_seed, train_beta_max)
    spectra = m.spectra
    sz = run.sizes(exp.LINEAR_VS_NONLINEAR)
    ev = Evidence.of(
        "spec merger_goldt.md §3 row linear-vs-nonlinear ([reported] summary; protocol proposed by the spec)", m
    )
    top = sz.top
    for r in spectra:
        if r.n < sz.d:
            for name, frac in (("MLP", r.outside_mlp), ("linear", r.outside_linear)):
                ev.at_most(
                    f"N={r.n}: fraction of generated variance outside mu_hat + range(Sigma_hat), {name}",
                    frac,
                    0.2,
                    basis="spec",
                    why="spec criterion: memorising models stay in the span of the training set",
                )
        ev.at_most(
            f"N={r.n}: top-{top} generated eigenvalues, max |linear simulation / linear theory - 1|",
            np.abs(r.eig_linear[:top] / r.f_theory[:top] - 1).max(),
            4 * np.sqrt(2 / r.samples),
            basis="statistical",
            why=f"4 SE of a sample eigenvalue, sqrt(2/M) relative (M = {r.samples}): the protocol's sampling noise",
        )
        ev.at_most(
            f"N={r.n}: top-{top} generated eigenvalues, max |MLP / linear theory - 1|",
            np.abs(r.eig_mlp[:top] / r.f_theory[:top] - 1).max(),
            np.sqrt(2 / r.n) + 4 * np.sqrt(2 / r.samples),
            basis="statistical",
            why="similar quality: within the training set's own resolution of an eigenvalue, sqrt(2/N) relative, "
            "plus 4 SE of the MLP's sample eigenvalues",
            headline=r.n == max(sz.ns),
        )
        ev.report(f"N={r.n}: top-{top} eigenvalues, linear theory f(lambda_hat)", r.f_theory[:top].tolist())
        ev.report(f"N={r.n}: top-{top} eigenvalues, linear simulation", r.eig_linear[:top].tolist())
        ev.report(f"N={r.n}: top-{top} eigenvalues, MLP", r.eig_mlp[:top].tolist())
        for a, b in (("mlp", "linear"), ("mlp", "theory"), ("linear", "theory")):
            ev.report(
                f"N={r.n}: principal angles (deg), top-{top} eigenvectors, {a} vs {b}", r.angles(top, a, b).tolist()
            )
    return ev.verdict()
