"""Judge of ``digits/trained-memorization-falls-with-n`` (measurement: :mod:`numerics.experiments.digits.trained`)."""

from __future__ import annotations

from numerics.experiments import RunSpec
from numerics.experiments.digits import trained as exp
from numerics.memorization import COPY_RATIO
from proofs_checks.evidence import Evidence, Verdict
from proofs_checks.registry import Control, check


@check(
    "digits/trained-memorization-falls-with-n",
    title="a trained velocity MLP's memorization ratio falls as $N$ grows at fixed width (seed ensembles)",
    tag="derived",
    kinds=("training",),
    tier=exp.TRAINED_MEMORIZATION,
    controls={
        "every-sample-a-copy": Control(
            fault={"threshold": 1.0},
            breaks="ratio(N=*) - ratio(N=*) over * seeds",
            why="copy criterion r < 1 instead of 1/3: every sample counts as a copy at every N",
        ),
    },
)
def check_trained_memorization(run: RunSpec, threshold: float = COPY_RATIO) -> Verdict:
    """[extension] At fixed width, the memorization ratio of trained MLPs falls from the smallest to the largest N.

    Paired over seeds (the same seed's runs at both N share initialisation streams and sampling
    noise). Control: the copy criterion r < 1 (every sample a copy).
    """
    m = exp.trained_memorization(run, threshold)
    sz = run.sizes(exp.TRAINED_MEMORIZATION)
    ev = Evidence.of(
        "extension beyond the three papers: trained velocity models on digits (Yoon et al. 2023 ratio)",
        m,
    )
    ev.ordering(
        f"ratio(N={m.ns[0]}) - ratio(N={m.ns[-1]}) over {sz.seeds} seeds",
        m.ratio[0] - m.ratio[-1],
        why="the fall of the memorization ratio with N at fixed width; one-sided paired t-test over seeds, "
        "Holm at family-wise α = 0.01",
        headline=True,
    )
    ev.report("memorization ratio [N][seed]", m.ratio.round(4).tolist(), f"N = {list(m.ns)}, width {sz.width}")
    ev.report("affine off-span fraction [N][seed]", m.off_span.tolist())
    return ev.verdict()
