"""One harness, no back doors: code outside `tests/` never imports it or edits `sys.path`."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE_TESTS = [
    "batch_service",
    "batch_testkit",
    "my_connector",
    "bench",
    "scripts",
    "docs",
    "app.py",
    "main.py",
]


def python_files(*places: str) -> list[Path]:
    files: list[Path] = []
    for place in places:
        path = ROOT / place
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return files


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_nothing_outside_tests_imports_tests_or_edits_the_import_path() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files(*OUTSIDE_TESTS)
        if any(module == "tests" or module.startswith("tests.") for module in imported_modules(path))
        or "sys.path" in path.read_text()
    ]

    assert offenders == []
