"""The couplings by name: :data:`COUPLINGS` (CondOT, BatchOT, BatchEOT, Stable) and :func:`get_coupling`."""

from __future__ import annotations

from numerics.couplings.assignment import batch_ot_coupling, independent_coupling
from numerics.couplings.costs import Coupling
from numerics.couplings.entropic import batch_eot_coupling
from numerics.couplings.faults import FAULTY_COUPLINGS
from numerics.couplings.stable import stable_coupling

COUPLINGS: dict[str, Coupling] = {
    "condot": independent_coupling,
    "batchot": batch_ot_coupling,
    "batcheot": batch_eot_coupling,
    "stable": stable_coupling,
}


def get_coupling(coupling: str | Coupling) -> Coupling:
    """A coupling function from its name in :data:`COUPLINGS` or the function itself."""
    if callable(coupling):
        return coupling
    if coupling in FAULTY_COUPLINGS:
        return FAULTY_COUPLINGS[coupling]
    if coupling not in COUPLINGS:
        raise ValueError(f"unknown coupling {coupling!r}; choose from {', '.join(COUPLINGS)}")
    return COUPLINGS[coupling]
