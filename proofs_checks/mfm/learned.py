"""Judges of the learned-flow (training) claims of Multisample Flow Matching, and of the straightness identity.

The measurements (:mod:`numerics.experiments.mfm_learned`) train every arm (a coupling, a block
size, a dimension) with several seeds, seed ``s`` of every arm on the same data, noise,
initialisation and time streams, and evaluate all models on the same starts and pairs. An
ordering claimed by the paper is judged on the per-seed differences: the one-sided paired
statistic :math:`z=\\bar d/(s_d/\\sqrt S)` must reach 3; every seed's value is reported.

Controls are real faults, not falsified numbers: an arm labelled BatchOT (or Stable, BatchEOT)
trained on independent pairs — the CondOT model itself — must fail the comparison it enters.
"""

from __future__ import annotations

import numpy as np

from numerics.experiments import RunSpec
from numerics.experiments import mfm_learned as exp
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check

SRC = "Pooladian et al. 2023 (MFM)"
Z_MIN = 3.0
PAIRED = (
    "one-sided paired z >= 3 over training seeds (same data, noise, init and time streams and the same evaluation "
    "draws in both arms; z = mean / SE of the per-seed differences)"
)
INDEPENDENT = "condot"  # the coupling of a mislabelled arm in the controls: independent pairs
COARSE_STEPS = 4  # an RK4 grid too coarse to resolve the time integrals of Eq. 18/19


def _paired(ev: Evidence, claim: str, diff: exp.PairedDifference, why: str, headline: bool = False) -> None:
    """Assert ``z >= 3`` for the per-seed differences of ``claim`` and report mean, SE and every seed."""
    ev.at_least(f"paired z of {claim}", diff.z, Z_MIN, why=f"{why}; {PAIRED}", headline=headline)
    ev.report(f"{claim}: mean, SE, per seed", {"mean": diff.mean, "se": diff.se, "per seed": diff.values.tolist()})


def _arm(ev: Evidence, name: str, values: np.ndarray) -> None:
    """Report an arm's mean, SE over seeds and every seed's value."""
    v = np.asarray(values, dtype=np.float64)
    ev.report(name, {"mean": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(v.size)), "per seed": v.tolist()})


@check(
    "mfm/straightness-identity",
    tier=exp.STRAIGHTNESS_IDENTITY,
    controls={
        "unresolved-quadrature": Control(
            fault={"rk4_steps": COARSE_STEPS},
            breaks="*: |S_18 - (KE - C)| / KE",
            why="4 RK4 steps cannot resolve the time integrals: Eq. 18 and Eq. 19 forms then disagree",
        )
    },
)
def check_straightness_identity(run: RunSpec, rk4_steps: int = 1000) -> Verdict:
    """Eq. 18 form of S (Simpson on the RK4 grid) equals KE - C (KE carried by RK4), for exact and trained fields.

    Part (i): exact affine fields of the Gaussian family; part (ii): the trained CondOT and BatchOT
    models of seed 0 (shared with the training claims). Control: a 4-step grid.
    """
    m = exp.straightness_identity(run, rk4_steps)
    ev = Evidence("Eqs. 18–19 (reported existence; derived form), spec mfm.md §1.4, §3", run.seed_for(50))
    rel = m.gap / m.KE
    for name, r, s, ke, c in zip(m.names, rel, m.S, m.KE, m.C):
        ev.at_most(f"{name}: |S_18 - (KE - C)| / KE", r, 1e-6, why="quadrature consistency (RK4 + Simpson, 4th order)")
        ev.report(f"{name}: S, KE, C", [s, ke, c])
    ev.at_most(
        "max over fields of |S_18 - (KE - C)| / KE", rel.max(), 1e-6, why="quadrature consistency", headline=True
    )
    ev.detail("rk4_steps", rk4_steps)
    return ev.verdict()


@check(
    "mfm/theorem-4.2-variance-straightness-limit",
    tier=exp.K_SWEEP,
    controls={
        "independent-pairs-every-k": Control(
            fault={"coupling": INDEPENDENT},
            breaks="paired z of 0.25 V_1 - V_*",
            why="every block size trained on independent pairs: no k dependence",
        )
    },
)
def check_theorem_42_variance_straightness(run: RunSpec, coupling: str = "batchot") -> Verdict:
    """Thm 4.2: under BatchOT the variance proxy V and the straightness S fall as k grows.

    Spec criteria as paired orderings over seeds (z >= 3): V_kmax <= 0.25 V_1, S_kmax <= 0.25 S_1
    and, for every k < k', V_k' <= 1.1 V_k and S_k' <= 1.1 S_k; C_kmax <= C_1. At the fast tier's sizes
    the decrease of C is not significant (a recorded known failure). Control: every k trained on
    independent pairs.
    """
    m = exp.k_sweep(run, coupling)
    ev = Evidence(
        f"{SRC}, Theorem 4.2 [reported]; spec mfm.md §3 (training defaults, k sweep)",
        {
            "train": exp.train_seeds(run, run.sizes(exp.K_SWEEP).train),
            "V": run.seed_for(99),
            "starts": run.seed_for(52),
        },
    )
    k1, km = m.ks[0], m.ks[-1]
    _paired(
        ev, f"0.25 V_{k1} - V_{km}", exp.paired(m.V[0], m.V[-1], 0.25), "spec §3: V_kmax <= 0.25 V_1", headline=True
    )
    _paired(ev, f"0.25 S_{k1} - S_{km}", exp.paired(m.S[0], m.S[-1], 0.25), "spec §3: S_kmax <= 0.25 S_1")
    _paired(
        ev,
        f"C_{k1} - C_{km}",
        exp.paired(m.C[0], m.C[-1]),
        "Theorem 4.2: C(psi_1) falls toward W2^2 as k grows (spec §3: C_256 <= C_1), shown as a paired ordering",
    )
    for name, q in (("V", m.V), ("S", m.S)):
        zs = {
            f"{m.ks[j]} vs {m.ks[i]}": exp.paired(q[i], q[j], 1.1).z
            for i in range(len(m.ks))
            for j in range(i + 1, len(m.ks))
        }
        ev.at_least(
            f"min over k < k' of the paired z of 1.1 {name}_k - {name}_k'",
            min(zs.values()),
            Z_MIN,
            why=f"spec §3: monotone in k, 10% slack; {PAIRED}",
        )
        ev.report(f"paired z of 1.1 {name}_k - {name}_k' per (k', k)", zs)
    for n, k in enumerate(m.ks):
        for name, q in (("V", m.V), ("S", m.S), ("C", m.C), ("KE", m.KE)):
            _arm(ev, f"k={k}: {name}", q[n])
    ev.report("W2^2 reference (emd2, upward biased; reporting only)", m.w2_reference)
    ev.report("mean C_k - W2^2 reference", (m.C.mean(1) - m.w2_reference).tolist())
    return ev.verdict()


@check(
    "mfm/gradient-variance-reduction",
    tier=exp.GRADIENT_VARIANCE,
    controls={
        "batchot-on-independent-pairs": Control(
            fault={"batchot_coupling": INDEPENDENT},
            breaks="paired z of G_CondOT - G_BatchOT at step *",
            why='the "BatchOT" run trained and evaluated on independent pairs',
        )
    },
)
def check_gradient_variance_reduction(run: RunSpec, batchot_coupling: str = "batchot") -> Verdict:
    """Abstract (i): BatchOT training has lower minibatch-gradient variance than CondOT (mid and end of training).

    Control: the BatchOT arm trained on independent pairs.
    """
    sz = run.sizes(exp.GRADIENT_VARIANCE)
    m = exp.gradient_variances(
        run, sz.train, {"condot": "condot", "batchot": batchot_coupling}, sz.grad_batches, sz.fractions
    )
    ev = Evidence(
        f"{SRC}, abstract (i) [paper]; spec mfm.md §3",
        {"train": exp.train_seeds(run, sz.train), "grad": run.seed_for(53)},
    )
    for n, s in enumerate(m.steps):
        diff = exp.paired(m.trace["condot"][n], m.trace["batchot"][n])
        if s < sz.train.steps // 2:
            ev.report(
                f"step {s}: mean G_BatchOT / G_CondOT (early step)",
                float(m.trace["batchot"][n].mean() / m.trace["condot"][n].mean()),
            )
            continue
        _paired(
            ev,
            f"G_CondOT - G_BatchOT at step {s}",
            diff,
            "abstract claim (i), spec §3 criterion",
            headline=s == m.steps[-1],
        )
    for lab, tr in m.trace.items():
        for n, s in enumerate(m.steps):
            _arm(ev, f"tr Cov(g) {lab}, step {s}", tr[n])
    return ev.verdict()


@check(
    "mfm/straighter-flows-consistency",
    tier=exp.CONSISTENCY,
    controls={
        "batchot-on-independent-pairs": Control(
            fault={"batchot_coupling": INDEPENDENT},
            breaks="paired z of 0.5 S_CondOT - S_BatchOT",
            why='the "BatchOT" run trained on independent pairs',
        )
    },
)
def check_straighter_flows_consistency(run: RunSpec, batchot_coupling: str = "batchot") -> Verdict:
    """Abstract (ii), Fig. 1, Table 3: BatchOT flows are straighter and their few-step samples closer to the reference.

    S_BatchOT <= 0.5 S_CondOT and kappa_m(BatchOT) < kappa_m(CondOT) for every m, paired over
    seeds. Control: the BatchOT arm trained on independent pairs.
    """
    sz = run.sizes(exp.CONSISTENCY)
    arms = {"condot": "condot", "batchot": batchot_coupling}
    m = exp.path_consistency(run, sz.train, arms, sz.starts, sz.rk4_steps, sz.nfe)
    ev = Evidence(
        f"{SRC}, abstract (ii), Fig. 1 [paper], Table 3 [reported]; spec mfm.md §3",
        {"train": exp.train_seeds(run, sz.train), "noise": run.seed_for(54)},
    )
    b, c = m.arms["batchot"], m.arms["condot"]
    _paired(
        ev, "0.5 S_CondOT - S_BatchOT", exp.paired(c.S, b.S, 0.5), "spec §3: S_BatchOT <= 0.5 S_CondOT", headline=True
    )
    for n, nfe in enumerate(m.nfe):
        _paired(
            ev,
            f"kappa_{nfe}(CondOT) - kappa_{nfe}(BatchOT)",
            exp.paired(c.kappa[n], b.kappa[n]),
            "spec §3: Fig. 1 / Table 3",
        )
    for lab, a in m.arms.items():
        for name in ("S", "KE", "C"):
            _arm(ev, f"{lab}: {name}", getattr(a, name))
        ev.report(f"{lab}: mean kappa_m (L2)", dict(zip(m.nfe, a.kappa.mean(1).tolist())))
        ev.report(f"{lab}: mean kappa_m (squared L2)", dict(zip(m.nfe, a.kappa2.mean(1).tolist())))
    for sm in sz.sigma_min_variants:
        mv = exp.path_consistency(run, sz.train, arms, sz.starts, sz.rk4_steps, sz.nfe, sigma_min=sm)
        for lab, a in mv.arms.items():
            ev.report(
                f"variant sigma_min={sm}, {lab}: mean S, mean kappa_m", [float(a.S.mean()), a.kappa.mean(1).tolist()]
            )
    ev.detail("reference", f"RK4 {sz.rk4_steps} steps, {sz.starts} noises")
    return ev.verdict()


REPORTED_TOY_V = {"condot": 10.72, "stable": 1.60, "heuristic": 1.56, "batcheot": 0.57, "batchot": 0.24}


@check(
    "mfm/variance-proxy-ordering",
    tier=exp.VARIANCE_PROXY,
    controls={
        "batchot-on-independent-pairs": Control(
            fault={"batchot": INDEPENDENT},
            breaks="paired z of 0.25 V_CondOT - V_BatchOT",
            why='the "BatchOT" run trained on independent pairs',
        ),
        "stable-on-independent-pairs": Control(
            fault={"stable": INDEPENDENT},
            breaks="paired z of V_CondOT - V_Stable",
            why='the "Stable" run trained on independent pairs',
        ),
    },
)
def check_variance_proxy_ordering(
    run: RunSpec, batchot: str = "batchot", batcheot: str = "batcheot", stable: str = "stable"
) -> Verdict:
    """Reported 2-D toy ordering of the variance proxy: BatchOT < BatchEOT < CondOT, Stable < CondOT (paired over seeds).

    Controls: the BatchOT arm, then the Stable arm, trained on independent pairs.
    """
    sz = run.sizes(exp.VARIANCE_PROXY)
    arms = {"condot": "condot", "batchot": batchot, "batcheot": batcheot, "stable": stable}
    m = exp.variance_proxies(run, sz.train, arms, sz.v_pairs)
    ev = Evidence(
        f"{SRC}, 2-D toy variance table [reported]; spec mfm.md §3, §5",
        {"train": exp.train_seeds(run, sz.train), "V": run.seed_for(99)},
    )
    V = {lab: p.V for lab, p in m.items()}
    why = "spec §3 criterion (ordering of the paper's 2-D toy table, reported)"
    _paired(ev, "0.25 V_CondOT - V_BatchOT", exp.paired(V["condot"], V["batchot"], 0.25), why, headline=True)
    _paired(ev, "V_BatchEOT - V_BatchOT", exp.paired(V["batcheot"], V["batchot"]), why)
    _paired(ev, "V_CondOT - V_BatchEOT", exp.paired(V["condot"], V["batcheot"]), why)
    _paired(ev, "V_CondOT - V_Stable", exp.paired(V["condot"], V["stable"]), why)
    for lab in arms:
        _arm(ev, f"V {lab}", V[lab])
    order = sorted(arms, key=lambda lab: -V[lab].mean())
    ev.report("measured order (largest mean V first)", " > ".join(f"{lab} {V[lab].mean():.3g}" for lab in order))
    ev.report(
        "reported order (toy data set unknown; not comparable)",
        " > ".join(f"{lab} {v}" for lab, v in REPORTED_TOY_V.items()),
    )
    for eps in sz.eot_eps_variants:
        mv = exp.variance_proxies(run, sz.train, {"batcheot": batcheot}, sz.v_pairs, eot_eps_rel=eps)
        _arm(ev, f"variant eot_eps_rel={eps}: V BatchEOT", mv["batcheot"].V)
    return ev.verdict()


@check(
    "mfm/lower-transport-cost-high-dim",
    tier=exp.COST_VS_DIM,
    controls={
        "batchot-on-independent-pairs": Control(
            fault={"batchot_coupling": INDEPENDENT},
            breaks="paired z of C_CondOT - C_BatchOT, d=32",
            # d = 32 alone: the dimension the control names (the positive case passes there)
            sizes={"dims": (32,)},
            why='the "BatchOT" runs trained on independent pairs',
        )
    },
)
def check_lower_transport_cost_high_dim(run: RunSpec, batchot_coupling: str = "batchot") -> Verdict:
    """Abstract (iii): BatchOT learned maps have lower transport cost than CondOT, d in {2, 8, 32} (paired over seeds).

    Control: the BatchOT arms trained on independent pairs.
    """
    sz = run.sizes(exp.COST_VS_DIM)
    m = exp.transport_costs(
        run, sz.train, {"condot": "condot", "batchot": batchot_coupling}, sz.dims, sz.starts, sz.rk4_steps
    )
    ev = Evidence(
        f"{SRC}, abstract (iii) [paper]; spec mfm.md §3 (mixture of 8 Gaussians, means seed 55)",
        {"train": exp.train_seeds(run, sz.train), "starts": run.seed_for(55)},
    )
    zs = {}
    for d in m.dims:
        diff = exp.paired(m.C[d]["condot"], m.C[d]["batchot"])
        zs[d] = diff.z
        _paired(ev, f"C_CondOT - C_BatchOT, d={d}", diff, "abstract claim (iii), spec §3 criterion")
        ev.report(
            f"d={d}: mean C/c1 (BatchOT, CondOT)",
            [float(m.C[d]["batchot"].mean() / m.c1[d]), float(m.C[d]["condot"].mean() / m.c1[d])],
        )
        for lab, c in m.C[d].items():
            _arm(ev, f"d={d}: C {lab}", c)
    ev.at_least(
        "min over d of the paired z of C_CondOT - C_BatchOT", min(zs.values()), Z_MIN, why=PAIRED, headline=True
    )
    return ev.verdict()
