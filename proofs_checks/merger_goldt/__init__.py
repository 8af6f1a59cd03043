"""Merger & Goldt 2025: the paper record (judges discovered in its topic modules, one per topic of :mod:`numerics.experiments.merger_goldt`)."""

from __future__ import annotations

from proofs_checks.claims import Paper

PAPER = Paper(
    id="merger-goldt",
    title="Merger & Goldt 2025 — Generalization Dynamics of Linear Diffusion Models",
    source_note="Only the abstracts, the opening of the introduction, the first author's talk slides (schedule, sampler, "
    "loss) and a third-party summary (the d/(4N) law) are available. Every other formula — linear denoiser, "
    "errors, deterministic equivalent, generated covariance, KL variants — is reconstructed from the setting "
    "for this project; the paper's exact forms (normalisation, KL direction, constants) are not confirmed.",
    out_of_reach="No table or figure value of the paper is available. The only quantitative statements, the d/(4N) law and "
    "the transition near N = d, are checked above; nothing else is reproduced.",
    order=3,
)
