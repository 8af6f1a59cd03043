r"""Gao & Li 2024: the measurements of the `gao-li/` claims, one module per topic (the judges in
:mod:`proofs_checks.gao_li` and the figures in :mod:`figures.gao_li` have modules of the same names).

The exact flow of an empirical target (17 claims).

Setting (spec ``gao_li.md`` §1): prior :math:`\mathcal N(0,I_d)`, target uniform over the rows of
a data set of :mod:`numerics.datasets`, an affine Gaussian path (:mod:`numerics.paths`; the spec's
conditional OT path :class:`~numerics.paths.CondOTPath` with :math:`\sigma_{\min}\in\{0,0.01\}` by
default, or ``run.path`` for the claims that follow one: :func:`flow_paths`) and its closed-form
optimal field (:mod:`numerics.empirical_field`). Each claim has a
:class:`~numerics.experiments.Tier` (sizes of the spec's claims table, §3) and a measurement
``f(run, *, <what a negative control may replace>) -> <dataclass>``: the thing under test (a
field, a closed form, a bound, a prior) is an argument, so a control passes one wrong one.

Independent routes. Every comparison sets an implementation against something computed another
way: SymPy derivations (:mod:`theory.flow_matching`), mpmath at 30–50 digits, a Bayes posterior
with SciPy's normalised Gaussian densities, SciPy's DOP853 on the plain field in ``t``
(:func:`plain_flow`; the engine's integrator treats the linear part exactly, so it cannot test
that part of the field), Monte Carlo, finite differences and autograd.

Learned velocity fields (OSDNet and plain MLPs), the five learned-model claims.

One training run of OSDNet (spec ``gao_li.md`` §2: ``sparse-d20``, learned off-subspace head,
conditional flow matching, :math:`\sigma_{\min}=0.01`, width 256, 5000 steps, checkpoints
``{0,250,500,1000,2000,3000,5000}``) is shared by the five learned-model claims ("same run" in the
claims table). A run is a frozen :class:`LearnedFieldConfig`; :func:`numerics.training.trained`
trains it once per process and once per disk cache.

Sizes. Every claim has a :class:`~numerics.experiments.Tier`: the spec's sizes (§3 claims table)
and the fast tier's, which trains width 64 for 2000 steps (checkpoints ``{0,250,500,1000,1500,
2000}``: every step a criterion names, 250 and 1000, is a checkpoint in both tiers) and uses fewer
starts, so the fast verdicts are ``verified-reduced``.

Measurements (typed results; shared by checks and figures through
:func:`~numerics.experiments.measured`):

- :func:`exact_off_head_runs`: off-subspace endpoints of OSDNets with the closed-form off head;
- :func:`off_subspace_identity_run`: the variation-of-constants identity along the final model's paths;
- :func:`checkpoint_trend`: per checkpoint, samples, off-subspace decay, closeness, diversity and
  the excess loss (:func:`checkpoint_samples`, :func:`checkpoint_excess`);
- :func:`checkpoint_bounds`: per checkpoint, the learned-vs-exact error and the Grönwall bound.

Every checkpoint of a run is evaluated at once (a stack, :func:`numerics.nets.stack_checkpoints`)
in float64 on the training device (:func:`numerics.training.default_device`).

Faults (negative controls) enter as arguments: the field a run is evaluated with
(:func:`off_head_frozen_at_init`, :func:`exact_field_at_every_checkpoint`), the σmin of a closed-form
head, the kernel of the identity, the one-sided rate of the bound.

What several topics share is in the private modules ``_shared`` (the exact-flow setting) and
``_osdnet_run`` (the shared OSDNet training run); their public names are re-exported here.
"""

from __future__ import annotations

from numerics.experiments.gao_li._osdnet_run import (
    ARCHITECTURES,
    DATA,
    FAST_CHECKPOINTS,
    FAST_TRAIN,
    SEED_BOUND,
    SEED_COPIES,
    SEED_EXCESS,
    SEED_HEADS,
    SEED_IDENTITY,
    SEED_TRAIN,
    SEED_TREND,
    SIGMA_MIN,
    SPEC_CHECKPOINTS,
    SPEC_TRAIN,
    STREAM_DATA,
    STREAM_INIT_F,
    STREAM_INIT_G,
    STREAM_NOISE,
    STREAM_TIME,
    TARGETS,
    VARIANTS,
    FieldOfRun,
    LearnedFieldConfig,
    TrainSizes,
    checkpoint_excess,
    checkpoint_steps,
    exact_field_at_every_checkpoint,
    off_head_frozen_at_init,
    run_config,
    seeded_starts,
    spec_section,
    trained_checkpoints,
    trained_run,
)
from numerics.experiments.gao_li._shared import (
    MP_REFERENCE_CASE,
    MP_REFERENCE_FILE,
    PATHS_MP_CASE,
    PATHS_MP_REFERENCE_FILE,
    PLAIN_ATOL,
    PLAIN_RTOL,
    SIGMA_MINS,
    TINY_SYMBOLIC,
    Field,
    PlainFlow,
    PointsSizes,
    SymbolicSizes,
    compute_mp_reference,
    compute_path_mp_reference,
    decay_error,
    flow_paths,
    is_zero,
    mixture_density,
    mp_reference,
    mp_reference_path,
    nearest,
    path_key,
    paths_text,
    plain_flow,
    spec_row,
    stop_times,
    stored_mp_reference,
    stored_path_mp_references,
    terminal_points,
)

__all__ = [
    "ARCHITECTURES",
    "DATA",
    "FAST_CHECKPOINTS",
    "FAST_TRAIN",
    "MP_REFERENCE_CASE",
    "MP_REFERENCE_FILE",
    "PATHS_MP_CASE",
    "PATHS_MP_REFERENCE_FILE",
    "PLAIN_ATOL",
    "PLAIN_RTOL",
    "SEED_BOUND",
    "SEED_COPIES",
    "SEED_EXCESS",
    "SEED_HEADS",
    "SEED_IDENTITY",
    "SEED_TRAIN",
    "SEED_TREND",
    "SIGMA_MIN",
    "SIGMA_MINS",
    "SPEC_CHECKPOINTS",
    "SPEC_TRAIN",
    "STREAM_DATA",
    "STREAM_INIT_F",
    "STREAM_INIT_G",
    "STREAM_NOISE",
    "STREAM_TIME",
    "TARGETS",
    "TINY_SYMBOLIC",
    "VARIANTS",
    "Field",
    "FieldOfRun",
    "LearnedFieldConfig",
    "PlainFlow",
    "PointsSizes",
    "SymbolicSizes",
    "TrainSizes",
    "checkpoint_excess",
    "checkpoint_steps",
    "compute_mp_reference",
    "compute_path_mp_reference",
    "decay_error",
    "exact_field_at_every_checkpoint",
    "flow_paths",
    "is_zero",
    "mixture_density",
    "mp_reference",
    "mp_reference_path",
    "nearest",
    "off_head_frozen_at_init",
    "path_key",
    "paths_text",
    "plain_flow",
    "run_config",
    "seeded_starts",
    "spec_row",
    "spec_section",
    "stop_times",
    "stored_mp_reference",
    "stored_path_mp_references",
    "terminal_points",
    "trained_checkpoints",
    "trained_run",
]
