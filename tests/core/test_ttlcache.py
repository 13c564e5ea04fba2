from __future__ import annotations

from collections.abc import Callable

from truss.ttlcache import TtlCache


def test_it_computes_once_per_key_until_the_entry_expires(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("truss.ttlcache.time.monotonic", lambda: now[0])
    cache: TtlCache[int] = TtlCache(30.0)
    calls: list[str] = []

    def compute(key: str) -> Callable[[], int]:
        def run() -> int:
            calls.append(key)
            return len(calls)

        return run

    assert cache.get("a", compute("a")) == 1
    assert cache.get("a", compute("a")) == 1  # cached
    assert cache.get("b", compute("b")) == 2  # another key computes separately
    now[0] += 31
    assert cache.get("a", compute("a")) == 3  # expired
    cache.clear()
    assert cache.get("b", compute("b")) == 4
    assert calls == ["a", "b", "a", "b"]
