"""Console pages and public API endpoints against the real Hydra and Kratos."""

from __future__ import annotations

import pytest
from django.urls import reverse

from truss.devstack import binary_version
from truss.ory import hydra, kratos

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_it_is_ready_when_hydra_and_kratos_are(ory, client):
    response = client.get(reverse("readyz"))
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": True, "hydra": True, "kratos": True}


def test_it_reports_both_versions(ory, client):
    health = client.get("/api/hydra/health").json()
    assert health["status"] == "ok"
    # The versions actually running: the pinned build, or whatever HYDRA_BIN / KRATOS_BIN point at.
    assert health["hydra"]["version"] == binary_version("hydra")
    assert health["kratos"]["version"] == binary_version("kratos")
    assert kratos.is_ready() and hydra.is_ready()


def test_it_shows_both_services_ready_on_the_overview(ory, console):
    content = console("viewer").get(reverse("console:overview")).content.decode()
    assert content.count(">ready</span>") == 2
    assert binary_version("hydra") in content and binary_version("kratos") in content


def test_it_renders_discovery_from_hydra(ory, console):
    response = console("viewer").get(reverse("console:devtools:discovery"))
    assert response.status_code == 200
    assert f"{ory.hydra_public_url}/oauth2/token" in response.content.decode()


def test_it_lists_public_keys_and_never_private_members(ory, console, client):
    keys = client.get("/api/hydra/jwks").json()["keys"]
    assert keys and all(k["kid"] for k in keys)
    assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & {m for k in keys for m in k}
    page = console("viewer").get(reverse("console:keys:jwks")).content.decode()
    assert keys[0]["kid"] in page


def test_it_serves_discovery_to_any_api_key(ory, client, tenant, make_api_key):
    response = client.get("/v1/oauth2/discovery", headers={"apikey": make_api_key(tenant, "anon")})
    assert response.json()["issuer"] == f"{ory.hydra_public_url}/"


def test_it_answers_boosted_navigation_with_the_full_page(ory, console):
    response = console("viewer").get(
        reverse("console:devtools:discovery"), headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    content = response.content.decode()
    assert '<nav aria-label="Console">' in content
    assert 'href="/console/discovery/" aria-current="page"' in content
