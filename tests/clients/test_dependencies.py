"""Clients and hygiene depend one way: hygiene → clients. What clients learns from hygiene arrives through a
registered warning source, never an import."""

from __future__ import annotations

import ast
from pathlib import Path

import oauth2_admin.clients
from oauth2_admin.clients import service as clients
from oauth2_admin.hygiene import service as hygiene


def imported_by(package: Path) -> set[str]:
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:  # from a.b import c: a.b and a.b.c
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
    return names


def test_it_keeps_the_client_app_free_of_hygiene_imports() -> None:
    imports = imported_by(Path(oauth2_admin.clients.__file__).parent)
    assert "oauth2_admin.clients.service" in imports  # the walk sees imports at all
    assert not [name for name in imports if name.startswith("oauth2_admin.hygiene")]


def test_it_registers_the_linter_with_the_client_answers_once() -> None:
    clients.add_warning_source(hygiene.answer_warnings)  # a second ready() changes nothing
    assert clients._warning_sources.count(hygiene.answer_warnings) == 1
