"""The domain imports nothing that performs I/O or talks to Temporal or a database."""

from __future__ import annotations

import ast
from pathlib import Path

import domain

FORBIDDEN_ROOTS = {
    "temporalio",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "alembic",
    "os",
    "io",
    "sys",
    "pathlib",
    "socket",
    "subprocess",
    "sqlite3",
    "asyncio",
    "time",
    "random",
    "shutil",
    "tempfile",
    "urllib",
    "http",
    "requests",
    "httpx",
    "logging",
    "structlog",
    "uuid",
    "workflows",
    "activities",
    "store",
    "audit",
    "runtime",
    "cli",
    "api",
}


def _imported_roots(source: str) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_domain_module_imports_io_temporal_or_sql() -> None:
    package = Path(domain.__file__).parent
    modules = sorted(package.rglob("*.py"))
    assert len(modules) >= 3
    offenders = {
        str(path.relative_to(package)): sorted(_imported_roots(path.read_text()) & FORBIDDEN_ROOTS)
        for path in modules
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_checker_sees_a_forbidden_import() -> None:
    assert _imported_roots("import os\nfrom sqlalchemy import text\n") == {"os", "sqlalchemy"}
