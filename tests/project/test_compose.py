"""compose.yaml cannot run here (no container engine), so check what can drift: versions and wiring."""

from __future__ import annotations

from pathlib import Path

import environ
import yaml
from django.urls import resolve, reverse

from truss.devstack import DEVICE_FLOW_SINCE, version_tuple, versions

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_it_pins_the_versions_the_suite_was_run_against():
    images = {s["image"] for s in COMPOSE["services"].values() if "image" in s}
    hydra_images = {i for i in images if i.startswith("oryd/hydra:")}
    kratos_images = {i for i in images if i.startswith("oryd/kratos:")}
    assert hydra_images == {f"oryd/hydra:{versions()['COMPOSE_HYDRA_VERSION']}"}
    assert kratos_images == {f"oryd/kratos:{versions()['COMPOSE_KRATOS_VERSION']}"}


def test_it_points_the_device_flow_at_the_bridge_when_compose_runs_a_hydra_that_has_it():
    hydra_env = COMPOSE["services"]["hydra"]["environment"]
    if version_tuple(versions()["COMPOSE_HYDRA_VERSION"]) < DEVICE_FLOW_SINCE:
        assert not any(key.startswith("URLS_DEVICE") for key in hydra_env)  # older schemas refuse the keys
        return
    for key, name in (
        ("URLS_DEVICE_VERIFICATION", "bridge:device"),
        ("URLS_DEVICE_SUCCESS", "bridge:device_done"),
    ):
        assert hydra_env[key].split("truss.example.com", 1)[1] == reverse(name)


def test_it_migrates_before_serving():
    services = COMPOSE["services"]
    for name in ("hydra", "kratos"):
        assert (
            services[name]["depends_on"][f"{name}-migrate"]["condition"] == "service_completed_successfully"
        )
        assert "migrate sql" in services[f"{name}-migrate"]["command"]


def test_it_points_hydra_at_the_bridge_routes_truss_serves(client):
    env = COMPOSE["services"]["hydra"]["environment"]
    for key in ("URLS_LOGIN", "URLS_CONSENT", "URLS_LOGOUT", "URLS_ERROR"):
        path = env[key].split("truss.example.com", 1)[1]
        resolve(path)  # a Truss route, not a catch-all
        response = client.get(path)
        # Without a challenge each bridge view answers its own 400 page: the route exists and its view ran.
        # Anything else (404 for a wrong path, 5xx for a crash) fails.
        assert response.status_code == 400, (key, response.status_code)
        assert response["Content-Type"].startswith("text/html"), key
    logged_out = env["URLS_POST_LOGOUT_REDIRECT"].split("truss.example.com", 1)[1]
    assert client.get(logged_out).status_code == 200


def test_it_gives_truss_a_shared_cache():
    services = COMPOSE["services"]
    truss = services["truss"]
    url = truss["environment"]["CACHE_URL"]
    host = url.split("://", 1)[1].split(":", 1)[0]
    assert url.startswith("redis://") and host in services
    assert services[host]["image"].startswith("redis:")
    assert truss["depends_on"][host]["condition"] == "service_healthy"
    # what settings build from it: Django's built-in backend, whose client (redis-py) is a main dependency
    assert environ.Env().cache_url_config(url)["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


def test_it_mounts_the_shared_ory_config():
    for name in ("hydra", "kratos"):
        assert any(v.startswith("./ory:") for v in COMPOSE["services"][name]["volumes"])
    assert (ROOT / "ory" / "hydra.yml").exists() and (ROOT / "ory" / "kratos.yml").exists()


def test_it_runs_hydras_janitor_on_a_schedule_against_hydras_database():
    janitor = COMPOSE["services"]["hydra-janitor"]
    assert janitor["image"] == COMPOSE["services"]["hydra"]["image"]
    script = " ".join(janitor["entrypoint"])
    assert "hydra janitor" in script and "--tokens" in script and "sleep" in script
    assert janitor["environment"]["DSN"] == COMPOSE["services"]["hydra"]["environment"]["DSN"]
