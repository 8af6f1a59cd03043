r"""memgen as a library: the exact (empirical) flow-matching field and its paths, for other people's models.

A thin surface; the implementation lives in :mod:`theory` (SymPy) and :mod:`numerics` (engines).

- :class:`ExactVelocity`: the exact optimal velocity field of a data set under an affine Gaussian
  path, a float64 ``torch.nn.Module`` callable as ``forward(x, t)`` (Meta ``flow_matching``) and
  ``forward(t, x)`` (torchdyn, torchdiffeq, torchcfm).
- :func:`path`: a path from a name, SymPy text, a ``flow_matching`` scheduler or ``AffineProbPath``,
  or a torchcfm matcher; :func:`to_scheduler`: a memgen path as a ``flow_matching`` scheduler.
- :func:`optimal_velocity`, :func:`posterior_weights` (NumPy) and :func:`integrate_flow` (the
  exact flow to ``t = 1``, solved in log-time).

>>> import memgen, torch
>>> field = memgen.ExactVelocity(torch.randn(500, 2, dtype=torch.float64), memgen.path("cosine"))
>>> v = field(torch.randn(16, 2), torch.tensor(0.3))
"""

from numerics.empirical_field import integrate_flow, optimal_velocity, posterior_weights
from numerics.exact_velocity import ExactVelocity
from numerics.path_spec import resolve_path as path
from numerics.schedulers import to_scheduler
from theory.paths import PathError

__all__ = [
    "ExactVelocity",
    "PathError",
    "integrate_flow",
    "optimal_velocity",
    "path",
    "posterior_weights",
    "to_scheduler",
]
