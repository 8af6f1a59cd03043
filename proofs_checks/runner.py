"""Select claims and run their checks (used by ``memgen verify`` and ``memgen report``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from numerics.experiments import RunSpec
from proofs_checks.claims import CLAIMS, Claim, all_claims, get_claim, get_paper, load_catalog, suggest
from proofs_checks.evidence import RegistryError, Verdict
from proofs_checks.registry import run_check


def select_claims(ids: Iterable[str] = (), paper: str | None = None, full: bool = False) -> list[Claim]:
    """Claims named by ``ids`` (any tier), else every claim of ``paper`` (or of all papers)
    in the fast tier, plus the full tier when ``full``.

    Raises
    ------
    RegistryError
        For an unknown id or paper (the message names the closest ids).
    """
    load_catalog()
    ids = list(ids)
    if paper is not None:
        get_paper(paper)
    if ids:
        unknown = [i for i in ids if i not in CLAIMS]
        if unknown:
            raise RegistryError("; ".join(f"unknown claim id {u!r}{suggest(u)}" for u in unknown))
        claims = [get_claim(i) for i in dict.fromkeys(ids)]
        return [c for c in claims if paper is None or c.paper == paper]
    return [c for c in all_claims(paper) if full or c.tier == "fast"]


def run_claims(
    claims: list[Claim],
    run: RunSpec,
    on_start: Callable[[Claim], None] | None = None,
    on_done: Callable[[Claim, Verdict], None] | None = None,
) -> list[Verdict]:
    """Run each claim's check in order; a check that raises gives an error verdict."""
    out = []
    for c in claims:
        if on_start:
            on_start(c)
        v = run_check(c.id, run)
        out.append(v)
        if on_done:
            on_done(c, v)
    return out
