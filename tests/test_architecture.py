"""The layers point one way and no module imports itself back.

``theory`` (SymPy) <- ``numerics`` (engines and measurements) <- {``proofs_checks``, ``figures``, ``memgen``}.
Figures never import checks and checks never import figures; the one exception is the ``memgen``
command (``proofs_checks.cli``), the composition root that draws figures on request. The ``memgen``
package (the library surface) re-exports ``theory`` and ``numerics`` and nothing imports it back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("theory", "numerics", "proofs_checks", "figures", "memgen")
ALLOWED = {
    "theory": {"theory"},
    "numerics": {"theory", "numerics"},
    "proofs_checks": {"theory", "numerics", "proofs_checks"},
    "figures": {"theory", "numerics", "figures"},
    "memgen": {"theory", "numerics", "memgen"},
}
COMPOSITION_ROOT = {"proofs_checks.cli": {"figures"}}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Project modules imported anywhere in ``path`` (top level or inside functions)."""
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        out |= {n for n in names if n.split(".")[0] in PACKAGES}
    return out


MODULES = {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The project module an import names (``pkg.mod.func`` -> ``pkg.mod``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


GRAPH = {m: {r for r in map(_resolve, _imports(p)) if r and r != m} for m, p in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str) -> None:
    layer = module.split(".")[0]
    allowed = ALLOWED[layer] | COMPOSITION_ROOT.get(module, set())
    bad = sorted(r for r in GRAPH[module] if r.split(".")[0] not in allowed)
    assert not bad, f"{module} ({layer}) must not import {bad}"


def test_library_surface_is_a_top_layer() -> None:
    # The layering rule above must see the surface: it is scanned, and no other layer may import it.
    assert "memgen" in MODULES
    assert all("memgen" not in allowed for layer, allowed in ALLOWED.items() if layer != "memgen")


def test_no_import_cycle() -> None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(GRAPH[m]):
            if n.startswith(m + ".") or m.startswith(n + "."):
                continue  # a package and its own submodules
            if state.get(n) == 1:
                cycle = [*stack[stack.index(n) :], n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)
