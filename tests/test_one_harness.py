"""One harness, no back doors: code outside `tests/` never imports it or edits `sys.path`,
and the shipped connector package holds the connector and its task plugin, not a platform
simulator built on the Flyte SDK's private modules (that lives in `batch_testkit`)."""

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
            modules.add(node.module)  # and each name, which may be a module: `from pkg import _private`
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def test_nothing_outside_tests_imports_tests_or_edits_the_import_path() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in python_files(*OUTSIDE_TESTS)
        if any(module == "tests" or module.startswith("tests.") for module in imported_modules(path))
        or "sys.path" in path.read_text()
    ]

    assert offenders == []


def is_private(module: str) -> bool:
    return not module.startswith("__future__") and any(part.startswith("_") for part in module.split("."))


def test_the_shipped_connector_uses_no_private_sdk_module_but_its_one_documented_workaround() -> None:
    private = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if is_private(m))
        for path in python_files("my_connector")
    }

    # grpc_status.py: UNAVAILABLE instead of INTERNAL, which the SDK offers no public way to choose
    assert {path: modules for path, modules in private.items() if modules} == {
        "my_connector/grpc_status.py": ["flyte.connectors._server"],
    }
