r"""Real digits (extensions beyond the three papers): the measurements of the ``digits/`` claims and figures.

The data set is :func:`numerics.digits.digits` (scikit-learn's bundled 8×8 digits: 61 pixels,
dequantised, standardised, 1500 training / 297 test points). A training set of size :math:`N`
is the first :math:`N` rows of a seeded permutation of the 1500 training points
(:func:`training_subset`): the sets are nested, so a larger set contains every smaller one.

- ``digits/exact-flow-memorizes``: the exact flow of :math:`N` digits (Gao & Li's setting) sends
  every sample onto a training point, each with probability :math:`1/N`.
- ``digits/trained-memorization-falls-with-n``: seed ensembles of one :class:`~numerics.nets.VelocityMLP`
  width trained by conditional flow matching; the memorization ratio of their samples against
  :math:`N`.
- ``digits/kl-d-over-4n`` and ``digits/transition-at-n-equals-d``: the linear diffusion model of
  Merger & Goldt with the 1797 digits as the population (mean 0, covariance known exactly),
  training sets of :math:`N` i.i.d. draws from it.
- ``digits/bridge``: on the same training sets, the memorization ratio and the off-span variance
  of the exact flow, of the linear denoiser's DDPM sampler and of the trained MLPs, against
  :math:`N/d`.

No size here comes from a paper: the sizes are this project's (each :class:`Tier` says so).

One module per topic, the same names as the judges in :mod:`proofs_checks.digits` and the figures
in :mod:`figures.digits`: ``exact_flow``, ``trained``, ``linear_model`` (the two linear-diffusion claims)
and ``bridge``.
"""
