"""SDK snippets: rendered for a real client of the tenant and, for curl and Python, executed against Hydra."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys

import pytest
from django.urls import reverse

from tests.devtools.conftest import SECRET
from truss.ory import hydra

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECRET_WITH_ODD_CHARACTERS = "snippet+secret%/with odd characters 42"


def _snippets(body: str) -> dict[str, str]:
    found = re.findall(r'<pre id="snippet-[^"]+" tabindex="0" data-snippet="([^"]+)">(.*?)</pre>', body, re.S)
    return {name: html.unescape(code) for name, code in found}


def _run(command: list[str], **env: str) -> dict[str, object]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_it_renders_client_credentials_snippets_that_really_get_a_token(
    ory, tenant, console, make_hydra_client, method
):
    machine = make_hydra_client(
        owner=tenant.hydra_owner,
        client_secret=SECRET_WITH_ODD_CHARACTERS,
        scope="read write",
        token_endpoint_auth_method=method,
    )
    body = (
        console("viewer")
        .get(reverse("console:devtools:snippets"), {"client": machine["client_id"]})
        .content.decode()
    )
    code = _snippets(body)
    assert {"cc-curl", "cc-python", "cc-authlib", "cc-node", "cc-go", "introspect-curl"} <= set(code)
    assert machine["client_id"] in code["cc-go"] and SECRET_WITH_ODD_CHARACTERS not in body
    assert ory.hydra_public_url in code["cc-curl"]

    by_curl = _run(["bash", "-c", code["cc-curl"]], CLIENT_SECRET=SECRET_WITH_ODD_CHARACTERS)
    by_python = _run([sys.executable, "-c", code["cc-python"]], CLIENT_SECRET=SECRET_WITH_ODD_CHARACTERS)
    for answer in (by_curl, by_python):
        assert answer["token_type"] == "bearer" and answer["scope"] == "read write"
        assert hydra.introspect(str(answer["access_token"])).client_id == machine["client_id"]
    pytest.importorskip("authlib")
    by_authlib = _run([sys.executable, "-c", code["cc-authlib"]], CLIENT_SECRET=SECRET_WITH_ODD_CHARACTERS)
    assert hydra.introspect(str(by_authlib["access_token"])).active is True


def test_it_runs_the_introspection_snippet_through_trusss_api(
    ory, tenant, console, make_hydra_client, make_api_key, live_server, settings
):
    settings.TRUSS_PUBLIC_URL = live_server.url
    machine = make_hydra_client(owner=tenant.hydra_owner, client_secret=SECRET)
    token = hydra.client_credentials_token(machine["client_id"], SECRET).access_token
    code = _snippets(
        console().get(reverse("console:devtools:snippets"), {"client": machine["client_id"]}).content.decode()
    )
    key = make_api_key(tenant)
    for command in (
        ["bash", "-c", code["introspect-curl"]],
        [sys.executable, "-c", code["introspect-python"]],
    ):
        answer = _run(command, TRUSS_API_KEY=key, ACCESS_TOKEN=token)
        assert answer["active"] is True and answer["client_id"] == machine["client_id"]


def test_it_serves_a_clients_snippets_as_a_fragment_for_its_own_tenant_only(
    ory, tenant, other_tenant, console, make_hydra_client
):
    mine = make_hydra_client(
        owner=tenant.hydra_owner,
        grant_types=["authorization_code"],
        response_types=["code"],
        redirect_uris=["https://app.example.com/cb"],
        token_endpoint_auth_method="none",
    )
    theirs = make_hydra_client(owner=other_tenant.hydra_owner)
    viewer = console("viewer")
    fragment = viewer.get(reverse("console:devtools:client_snippets", args=[mine["client_id"]]))
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in body and 'id="client-snippets"' in body
    code = _snippets(body)
    assert "cc-curl" not in code  # a public client has no client-credentials grant to show
    assert (
        "https://app.example.com/cb" in code["code-browser"] and "CLIENT_SECRET" not in code["code-browser"]
    )
    assert (
        viewer.get(reverse("console:devtools:client_snippets", args=[theirs["client_id"]])).status_code == 404
    )
    page = viewer.get(reverse("console:devtools:snippets"), {"client": theirs["client_id"]}).content.decode()
    assert theirs["client_id"] not in page


def test_it_shows_a_client_credentials_only_client_no_code_or_refresh_snippet(
    ory, tenant, console, make_hydra_client
):
    machine = make_hydra_client(owner=tenant.hydra_owner, scope="read")
    body = console("viewer").get(reverse("console:devtools:client_snippets", args=[machine["client_id"]]))
    code = _snippets(body.content.decode())
    assert {"cc-curl", "cc-python", "cc-go"} <= set(code)
    assert not [name for name in code if name.startswith(("code-", "refresh-"))], sorted(code)
    text = body.content.decode()
    assert "app.example.com" not in text and "authorization_code" not in text and "refresh_token" not in text


def test_it_shows_refresh_snippets_only_with_the_refresh_grant(ory, tenant, console, make_hydra_client):
    app = make_hydra_client(
        owner=tenant.hydra_owner,
        grant_types=["authorization_code"],
        response_types=["code"],
        redirect_uris=["https://app.example.com/cb"],
    )
    code = _snippets(
        console("viewer")
        .get(reverse("console:devtools:client_snippets", args=[app["client_id"]]))
        .content.decode()
    )
    assert "https://app.example.com/cb" in code["code-go"]
    assert "cc-curl" not in code and "refresh-curl" not in code
