"""No two top-level packages import each other: dependencies between packages run one way.

Every module under app/ and inbox/ is parsed (imports inside functions and TYPE_CHECKING blocks
count too: a lazy import is still a tie) and reduced to a graph of top-level packages (`app.<x>`,
or `inbox`). Only the composition roots, where the program is assembled from every package, may
import anything: app/server.py, app/worker.py, app/cli.py, app/wiring.py and app/dev/.
Ties inside one package (e.g. analytics/claims.py and gather.py) are that package's business.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPOSITION_ROOTS = ("app/server.py", "app/worker.py", "app/cli.py", "app/wiring.py", "app/dev/")

# Two-way ties that other work in flight (issue #14) removes; each names who. Emptied on merge:
# the test below also fails when a tie listed here is gone, so this list can only shrink.
KNOWN: dict[frozenset[str], str] = {}


def package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "inbox":
        return "inbox"
    if parts[0] == "app" and len(parts) > 2 and parts[1] == "integrations":
        return ".".join(parts[:3])  # each vendor is its own edge package
    if parts[0] == "app" and len(parts) > 1:
        return f"app.{parts[1]}"
    return None


def _type_only(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:`: annotations (an ORM relation's other side), not a runtime tie."""
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if _type_only(node):
            pending.extend(node.orelse)  # type: ignore[attr-defined]
            continue
        pending.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def package_graph(root: Path = ROOT) -> dict[tuple[str, str], set[str]]:
    """(importer, imported) package pairs, each with the `file -> module` lines that make it."""
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in sorted([*root.glob("app/**/*.py"), *root.glob("inbox/**/*.py")]):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(COMPOSITION_ROOTS):
            continue
        source = package_of(rel.removesuffix(".py").replace("/", "."))
        for name in imported(ast.parse(path.read_text(), rel)):
            target = package_of(name)
            if source and target and target != source:
                edges[(source, target)].add(f"{rel} -> {name}")
    return edges


def two_way_ties(edges: dict[tuple[str, str], set[str]]) -> dict[frozenset[str], list[str]]:
    return {
        frozenset((a, b)): sorted(edges[(a, b)])[:3] + sorted(edges[(b, a)])[:3]
        for a, b in edges
        if a < b and (b, a) in edges
    }


def test_no_two_way_ties_between_top_level_packages() -> None:
    ties = two_way_ties(package_graph())
    new = {" <-> ".join(sorted(pair)): why for pair, why in ties.items() if pair not in KNOWN}
    assert not new, f"packages that import each other: {new}"
    gone = [" <-> ".join(sorted(pair)) for pair in KNOWN if pair not in ties]
    assert not gone, f"remove these from KNOWN, they are fixed: {gone}"


def test_the_check_sees_a_tie(tmp_path: Path) -> None:
    """The graph catches a lazy import inside a function, the kind a reviewer misses."""
    (tmp_path / "app" / "left").mkdir(parents=True)
    (tmp_path / "app" / "right").mkdir(parents=True)
    (tmp_path / "app" / "left" / "a.py").write_text("from app.right.b import thing\n")
    (tmp_path / "app" / "right" / "b.py").write_text("def f():\n    from app.left import a\n")
    (tmp_path / "app" / "worker.py").write_text("import app.left.a\nimport app.right.b\n")
    ties = two_way_ties(package_graph(tmp_path))
    assert set(ties) == {frozenset({"app.left", "app.right"})}
