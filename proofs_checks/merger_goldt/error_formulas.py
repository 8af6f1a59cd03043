"""Judge of ``merger-goldt/test-train-error-formulas`` (measurement: :mod:`numerics.experiments.merger_goldt.error_formulas`); its controls' wrong forms."""

from __future__ import annotations

import numpy as np

from numerics import linear_diffusion as ld
from numerics.experiments import RunSpec
from numerics.experiments.merger_goldt import error_formulas as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.merger_goldt._shared import within_four_se
from proofs_checks.registry import Control, check


def e_test_without_mean_term(w, u, lam, s, mean_offset=None) -> np.ndarray:
    """:math:`E^{\\rm test}` without the mean term :math:`\\bar\\alpha_t\\|W(\\mu-\\hat\\mu)\\|^2`."""
    return ld.denoising_error(w, u, lam, s)


@check(
    "merger-goldt/test-train-error-formulas",
    title="closed forms of test and train denoising errors",
    tag="derived",
    kinds=("monte-carlo",),
    tier=exp.ERROR_FORMULAS,
    controls={
        "mean-term-dropped": Control(
            fault={"test_error": e_test_without_mean_term},
            breaks="max over cases (N, ridge, t) of |MC - E_test| / SE",
            why="E_test without alpha_bar ||W (mu - mu_hat)||^2",
        )
    },
)
def check_test_train_error_formulas(run: RunSpec, test_error=ld.denoising_error, train_error=ld.train_error) -> Verdict:
    """Closed forms of E_test (mean term included) and E_train (§1.4) against Monte Carlo.

    Control: E_test without its mean term.
    """
    m = exp.error_formulas(run, test_error, train_error)
    sz = run.sizes(exp.ERROR_FORMULAS)
    ev = Evidence.of("spec merger_goldt.md §1.4 (test/train errors, derived)", m)
    within_four_se(
        ev,
        "max over cases (N, ridge, t) of |MC - E_test| / SE",
        m.test.z.max(),
        f"{sz.test_samples} fresh samples",
        True,
    )
    within_four_se(
        ev,
        "max over cases (N, ridge, t) of |MC - E_train| / SE",
        m.train.z.max(),
        f"all N training points x {sz.train_noises} noises (one noise draw shared by the points)",
    )
    ev.detail("cases (N, ridge, t)", m.cases)
    ev.report("|MC - E_test| / SE per case", m.test.z.tolist())
    ev.report("|MC - E_train| / SE per case", m.train.z.tolist())
    ev.report("E_test closed form per case", m.test.closed_form.tolist())
    ev.report("E_train closed form per case", m.train.closed_form.tolist())
    return ev.verdict()
