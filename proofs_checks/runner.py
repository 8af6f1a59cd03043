"""Select claims and run their checks (used by ``memgen verify`` and ``memgen report``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from proofs_checks.registry import (
    PAPERS,
    Claim,
    Context,
    RegistryError,
    Verdict,
    _suggest,
    all_claims,
    get_claim,
    run_check,
)


def select_claims(ids: Iterable[str] = (), paper: str | None = None, full: bool = False) -> list[Claim]:
    """Claims named by ``ids`` (any tier), else every claim of ``paper`` (or of all papers)
    in the fast tier, plus the full tier when ``full``.

    Raises
    ------
    RegistryError
        For an unknown id or paper (the message names the closest ids).
    """
    ids = list(ids)
    if paper is not None and paper not in PAPERS:
        raise RegistryError(f"unknown paper {paper!r}; choose from {', '.join(PAPERS)}")
    if ids:
        unknown = [i for i in ids if i not in {c.id for c in all_claims()}]
        if unknown:
            raise RegistryError("; ".join(f"unknown claim id {u!r}{_suggest(u)}" for u in unknown))
        claims = [get_claim(i) for i in dict.fromkeys(ids)]
        return [c for c in claims if paper is None or c.paper == paper]
    return [c for c in all_claims(paper) if full or c.tier == "fast"]


def run_claims(
    claims: list[Claim],
    ctx: Context,
    on_start: Callable[[Claim], None] | None = None,
    on_done: Callable[[Claim, Verdict], None] | None = None,
) -> list[Verdict]:
    """Run each claim's check in order; a check that raises gives an error verdict."""
    out = []
    for c in claims:
        if on_start:
            on_start(c)
        v = run_check(c.id, ctx)
        out.append(v)
        if on_done:
            on_done(c, v)
    return out
