"""compose.yaml cannot run here (no container engine), so check what can drift: versions and wiring."""

from __future__ import annotations

from pathlib import Path

import yaml

from truss.devstack import versions

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_it_pins_the_same_ory_versions_as_the_tests():
    images = {s["image"] for s in COMPOSE["services"].values() if "image" in s}
    assert f"oryd/hydra:{versions()['HYDRA_VERSION']}" in images
    assert f"oryd/kratos:{versions()['KRATOS_VERSION']}" in images


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
        assert client.get(path).status_code != 404, key


def test_it_mounts_the_shared_ory_config():
    for name in ("hydra", "kratos"):
        assert any(v.startswith("./ory:") for v in COMPOSE["services"][name]["volumes"])
    assert (ROOT / "ory" / "hydra.yml").exists() and (ROOT / "ory" / "kratos.yml").exists()
