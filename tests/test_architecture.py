"""The apps' imports run one way (docs/design.md, Shape), read from the source itself.

`documents/` (models, storage, engines) and `usage/` import no other app; `batches.progress`
imports only batch models; only `jobs/` and the HTTP, admin and command layers orchestrate; and
`ilios/` is wiring. A module that breaks an arrow fails here, naming the import.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
APPS = ("documents", "batches", "usage", "jobs")
PROJECT = ("ilios", *APPS)

# Modules that answer requests, show admin pages or run commands: they orchestrate the apps.
ENTRY_POINTS = {"views", "services", "serializers", "urls", "admin", "admin_views", "playground"}
# `ilios` modules every app may use: they import no app themselves.
ILIOS_SUPPORT = {
    "ilios.config",
    "ilios.crypto",
    "ilios.ids",
    "ilios.models",
    "ilios.errors",
    "ilios.idempotency",
    "ilios.openapi",
    "ilios.auth",
    "ilios.admin_support",
    "ilios.metrics",
}
# `ilios` modules that wire the apps together, and so import them; wsgi starts the API process
# (and checks, as it starts, that originals can be stored).
ILIOS_WIRING = {"ilios.urls", "ilios.health", "ilios.admin", "ilios.settings", "ilios.wsgi"}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> list[tuple[str, Path]]:
    return [
        (module_name(path), path)
        for package in PROJECT
        for path in sorted((REPO / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]


@functools.cache
def known_modules() -> frozenset[str]:
    return frozenset(module for module, _ in project_modules())


def imports_of(name: str, path: Path) -> set[str]:
    """Every project module `name` imports, relative imports resolved, `from x import y`
    counted as `x.y` when y is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names}
            found.update(submodules if submodules & known_modules() else {base})
    return found & known_modules()


def app_of(module: str) -> str:
    return module.split(".")[0]


def is_entry_point(module: str) -> bool:
    parts = module.split(".")
    return parts[-1] in ENTRY_POINTS or "management" in parts


def violations() -> list[str]:
    found = []
    for name, path in project_modules():
        app = app_of(name)
        for imported in sorted(imports_of(name, path)):
            other = app_of(imported)
            if other == app:
                continue
            if (reason := broken_arrow(name, imported, other)) is not None:
                found.append(f"{name} imports {imported}: {reason}")
    return found


def broken_arrow(name: str, imported: str, other: str) -> str | None:
    app = app_of(name)
    if app == "ilios":
        if name in ILIOS_WIRING:
            return None
        return "ilios is wiring: only its URLs, health, admin, settings and wsgi import the apps"
    if other == "ilios":
        return None if imported in ILIOS_SUPPORT else f"{imported} is wiring, not for the apps"
    if is_entry_point(name):
        return None
    if name == "batches.progress":
        return "batches.progress imports only batch models"
    if app in ("documents", "usage"):
        return f"{app} (models, storage, engines, money) imports no other app"
    if app == "batches" and other != "documents":
        return "batches builds on documents only; jobs and the HTTP layer orchestrate"
    if app == "jobs" and imported.split(".")[-1] in ENTRY_POINTS:
        return "jobs orchestrates models and functions, never another app's HTTP layer"
    return None


def test_imports_run_one_way():
    assert violations() == []


@pytest.mark.parametrize(
    "name, imported",
    [
        ("documents.conversion", "usage.billing"),
        ("documents.storage", "jobs.queue"),
        ("usage.billing", "documents.models"),
        ("batches.progress", "documents.models"),
        ("ilios.dashboard", "jobs.models"),
        ("jobs.queue", "documents.views"),
    ],
)
def test_a_wrong_way_import_is_caught(name, imported):
    """The check itself: each arrow of the contract, broken on purpose, is reported."""
    assert broken_arrow(name, imported, app_of(imported)) is not None


def test_relative_imports_are_resolved():
    engines = REPO / "documents" / "engines" / "local" / "__init__.py"
    assert "documents.engines.base" in imports_of("documents.engines.local", engines)
