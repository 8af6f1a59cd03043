r"""Judges of claim ``gao-li/off-subspace-decay``: the off-subspace part decays like sigma_t along the exact flow."""

from __future__ import annotations

from numerics.empirical_field import optimal_velocity
from numerics.experiments import RunSpec
from numerics.experiments.gao_li import PLAIN_RTOL, SIGMA_MINS
from numerics.experiments.gao_li.off_subspace_decay import DECAY_KINDS, OFF_SUBSPACE_DECAY, off_subspace_decay
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.gao_li._shared import SYMPY, field_shifted_off_coefficient
from proofs_checks.registry import Control, check


@check(
    "gao-li/off-subspace-decay",
    title="$x_\\perp(t)=\\sigma_tx_\\perp(0)$ along the exact flow",
    tag="derived",
    kinds=("high-precision-ode",),
    tier=OFF_SUBSPACE_DECAY,
    controls={
        "off-coefficient": Control(
            fault={"field": field_shifted_off_coefficient},
            breaks="max |x_perp(t) - law| / |x_perp(0)|*",
            sizes={"starts": 4},
            why="the field with 1 - (sigma_min + 0.02) in its -(1 - sigma_min) x / sigma_t term",
        )
    },
    follows_path=True,
)
def check_off_subspace_decay(run: RunSpec, field=optimal_velocity) -> Verdict:
    """Fact (c): :math:`x_\\perp(t)=(\\sigma_t/\\sigma_0)x_\\perp(0)` (span),
    :math:`y(t)=\\alpha_tm_\\perp+(\\sigma_t/\\sigma_0)(y(0)-\\alpha_0m_\\perp)` (affine); on the OT path
    :math:`\\sigma_tx_\\perp(0)` and :math:`tm_\\perp+\\sigma_ty(0)`.

    The field is integrated in ``t`` by SciPy DOP853 (no exactly integrated linear part).
    Control: a field with a wrong off-subspace coefficient.
    """
    m = off_subspace_decay(run, field)
    sz = run.sizes(OFF_SUBSPACE_DECAY)
    ev = Evidence.of("fact (c), spec gao_li.md §2 (derived; the path's laws in theory.paths)", m)
    ev.holds(
        "x_perp(t) = (sigma_t/sigma_0) x_perp(0) solves x_perp' = (sigma_t'/sigma_t) x_perp (symbolic)",
        m.span_law_zero,
        basis="theory",
        why=SYMPY,
        measured="residual 0",
    )
    ev.holds(
        "(affine) y(t) = alpha_t m_perp + (sigma_t/sigma_0)(y(0) - alpha_0 m_perp) solves y' = u_t(y | m_perp)",
        m.affine_law_zero,
        basis="theory",
        why=SYMPY,
        measured="residual 0",
    )
    names = [f"sigma_min={s}" for s in SIGMA_MINS] if run.path is None else list(m.labels)
    cases = [f"{k}, {s}" for s in names for k in DECAY_KINDS]
    ev.at_most(
        f"max |x_perp(t) - law| / |x_perp(0)| over t in {sz.times} + t_end, per ({'; '.join(cases)})",
        m.worst,
        1e-9,
        basis="numerical",
        why=f"spec: 1e-9 (solver tolerance; DOP853 rtol {PLAIN_RTOL:g}; t_end = 1 - {sz.end_gap:g} for sigma_1 = 0)",
        headline=True,
    )
    ev.detail("nfev per sigma_min" if run.path is None else "nfev", [f.nfev for f in m.flows])
    return ev.verdict()
