"""The package's structure holds: layers, no import cycles, no private names across modules.

The contracts live in pyproject.toml (``[tool.importlinter]``); this test runs them with
the rest of the suite so the layout cannot drift after the authors move on. grimp's
graph counts every import statement, function-level and ``TYPE_CHECKING`` ones included.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "multistack"
ROOT = PACKAGE.parent


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("multistack", cache_dir=None)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_import_contracts_are_kept() -> None:
    """The layers of pyproject.toml's [tool.importlinter]: cli -> act -> io -> plan -> model -> errors."""
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_no_import_cycles() -> None:
    graph = _graph()
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    # A package's __init__ is its own module; an import of `multistack.cli.argv` is not an import of
    # `multistack.cli`, but grimp records `from multistack.cli import argv` as both: drop parent edges.
    for module, targets in edges.items():
        targets.difference_update({t for t in targets if module.startswith(t + ".")})
    assert _cycles(edges) == []


def _multistack_module(name: str) -> bool:
    return name == "multistack" or name.startswith("multistack.")


def _private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()  # names bound to multistack modules in this file
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and _multistack_module(node.module):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.name}:{node.lineno}: from {node.module} import {alias.name}")
                if (PACKAGE.parent / (node.module.replace(".", "/") + "/" + alias.name + ".py")).exists():
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _multistack_module(alias.name) and alias.asname:
                    modules.add(alias.asname)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append(f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_is_imported_across_modules(path: Path) -> None:
    assert _private_uses(path) == []


def test_the_private_name_check_can_fail(tmp_path: Path) -> None:
    """The check above is not vacuous: it sees both forms of reaching into another module."""
    sample = tmp_path / "sample.py"
    sample.write_text("from multistack.model.stack import _hidden\nfrom multistack.plan import render\n"
                      "render._loader()\n", encoding="utf-8")
    assert len(_private_uses(sample)) == 2


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
