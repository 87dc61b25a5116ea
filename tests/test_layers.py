"""Imports go downward only (design.md, 'Layers'): a plain AST walk over src/kizuna keeps it so."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "kizuna"

#: Layer of each package; a module may import kizuna packages of its own layer or lower only,
#: and packages of the same layer only where listed in ALLOWED_SAME_LAYER.
LAYERS: dict[str, int] = {
    "errors": 0,
    "settings": 0,
    "ids": 0,
    "model": 1,
    "authority": 2,
    "access": 2,
    "planning": 3,
    "sim": 4,
    "store": 4,
    "coordination": 5,
    "exercise": 6,
    "intel": 5,
    "interop": 6,
    "report": 6,
    "service": 7,
    "cli": 7,
    "web": 7,
}
#: Same-layer imports that design.md does not allow (authority and access are independent;
#: sim and store are independent).
FORBIDDEN_SAME_LAYER = {
    ("authority", "access"),
    ("access", "authority"),
    ("sim", "store"),
    ("store", "sim"),
    ("intel", "coordination"),
    ("coordination", "intel"),
}
#: model "may import nothing of kizuna" except the root error tree.


def _package_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.stem != "__init__" else ""


def _kizuna_imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "kizuna" and len(parts) > 1:
                found.add(parts[1])
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if _package_of(p))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_go_downward(path: Path) -> None:
    package = _package_of(path)
    assert package in LAYERS, f"{package} has no layer in design.md; add it to LAYERS"
    for imported in _kizuna_imports(ast.parse(path.read_text(encoding="utf-8"))):
        if imported == package or imported not in LAYERS:
            continue
        assert LAYERS[imported] <= LAYERS[package], f"{path.name}: {package} imports {imported} (upward)"
        assert (package, imported) not in FORBIDDEN_SAME_LAYER, f"{package} may not import {imported}"


def test_the_layer_check_catches_an_upward_import() -> None:
    tree = ast.parse("from kizuna.service import app\nimport kizuna.model\n")
    assert _kizuna_imports(tree) == {"service", "model"}
