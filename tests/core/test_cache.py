"""Hydra's version is cached through Django's cache framework (settings.CACHES, CACHE_URL): asked once a
minute, per Hydra, failures never cached, and shared by every process when the cache is Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from django.core.cache import cache
from django.test import override_settings

from tests.fixtures.second_process import child_env
from truss.devstack import free_port
from truss.ory import hydra

ADMIN = "http://hydra.test:4445"


@pytest.fixture(autouse=True)
def hydra_settings(settings: Any) -> Iterator[None]:
    settings.HYDRA_ADMIN_URL = ADMIN
    settings.HYDRA_PUBLIC_URL = "http://hydra.test:4444"
    cache.clear()
    yield
    cache.clear()


def test_it_asks_hydra_once_until_the_entry_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(f"{ADMIN}/version", json={"version": "v2.3.0"})
        assert hydra.version_at_least("v2.2.0") is True
        assert hydra.version_at_least("v25.4.0") is False
        assert len(rsps.calls) == 1

        later = time.time() + hydra.VERSION_CACHE_SECONDS + 1
        monkeypatch.setattr("django.core.cache.backends.locmem.time.time", lambda: later)
        assert hydra.version_at_least("v2.2.0") is True
        assert len(rsps.calls) == 2


def test_it_keeps_one_entry_per_hydra(settings: Any) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(f"{ADMIN}/version", json={"version": "v2.3.0"})
        rsps.get("http://other-hydra.test:4445/version", json={"version": "v26.2.0"})
        assert hydra.version_at_least("v25.4.0") is False
        settings.HYDRA_ADMIN_URL = "http://other-hydra.test:4445"
        assert hydra.version_at_least("v25.4.0") is True
        assert len(rsps.calls) == 2


def test_it_does_not_cache_a_failure() -> None:
    with responses.RequestsMock() as rsps:
        rsps.get(f"{ADMIN}/version", status=503)
        rsps.get(f"{ADMIN}/version", status=503)
        rsps.get(f"{ADMIN}/version", status=503)
        with pytest.raises(hydra.HydraUnavailable):
            hydra.version_at_least("v2.2.0")
    with responses.RequestsMock() as rsps:
        rsps.get(f"{ADMIN}/version", json={"version": "v2.3.0"})
        assert hydra.version_at_least("v2.2.0") is True


@pytest.fixture
def redis_url(tmp_path: Any) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
    port = free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_it_shares_the_version_between_processes_through_redis(redis_url: str) -> None:
    import environ
    import redis

    config = environ.Env().cache_url_config(redis_url)  # exactly what CACHE_URL=redis://… gives settings
    assert config["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    with override_settings(CACHES={"default": config}):
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            rsps.add_passthru("http://127.0.0.1")
            rsps.get(f"{ADMIN}/version", json={"version": "v2.3.0"})
            assert hydra.version_at_least("v2.2.0") is True
            assert len(rsps.calls) == 1
        # Another worker or host (its own memory, the same Redis) finds the version without asking Hydra.
        raw = redis.Redis.from_url(redis_url)
        keys = [k.decode() for k in raw.keys("*")]
        assert any("truss:hydra:version:" in k for k in keys), keys
        with responses.RequestsMock() as rsps:  # no Hydra answer registered: a call would fail the test
            assert hydra.version_at_least("v2.2.0") is True
        cache.clear()


def test_it_uses_one_redis_client_per_pool_and_behaves_like_djangos_backend(redis_url: str) -> None:
    import environ

    from truss.rediscache import RedisCache

    config = {**environ.Env().cache_url_config(redis_url), "BACKEND": "truss.rediscache.RedisCache"}
    with override_settings(CACHES={"default": config}):
        from django.core.cache import caches

        backend = caches["default"]
        assert isinstance(backend, RedisCache)
        assert backend.add("k", {"v": 1}, 30) is True and backend.add("k", {"v": 2}, 30) is False
        assert backend.get("k") == {"v": 1}
        backend.set("n", 1, 30)
        assert backend.incr("n") == 2 and backend.get_many(["k", "n"]) == {"k": {"v": 1}, "n": 2}
        backend.delete("k")
        assert backend.get("k") is None
        client = backend._cache.get_client()
        assert backend._cache.get_client(write=True) is client  # built once, not per call (Django's way)
        backend.clear()


def test_it_selects_the_reusing_backend_for_a_redis_cache_url(tmp_path: Any) -> None:
    import json
    import subprocess
    import sys

    env = child_env(
        DJANGO_SETTINGS_MODULE="truss.settings",
        CACHE_URL="redis://127.0.0.1:6390/0",
        SECRET_KEY="x" * 50,
        DEBUG="true",
    )
    code = "import json; from django.conf import settings as s; print(json.dumps(s.CACHES['default']['BACKEND']))"
    out = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == "truss.rediscache.RedisCache"
