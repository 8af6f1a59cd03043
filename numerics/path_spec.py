r"""One entry point for a path from whatever a researcher has (``memgen.path``).

Accepted: a memgen path (numeric or SymPy), a built-in name or call (``"ot"``, ``"ot(0.01)"``,
``"cosine"``, ``"vp"``, ``"ve"``), SymPy text ``"alpha=<expr in t>; sigma=<expr in t>"``, a Meta
``flow_matching`` ``Scheduler`` or ``AffineProbPath`` (:mod:`numerics.schedulers`), or a
torchcfm matcher (:mod:`numerics.torchcfm_paths`). The answer is a numeric path
(:class:`numerics.paths.NumericPath`) that every engine of memgen takes; its SymPy form is
``.symbolic`` (except for a tabulated scheduler, which has none).
"""

from __future__ import annotations

from typing import Any

from numerics.paths import NumericPath, _numeric, as_path
from numerics.schedulers import is_scheduler, path_from_scheduler
from numerics.torchcfm_paths import is_matcher, path_from_matcher
from theory import paths as sym


def resolve_path(spec: Any, *, accept_alpha0: bool = False) -> NumericPath:
    r"""The memgen path of ``spec`` (module docstring).

    Parameters
    ----------
    spec : str, theory.paths.AffinePath, numerics.paths.NumericPath, flow_matching Scheduler or
        AffineProbPath, or torchcfm ConditionalFlowMatcher
    accept_alpha0 : bool
        For a scheduler without a closed form (tabulated): accept :math:`\alpha_0>0`.

    Returns
    -------
    numerics.paths.NumericPath

    Raises
    ------
    TypeError
        For an object that is none of these (a bare number is refused too: write ``"ot(0.01)"``).
    theory.paths.PathError
        An unknown name, unparsable text, an invalid path, a coupling-dependent torchcfm matcher
        (the reason is given), or a library object whose formulas disagree with its closed form.
    """
    if isinstance(spec, NumericPath):
        return spec
    if isinstance(spec, sym.AffinePath):
        return _numeric(spec)
    if isinstance(spec, str):
        return as_path(spec)
    if is_scheduler(spec):
        return path_from_scheduler(spec, accept_alpha0=accept_alpha0)
    if is_matcher(spec):
        return _numeric(path_from_matcher(spec))
    raise TypeError(
        "a path is a name ('ot', 'ot(0.01)', 'cosine', 'vp', 've'), SymPy text 'alpha=<expr in t>; sigma=<expr in t>', "
        "a memgen path, a flow_matching Scheduler or AffineProbPath, or a torchcfm ConditionalFlowMatcher; "
        f"got {type(spec).__name__}"
    )
