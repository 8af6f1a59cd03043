"""Papers and claims: the catalog the suite checks.

A :class:`Paper` is one record: id (the claim prefix), title, what the source is, the numbers
out of reach (spec §5) and the findings the suite could not reproduce. Each paper is one package
under ``proofs_checks/`` whose ``__init__`` defines ``PAPER``; every other module of that package is
a judge module, imported by the catalog, whose ``@check(...)`` decorators declare the paper's
claims (:func:`proofs_checks.registry.check`). Nothing else is edited to add a claim or a paper.

A :class:`Claim` is one statement with a stable id such as ``gao-li/off-subspace-decay``, its
confidence tag (``paper`` / ``reported`` / ``derived``, spec README) and kinds, declared once, on
the check that judges it.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import Any

from proofs_checks.evidence import RegistryError

TAGS = ("paper", "reported", "derived")
KINDS = ("symbolic", "high-precision-ode", "monte-carlo", "training")
TIERS = ("fast", "spec")
ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*/[a-z0-9.\-]+$")

DERIVED_SENTENCE = "derived for this project; the paper's exact form is not confirmed"
REPORTED_SENTENCE = "value/wording is second-hand (secondary readings of the paper)"
TAG_NOTES = {"derived": DERIVED_SENTENCE, "reported": REPORTED_SENTENCE, "paper": "stated in the paper itself"}


@dataclass(frozen=True)
class Claim:
    """One claim of the suite.

    ``kinds`` may hold several kinds (``"symbolic + Monte Carlo"`` in the spec); the first is the
    primary kind. ``tier`` is ``fast`` (run by default ``memgen verify`` and ``pytest``, at the fast
    sizes) or ``spec`` (run only at the spec's sizes: ``--full`` / ``-m slow``), the two tiers of
    :class:`numerics.experiments.Tier`. ``models`` names the trained models a claim shares with
    others: claims with one name run in one worker, which trains them once (default for a claim of
    kind ``training``: ``<paper>/training``, every training claim of the paper).
    """

    id: str
    title: str
    tag: str
    kinds: tuple[str, ...]
    tier: str = "fast"
    statement: str = ""
    models: str = ""

    def __post_init__(self) -> None:
        if not ID_PATTERN.match(self.id):
            raise RegistryError(f"claim id {self.id!r} must look like '<paper>/<slug>' (lowercase, '-' and '.')")
        if self.tag not in TAGS:
            raise RegistryError(f"claim {self.id}: tag must be one of {TAGS}, got {self.tag!r}")
        if not self.kinds or not set(self.kinds) <= set(KINDS):
            raise RegistryError(f"claim {self.id}: kinds must be a non-empty subset of {KINDS}, got {self.kinds}")
        if self.tier not in TIERS:
            raise RegistryError(f"claim {self.id}: tier must be one of {TIERS}, got {self.tier!r}")
        if not self.statement:
            object.__setattr__(self, "statement", self.title)

    @property
    def paper(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def kind(self) -> str:
        return self.kinds[0]


@dataclass(frozen=True)
class KnownFailure:
    """A claim not verified at one tier's sizes, recorded with its status, the comparison it fails and why.

    ``status`` is ``inconclusive`` (not shown) or ``refuted`` (shown false at those sizes). The
    verdict keeps that status (the ledger lists it with its measured values); the generic test
    asserts that it still has it, on that comparison, so a change that makes it pass (or fail
    elsewhere) is noticed and the record updated. Never a way to get green.
    """

    claim_id: str
    tier: str
    breaks: str
    summary: str
    status: str = "inconclusive"

    def __post_init__(self) -> None:
        if self.tier not in ("fast", "spec"):
            raise RegistryError(f"known failure of {self.claim_id}: tier must be 'fast' or 'spec'")
        if self.status not in ("inconclusive", "refuted"):
            raise RegistryError(f"known failure of {self.claim_id}: status must be 'inconclusive' or 'refuted'")


@dataclass(frozen=True)
class Paper:
    """One paper of the suite (or the shared closed forms), as its package declares it.

    Attributes
    ----------
    id : the claim prefix (``gao-li``)
    title : full reference line
    source_note : what of the paper is available and what is reconstructed (the ledger says so)
    out_of_reach : the paper's reported numbers that are never asserted (spec §5), Markdown
    not_reproduced : findings the suite could not reproduce, in words (spec-size results are records,
        :mod:`proofs_checks.records`, written by the program)
    known_failures : claims not verified at a tier's sizes (:class:`KnownFailure`)
    order : position in listings and the ledger

    Its claims (:attr:`claims`) are those its judge modules declare.
    """

    id: str
    title: str
    source_note: str
    out_of_reach: str = ""
    known_failures: tuple[KnownFailure, ...] = ()
    not_reproduced: tuple[str, ...] = ()
    order: int = 100

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", self.id):
            raise RegistryError(f"paper id {self.id!r} must be lowercase words joined by '-'")

    @property
    def claims(self) -> tuple[Claim, ...]:
        """The claims its judge modules declared, in the order declared (modules by name)."""
        return tuple(_BY_PAPER.get(self.id, ()))

    def validate(self) -> None:
        """Every finding and known failure names a declared claim."""
        ids = {c.id for c in self.claims}
        for f in self.known_failures:
            if f.claim_id not in ids:
                raise RegistryError(f"paper {self.id}: finding for unknown claim {f.claim_id}")

    def known_failure(self, claim_id: str, tier: str) -> KnownFailure | None:
        return next((f for f in self.known_failures if f.claim_id == claim_id and f.tier == tier), None)


PAPERS: dict[str, Paper] = {}
CLAIMS: dict[str, Claim] = {}
_BY_PAPER: dict[str, list[Claim]] = {}
LOAD_ERRORS: dict[str, str] = {}
"""Judge modules that failed to import, with the error: their claims are missing from the catalog, and
``memgen`` reports them (a broken module of one paper never hides the others)."""
_LOADED = False


def declare(claim: Claim) -> Claim:
    """Add one claim to the catalog (called by ``@check``).

    Raises
    ------
    RegistryError
        If another claim has this id.
    """
    if claim.id in CLAIMS and CLAIMS[claim.id] != claim:
        raise RegistryError(f"duplicate claim id {claim.id!r}")
    if claim.id not in CLAIMS:
        CLAIMS[claim.id] = claim
        _BY_PAPER.setdefault(claim.paper, []).append(claim)
    return claim


def register_paper(paper: Paper) -> Paper:
    """Add ``paper`` to the catalog (a paper package, or a test's own paper).

    Raises
    ------
    RegistryError
        If another paper has this id.
    """
    if paper.id in PAPERS and PAPERS[paper.id] is not paper:
        raise RegistryError(f"paper {paper.id!r} is registered twice")
    PAPERS[paper.id] = paper
    return paper


def unregister_paper(paper_id: str) -> None:
    """Remove a paper registered by a test, with its claims."""
    PAPERS.pop(paper_id, None)
    for c in _BY_PAPER.pop(paper_id, []):
        CLAIMS.pop(c.id, None)


def import_judges(package: Any) -> None:
    """Import every module of a paper package (its judges declare the claims); errors kept in :data:`LOAD_ERRORS`."""
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if info.name in LOAD_ERRORS:
            continue
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            LOAD_ERRORS[info.name] = f"{type(exc).__name__}: {exc}"


def load_catalog() -> None:
    """Import every paper package under ``proofs_checks`` (each defines ``PAPER``) and its judge modules, once."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True  # judges import the registry, which asks for the catalog: no second pass
    import proofs_checks

    for info in pkgutil.iter_modules(proofs_checks.__path__, "proofs_checks."):
        if info.ispkg:
            module = importlib.import_module(info.name)
            paper = getattr(module, "PAPER", None)
            if isinstance(paper, Paper):
                register_paper(paper)
                import_judges(module)
                paper.validate()


def papers() -> list[Paper]:
    """Every registered paper, in ledger order."""
    load_catalog()
    return sorted(PAPERS.values(), key=lambda p: (p.order, p.id))


def paper_ids() -> list[str]:
    return [p.id for p in papers()]


def get_paper(paper_id: str) -> Paper:
    load_catalog()
    if paper_id not in PAPERS:
        raise RegistryError(f"unknown paper {paper_id!r}; choose from {', '.join(paper_ids())}")
    return PAPERS[paper_id]


def suggest(claim_id: str) -> str:
    """``"; closest ids: ..."`` for an unknown id (empty if nothing is close)."""
    load_catalog()
    close = difflib.get_close_matches(claim_id, list(CLAIMS), n=3, cutoff=0.5)
    if not close:
        prefix = claim_id.split("/")[0]
        close = [c for c in CLAIMS if c.startswith(prefix + "/")][:3]
    return f"; closest ids: {', '.join(close)}" if close else ""


def get_claim(claim_id: str) -> Claim:
    load_catalog()
    if claim_id not in CLAIMS:
        raise RegistryError(f"unknown claim id {claim_id!r}{suggest(claim_id)}")
    return CLAIMS[claim_id]


def all_claims(paper: str | None = None) -> list[Claim]:
    """Claims of ``paper`` (or of every paper), in ledger order."""
    if paper is not None:
        return list(get_paper(paper).claims)
    return [c for p in papers() for c in p.claims]
