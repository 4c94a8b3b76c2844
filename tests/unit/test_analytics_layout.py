"""The analytics package stays legible: every module says its role, and no two import each other."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "app" / "analytics"


def _imports() -> dict[str, set[str]]:
    """Each module's imports of its siblings (`from app.analytics import x` or `.x import y`)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "app.analytics":
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "app.analytics."
            ):
                found.add(str(node.module).split(".")[2])
        graph[path.stem] = found
    return graph


def _circle(graph: dict[str, set[str]], start: str) -> list[str] | None:
    stack = [(start, [start])]
    while stack:
        name, path = stack.pop()
        for dep in graph.get(name, set()):
            if dep == start:
                return [*path, dep]
            if dep not in path:
                stack.append((dep, [*path, dep]))
    return None


def test_no_import_circles_inside_analytics() -> None:
    graph = _imports()
    assert {"attribution", "figures", "inputs", "raw", "rollups"} <= set(graph)
    circles = {name: c for name in graph if (c := _circle(graph, name))}
    assert circles == {}


def test_every_module_states_its_role() -> None:
    for path in PACKAGE.glob("*.py"):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and len(doc.split()) >= 5, path.name
