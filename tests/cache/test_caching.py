"""Cached reads that writes invalidate (truss.caching): a read that started before a write can never leave
its old row in the cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from truss import caching

pytestmark = pytest.mark.django_db  # forget() also acts on commit


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_read_that_started_before_a_write_cannot_cache_the_old_row():
    def load_old_row() -> str:
        caching.forget(["k"])  # the write commits (and invalidates) while this reader holds the old row
        return "old"

    assert caching.read_through("k", load_old_row, 60) == "old"
    assert cache.get("k") == caching.TOMBSTONE  # a plain delete would have let "old" in, for the whole TTL
    # Until the tombstone expires readers go to the database and cache nothing; then caching resumes.
    assert caching.read_through("k", lambda: "new", 60) == "new" and cache.get("k") == caching.TOMBSTONE
    cache.delete("k")  # as if TOMBSTONE_TTL had passed
    assert caching.read_through("k", lambda: "new", 60) == "new" and cache.get("k") == "new"


def test_it_caches_nothing_for_a_missing_row_and_serves_a_cached_one_without_loading():
    assert caching.read_through("gone", lambda: None, 60) is None and cache.get("gone") is None
    cache.set("there", ("row",), 60)
    assert caching.read_through("there", lambda: pytest.fail("loaded although cached"), 60) == ("row",)
