"""Real digits: extensions of the three papers to scikit-learn's bundled digits (judges discovered in its topic modules)."""

from __future__ import annotations

from proofs_checks.claims import Paper

PAPER = Paper(
    id="digits",
    title="Real digits — extensions beyond the three papers (scikit-learn's bundled 8×8 digits)",
    source_note="These claims are extensions beyond the three papers: none of them states a result on real data. "
    "Each takes a setting of Gao & Li (the exact flow), Merger & Goldt (the linear diffusion model and its KL law) "
    "or the suite's trained velocity models to the 1797 bundled digits (61 non-constant pixels, dequantised, "
    "standardised; numerics/digits.py). Sizes and tolerances are this project's.",
    out_of_reach="No paper reports numbers on these data: nothing here is compared with a published value.",
    order=10,
)
