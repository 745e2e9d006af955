"""Dependencies point inward: domain code never imports the Functions SDKs (import-linter covers the rest)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_DOMAIN = ("azure.functions", "azure.durable_functions")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "shared").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_shared_does_not_import_the_functions_sdk(path: Path) -> None:
    bad = {n for n in _imports(path) if n.startswith(FORBIDDEN_IN_DOMAIN)}
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_function_app_only_registers_blueprints() -> None:
    tree = ast.parse((ROOT / "function_app.py").read_text())
    for node in tree.body:
        assert isinstance(node, ast.Import | ast.ImportFrom | ast.Assign | ast.Expr), ast.dump(node)[:80]
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            assert ast.unparse(node.value.func) == "app.register_functions"
