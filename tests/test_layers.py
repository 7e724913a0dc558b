"""The architecture, held by a test: folders are layers, imports only go down, no circles.

Read from the source (every import, function-local ones included), as docs/architecture.md
draws it. A layer may import its own modules and any layer below it, never one above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "devenv"

# lowest first; a module's layer is its folder (or, for top-level modules, the module)
LAYERS: list[set[str]] = [
    {"errors", "names", "paths", "secrets", "fmt", "wait", "spawn", "tuples", "demo", "__init__"},  # the base
    {"profile"},
    {"db"},
    {"session"},
    {"logs"},
    {"readiness"},
    {"ops"},
    {"adopt"},
    {"cli"},
    {"__main__"},
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """The devenv modules ``path`` imports, anywhere in the file."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name.startswith("devenv."):
                out.add(name)
    return out


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


GRAPH = {name: imports(path, set(modules())) - {name} for name, path in modules().items()}


def test_every_module_has_a_layer() -> None:
    assert {layer(m) for m in GRAPH} <= set(RANK), "a new folder or top-level module: give it a layer"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_only_go_down(module: str) -> None:
    mine = RANK[layer(module)]
    upward = sorted(dep for dep in GRAPH[module] if RANK[layer(dep)] > mine and dep != "devenv")
    assert upward == [], f"{module} imports from a layer above its own"


def test_no_import_circles() -> None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(GRAPH.get(node, ())):
            if dep == "devenv":
                continue
            if state.get(dep) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(dep):] + [dep]))
            if dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])


def test_only_the_cli_imports_click_or_prints() -> None:
    offenders = []
    for name, path in modules().items():
        if layer(name) in ("cli", "demo"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if any(m.split(".")[0] == "click" for m in mods):
                    offenders.append(f"{name} imports click")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{name} prints")
            if (isinstance(node, ast.Attribute) and node.attr == "write" and isinstance(node.value, ast.Attribute)
                    and node.value.attr in ("stdout", "stderr")):
                offenders.append(f"{name} writes to sys.{node.value.attr}")
    assert offenders == []
