r"""Linear diffusion models (Merger & Goldt, spec ``merger_goldt.md``): the measurements of the
``merger-goldt/`` claims and figures, one module per topic (the same names as the judges in
:mod:`proofs_checks.merger_goldt` and the figures in :mod:`figures.merger_goldt`).

Each measurement is a function ``f(run, *, <injection points>) -> <dataclass>`` whose sizes come
from its :class:`~numerics.experiments.Tier` (the spec's sizes, from §3, and the fast tier's).
The injection points are the closed form or law under test (a schedule, a loss, a weight law, a
recursion, a KL); a negative control passes one wrong version. The independent computations
(Monte Carlo over noises, samples or training sets, an ODE solve, PyTorch training, SymPy) do not
depend on the injection points, so they are memoised with :func:`~numerics.experiments.measured`
and a control costs only the re-evaluation of the closed form.

Training sets (spec §1.2, :mod:`._shared`): one white matrix :math:`Z` per seed
(:func:`~numerics.datasets.white_samples`) gives :math:`X=Z\Sigma_k^{1/2}` for every spectrum
:math:`k` (common random numbers across spectra); their eigen-decomposed empirical moments are
:class:`EmpiricalModes` (:func:`empirical_modes_task`, a sweep task over :math:`N`), the generated
law of the linear sampler on them is :class:`GeneratedLaw` (per-mode recursion of §1.6, vectorised
over seeds and spectra). Engines: :mod:`numerics.linear_diffusion` (schedule, weights, recursion,
KL, errors, deterministic equivalent) and :mod:`numerics.linear_diffusion_torch` (trained denoisers).
The training-set pieces are this package's public surface for other papers (``digits/``).
"""

from numerics.experiments.merger_goldt._shared import (
    EmpiricalModes,
    GeneratedLaw,
    SamplerSetting,
    empirical_modes,
    empirical_modes_task,
    generated_law,
    population_kl,
)

__all__ = [
    "EmpiricalModes",
    "GeneratedLaw",
    "SamplerSetting",
    "empirical_modes",
    "empirical_modes_task",
    "generated_law",
    "population_kl",
]
