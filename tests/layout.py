"""The dependency rule of the tree, checked from the source with ``ast``.

Dependencies run one way, from the shell down: ``portal.app``/``portal.cli`` → apps →
the kernel (the rest of ``portal``). An app may use another app's services, never its
controllers; review is blind to votes, so nominations never imports voting; no file
imports a file that imports it back (imports inside functions count: they hide cycles,
they do not break them); ``bench`` never imports ``tests``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

KERNEL = "portal"
SHELL = frozenset({"portal.app", "portal.cli"})
APPS = frozenset({"nominations", "voting", "results", "stories"})
PACKAGES = frozenset({KERNEL, *APPS, "bench", "tests"})
SKIPPED_FOLDERS = frozenset({"piccolo_migrations", "__pycache__"})


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    source: str
    target: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.source} → {self.target}"


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name → file, for every Python file of the checked packages."""
    found: dict[str, Path] = {}
    for top in sorted(PACKAGES):
        for path in sorted((root / top).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if SKIPPED_FOLDERS.intersection(parts):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imported_names(module: str, path: Path) -> Iterator[str]:
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            # ``from a import b``: the module a.b if there is one, else a (resolved below).
            yield from (f"{origin}.{alias.name}" for alias in node.names)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module → the project modules it imports (anywhere in the file)."""
    known = modules(root)
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        targets = set()
        for name in _imported_names(module, path):
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def _package(module: str) -> str:
    return module.split(".")[0]


def _is_controller(module: str) -> bool:
    return "controllers" in module.split(".")


def _cycles(graph: dict[str, set[str]]) -> Iterable[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    yield sorted(component)


def violations(root: Path) -> list[Violation]:
    """Every breach of the dependency rule in the tree at ``root``."""
    graph = import_graph(root)
    found: set[Violation] = set()
    for source, targets in graph.items():
        source_package = _package(source)
        if source_package == "tests":
            continue
        for target in targets:
            target_package = _package(target)
            if source_package == "bench" and target_package == "tests":
                found.add(Violation("bench imports tests", source, target))
            if source in SHELL:
                continue
            if source_package == KERNEL and target_package in APPS:
                found.add(Violation("kernel imports an app", source, target))
            if _is_controller(target) and target_package != source_package:
                found.add(Violation("another package's controllers", source, target))
            if source_package == "nominations" and target_package == "voting":
                found.add(Violation("nominations imports voting", source, target))
    for component in _cycles(graph):
        found.add(Violation("import cycle", component[0], " → ".join(component[1:])))
    return sorted(found)
