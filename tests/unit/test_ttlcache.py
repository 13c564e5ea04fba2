from __future__ import annotations

from truss import ttlcache


def test_it_computes_once_per_key_until_the_entry_expires(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(ttlcache.time, "monotonic", lambda: now[0])
    cache: ttlcache.TtlCache[int] = ttlcache.TtlCache(30.0)
    calls: list[str] = []

    def compute(key: str):
        return lambda: calls.append(key) or len(calls)

    assert cache.get("a", compute("a")) == 1
    assert cache.get("a", compute("a")) == 1  # cached
    assert cache.get("b", compute("b")) == 2  # another key computes separately
    now[0] += 31
    assert cache.get("a", compute("a")) == 3  # expired
    cache.clear()
    assert cache.get("b", compute("b")) == 4
    assert calls == ["a", "b", "a", "b"]
