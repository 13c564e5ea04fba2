from __future__ import annotations

import pytest

from truss import caching


@pytest.fixture
def brief_tombstones(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes leave tombstones (truss.caching) that keep an entry uncached for 2 s; tests that look at the
    steady state right after their own writes use this: a write just drops the entry (tests/cache/
    test_caching.py covers the tombstones themselves)."""
    monkeypatch.setattr(caching, "TOMBSTONE_TTL", 0)  # 0: Django drops the entry at once
