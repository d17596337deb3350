"""The harness's modules import each other without cycles and never upward, function-level
imports included.

A cycle through imports inside functions never fails at import time, so only a walk of
the whole graph shows it; this test is that walk (every `import`/`from ... import`
anywhere in a module's syntax tree).
"""

from __future__ import annotations

import ast
from pathlib import Path

from harness import paths

PACKAGE = "harness"

# The pipeline's layers, lowest first: a module imports only from its own layer or below.
# Data flows one way: edges (CLI, plugin) -> jobs -> reporting -> run lifecycle -> client ->
# options -> Terraform side -> targets and the local AWS -> plumbing and foundations.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("harness", "harness.errors", "harness.paths", "harness.tags", "harness.plumbing"),
    ("harness.targets", "harness.localaws"),
    ("harness.terraform",),
    ("harness.options",),
    ("harness.client",),
    ("harness.lifecycle",),
    ("harness.reporting",),
    ("harness.jobs",),
    ("harness.cli", "harness.pytest_plugin"),
)


def modules() -> dict[str, Path]:
    found = {}
    for path in (paths.project_root() / PACKAGE).rglob("*.py"):
        parts = path.relative_to(paths.project_root()).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _owner(name: str, known: dict[str, Path]) -> str | None:
    """The module `name` refers to: itself, or the nearest package/module containing it."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(_owner(alias.name, known) for alias in node.names if alias.name.startswith(PACKAGE))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parents + ([node.module] if node.module else []))
                if base.split(".")[0] != PACKAGE:
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in known else _owner(base, known))
        graph[name] = {target for target in targets if target and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_cycle_through_three_modules():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_function_level_imports_are_in_the_graph():
    graph = import_graph()
    # harness/cli.py imports harness.lifecycle.drift inside a function only.
    assert "harness.lifecycle.drift" in graph["harness.cli"]
    assert "harness.localaws.process" in graph["harness.lifecycle.run"]


def test_the_harness_has_no_import_cycle():
    assert cycles(import_graph()) == []


def layer_of(module: str) -> int:
    """The layer of the longest prefix in LAYERS that names `module` or a package holding it."""
    best, found = -1, None
    for number, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), number
    assert found is not None, f"{module} is in no layer: add it to LAYERS"
    return found


def test_layers_of_the_pipeline():
    assert layer_of("harness.lifecycle.run") > layer_of("harness.terraform.runner") > layer_of("harness.errors")
    assert layer_of("harness") == 0 and layer_of("harness.cli") == len(LAYERS) - 1


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [f"{module} -> {target}" for module, targets in sorted(import_graph().items())
              for target in sorted(targets) if layer_of(target) > layer_of(module)]
    assert upward == []
