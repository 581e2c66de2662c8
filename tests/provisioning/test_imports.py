"""Provisioning's modules import each other in one direction, at the top of each module: no cycle
hidden behind an import inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import provisioning

PACKAGE = Path(provisioning.__file__).parent


def _modules() -> dict[str, ast.Module]:
    trees = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        trees[name.removesuffix(".__init__")] = ast.parse(path.read_text(), str(path))
    return trees


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module]
    return []


def test_no_import_inside_a_function():
    """Except in ``AppConfig.ready``, where Django wants them: models are not loaded before."""
    hidden = [
        f"{name}: {', '.join(_imported(node))}"
        for name, tree in _modules().items()
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        and not (name.endswith(".apps") and function.name == "ready")
        for node in ast.walk(function)
        if _imported(node)
    ]
    assert hidden == []


def test_the_provisioning_modules_form_no_cycle():
    modules = _modules()
    graph = {
        name: {dep for node in tree.body for dep in _imported(node) if dep in modules}
        for name, tree in modules.items()
    }
    assert "provisioning.tasks" not in graph["provisioning.services"]
    assert "provisioning.recovery" not in graph["provisioning.services"]
    assert "provisioning.services" in graph["provisioning.recovery"]

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        for dep in graph[name]:
            visit(dep, (*path, name))

    for name in graph:
        visit(name, ())
