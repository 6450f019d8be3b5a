"""Tests share through tests/support/ and registered fixtures, never by importing each other.

A test module that imports another test module (or a conftest) runs that module's code on
import, re-registers its fixtures under the importer's name and ties the two files together;
shared fixtures live in tests/support/fixtures.py (registered by the root conftest) or in the
conftest of the folder that uses them, and shared helpers and scenes in tests/support/.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """Each module a file imports from the tests package, with its line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(line, name) for line, name in found if name.startswith("tests.")]


def _is_a_test_module(name: str) -> bool:
    parts = name.split(".")
    return "support" not in parts and any(
        part == "conftest" or part.startswith("test_") for part in parts
    )


def borrowed(root: Path) -> list[str]:
    """``file:line module`` for every import of a test module or a conftest under ``root``."""
    return [
        f"{path.relative_to(root.parent)}:{line} {name}"
        for path in sorted(root.rglob("*.py"))
        for line, name in _imported_modules(path)
        if _is_a_test_module(name)
    ]


def test_no_test_imports_another_test_module_or_a_conftest() -> None:
    assert borrowed(TESTS) == []


def test_the_check_finds_a_borrowed_fixture(tmp_path: Path) -> None:
    root = tmp_path / "tests"
    (root / "app").mkdir(parents=True)
    (root / "app" / "test_a.py").write_text(
        "from tests.app.protocol.conftest import proto as proto\n"
        "from tests.app.api import test_permissions as permissions\n"
        "from tests.support.scenes import heron\n"
    )
    assert borrowed(root) == [
        "tests/app/test_a.py:1 tests.app.protocol.conftest",
        "tests/app/test_a.py:1 tests.app.protocol.conftest.proto",
        "tests/app/test_a.py:2 tests.app.api.test_permissions",
    ]
