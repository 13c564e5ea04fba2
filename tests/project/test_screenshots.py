"""`make screenshots`: the script covers every menu entry, and the Makefile runs it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from truss.context_processors import NAV_SECTIONS

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "screenshots.py"


def load():
    spec = importlib.util.spec_from_file_location("screenshots", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_it_shoots_every_menu_entry():
    pages = load().nav_pages()
    expected = [(label, reverse(name)) for _, entries in NAV_SECTIONS for name, label, _ in entries]
    assert pages == expected and len({path for _, path in pages}) == len(pages)


def test_it_uses_the_systems_chromium_and_keeps_the_caret():
    text = SCRIPT.read_text()
    assert "executable_path=CHROMIUM" in text and '"/usr/bin/chromium"' in text
    assert 'caret="initial"' in text and "full_page=True" in text


def test_the_makefile_has_the_target():
    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text()
    assert "\nscreenshots: venv" in makefile and "$(PY) scripts/screenshots.py" in makefile
