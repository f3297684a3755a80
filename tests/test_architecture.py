"""The package's shape: its import graph has no cycle, and the command line is a layer on top.

The graph is built from the source with `ast` (nothing is imported): one node per module of
generator/rxrego, one edge per import statement that names a module of the package, relative
imports resolved against the importing module's package. `from PKG import NAME` is an edge to
PKG.NAME when that is a module, else to PKG. Imports inside functions count too: a cycle
deferred to call time is still a cycle. A package is not an edge of its submodules (Python
imports it first, but it is where they live, not something they use).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "generator" / "rxrego"
CLI = "rxrego.cli"
# The console script: it imports the command line, or says which extra to install when the
# client-only install lacks click. It sits above the CLI, so it is not "importing it back".
ENTRY = "rxrego.entry"


def module_name(path: Path) -> str:
    """rxrego.a.b for generator/rxrego/a/b.py, rxrego.a for generator/rxrego/a/__init__.py."""
    parts = ["rxrego", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def imports_of(name: str, path: Path, modules: set[str]) -> tuple[set[str], set[str]]:
    """(modules of the package that `name` imports, top-level names of everything it imports)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    inside: set[str] = set()
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            targets = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin for alias in node.names
            ]
        for target in targets:
            roots.add(target.split(".")[0])
            # `import rxrego.a.b` names rxrego.a.b; the longest prefix that is a module.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                inside.add(target)
    return inside, roots


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module -> the package's modules it imports, module -> top-level packages it imports)."""
    modules = source_modules()
    graph: dict[str, set[str]] = {}
    roots: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name], roots[name] = imports_of(name, path, set(modules))
    return graph, roots


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_graph_sees_the_package():
    """The builder finds the modules and resolves relative imports (else the checks below
    would pass on an empty graph)."""
    graph, roots = import_graph()
    assert len(graph) > 30
    assert "rxrego.generate" in graph["rxrego.cli.pipeline"]  # from .. import generate as gen
    assert "rxrego.spec.model" in graph["rxrego.generate"]  # from .spec import model as m
    assert "rxrego.cli.pipeline" in graph["rxrego.cli"]
    assert "click" in roots["rxrego.cli"]


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_import_graph_has_no_cycle():
    graph, _ = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_only_the_cli_package_imports_click_or_the_cli():
    """The library (bundle, serving, deploy, client, author tools, conformance, generate) is
    usable without click; the command line sits on top of it and nothing imports it back."""
    graph, roots = import_graph()
    offenders = sorted(
        f"{name} imports {what}"
        for name in graph
        if not (name in (CLI, ENTRY) or name.startswith(CLI + "."))
        for what in ({"click"} & roots[name]) | {m for m in graph[name] if m == CLI or m.startswith(CLI + ".")}
    )
    assert offenders == []
    # ... and the console script imports nothing but the CLI of the package, and not click.
    assert graph[ENTRY] == {CLI} and "click" not in roots[ENTRY]
