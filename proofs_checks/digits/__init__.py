"""Real digits: extensions of the three papers to scikit-learn's bundled digits (checks in ``checks``)."""

from __future__ import annotations

from proofs_checks.claims import Paper, claim

CLAIMS = (
    claim(
        "digits/exact-flow-memorizes",
        "the exact flow of $N$ digits lands on a training point (memorization ratio 1), each with mass $1/N$",
        "derived",
        ("high-precision-ode", "monte-carlo"),
    ),
    claim(
        "digits/trained-memorization-falls-with-n",
        "a trained velocity MLP's memorization ratio falls as $N$ grows at fixed width (seed ensembles)",
        "derived",
        ("training",),
    ),
    claim(
        "digits/kl-d-over-4n",
        "with the digits as population, the linear model's excess KL per dimension is "
        "$\\kappa\\,d/(4N)$ ($\\kappa$ the digits' fourth-moment factor), not the Gaussian $d/(4N)$",
        "derived",
        ("monte-carlo",),
    ),
    claim(
        "digits/transition-at-n-equals-d",
        "on the digits spectrum the KL per dimension drops sharply as $N$ crosses $d=61$",
        "derived",
        ("monte-carlo",),
    ),
    claim(
        "digits/bridge",
        "memorization ratio and off-span variance vs $N/d$: exact flow, linear denoiser (matches its closed form), "
        "trained MLPs",
        "derived",
        ("training", "monte-carlo"),
    ),
)

PAPER = Paper(
    id="digits",
    title="Real digits — extensions beyond the three papers (scikit-learn's bundled 8×8 digits)",
    source_note="These claims are extensions beyond the three papers: none of them states a result on real data. "
    "Each takes a setting of Gao & Li (the exact flow), Merger & Goldt (the linear diffusion model and its KL law) "
    "or the suite's trained velocity models to the 1797 bundled digits (61 non-constant pixels, dequantised, "
    "standardised; numerics/digits.py). Sizes and tolerances are this project's.",
    out_of_reach="No paper reports numbers on these data: nothing here is compared with a published value.",
    claims=CLAIMS,
    check_modules=("proofs_checks.digits.checks",),
    order=10,
)
