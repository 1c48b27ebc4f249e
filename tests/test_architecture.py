"""The layout promises of docs/architecture.md, checked so they cannot rot silently."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"
STAGES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


def _unit(module: str) -> str:
    """The package (or top-level module) an absolute ``reconciler.*`` module name belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "reconciler"


def _imports_between_units() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        source = _unit(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("reconciler"):
                target = _unit(str(node.module))
                if target != source:
                    edges.setdefault(source, set()).add(target)
    return edges


def test_no_import_cycle_between_packages() -> None:
    """Every import, at module level or inside a function, goes one way between packages."""
    edges = _imports_between_units()
    cycles = []
    for source, targets in edges.items():
        for target in targets:
            seen, todo = set(), [target]
            while todo:
                node = todo.pop()
                if node == source:
                    cycles.append(f"{source} -> {target} -> ... -> {source}")
                    break
                if node not in seen:
                    seen.add(node)
                    todo.extend(edges.get(node, ()))
    assert cycles == []


def test_few_modules_directly_under_the_package() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 8, modules


@pytest.mark.parametrize("stage", STAGES)
def test_each_package_says_what_happens_there(stage: str) -> None:
    tree = ast.parse((PACKAGE / stage / "__init__.py").read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree)
    assert docstring and len(docstring.split()) >= 5, f"reconciler/{stage}/__init__.py needs a docstring"


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "reconciler", "--version"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "reconciler, version 0.1.0\n"
