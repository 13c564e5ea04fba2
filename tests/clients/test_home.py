"""A client's home: sections with their own URLs (Settings, Credentials & tokens, Security findings, History &
drift, People, Quickstart), the danger actions in one place, a drift banner when Hydra differs from Truss's
last version, and test buttons that run the real flows in the flow tester."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.urls import reverse

from oauth2_admin.clients import service as clients
from oauth2_admin.devtools import flows
from tests.console.test_nav import current_links
from tests.hygiene.conftest import CLEAN

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECTIONS = {
    "detail": "Settings",
    "credentials": "Credentials & tokens",
    "security": "Security findings",
    "history": "History & drift",
    "people": "People",
    "quickstart": "Quickstart",
}


def same_page(html: str) -> str:
    """A page without what differs on every answer (CSP nonces, CSRF tokens)."""
    return re.sub(r"[A-Za-z0-9+/=_-]{40,}", "", html)


def tabs(html: str) -> list[tuple[str, bool]]:
    found = re.search(r'<nav class="subnav tabs"[^>]*>(.*?)</nav>', html, flags=re.S)
    assert found, html[:3000]
    return [
        (label.replace("&amp;", "&"), bool(current))
        for current, label in re.findall(
            r'<a href="[^"]*"( aria-current="page")?>([^<]*)</a>', found.group(1)
        )
    ]


def test_it_answers_every_section_by_url_for_the_tenant_and_404_for_another(
    ory, console, tenant, other_tenant
):
    mine, _ = clients.create_for(None, tenant, {"client_name": "Demo web app", **CLEAN})
    theirs, _ = clients.create_for(None, other_tenant, {"client_name": "Their app", **CLEAN})
    member = console("member")
    for view, label in SECTIONS.items():
        response = member.get(reverse(f"console:clients:{view}", args=[mine.client_id]))
        html = response.content.decode()
        assert response.status_code == 200, view
        assert current_links(html) == ["Clients"], view
        assert tabs(html) == [(t, t == label) for t in SECTIONS.values()], view
        assert "<h1>Demo web app</h1>" in html
        foreign = member.get(reverse(f"console:clients:{view}", args=[theirs.client_id]))
        missing = member.get(reverse(f"console:clients:{view}", args=["no-such-client"]))
        assert foreign.status_code == missing.status_code == 404, view
        assert same_page(foreign.content.decode().replace(theirs.client_id, "no-such-client")) == same_page(
            missing.content.decode()
        )
        assert b"Their app" not in foreign.content


def test_it_keeps_the_danger_actions_in_one_marked_place(ory, console, tenant):
    client, _ = clients.create_for(None, tenant, {"client_name": "Demo web app", **CLEAN})
    cid = client.client_id
    danger = [
        reverse("console:clients:revoke_tokens", args=[cid]),
        reverse("console:clients:rotate_secret", args=[cid]),
        reverse("console:clients:delete", args=[cid]),
    ]
    member = console("member")
    settings_html = member.get(reverse("console:clients:detail", args=[cid])).content.decode()
    zone = settings_html.split('data-testid="danger-zone"')[1].split("</section>")[0]
    assert all(f'href="{url}"' in zone for url in danger)
    outside = settings_html.replace(zone, "")
    assert not any(f'href="{url}"' in outside for url in danger)
    for view in SECTIONS:
        if view != "detail":
            html = member.get(reverse(f"console:clients:{view}", args=[cid])).content.decode()
            assert not any(f'href="{url}"' in html for url in danger), view
    viewer = console("viewer").get(reverse("console:clients:detail", args=[cid])).content.decode()
    assert 'data-testid="danger-zone"' not in viewer


def test_it_shows_a_drift_banner_when_hydra_differs_from_truss(ory, console, tenant):
    client, _ = clients.create_for(None, tenant, {"client_name": "Demo web app", **CLEAN})
    url = reverse("console:clients:quickstart", args=[client.client_id])
    member = console("member")
    assert 'data-testid="drift-banner"' not in member.get(url).content.decode()
    changed = requests.patch(
        f"{ory.hydra_admin_url}/admin/clients/{client.client_id}",
        json=[{"op": "replace", "path": "/client_name", "value": "Renamed in Hydra"}],
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    for view in SECTIONS:
        html = member.get(reverse(f"console:clients:{view}", args=[client.client_id])).content.decode()
        banner = html.split('data-testid="drift-banner"')[1].split("</div>")[0]
        assert "<code>client_name</code>" in banner, view
        assert reverse("console:hygiene:drift", args=[client.client_id]) in banner


def test_it_offers_test_buttons_that_open_the_flow_tester_for_this_client(ory, console, tenant, settings):
    code, _ = clients.create_for(
        None,
        tenant,
        {
            "client_name": "Code app",
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types": ["code"],
            "redirect_uris": [flows.callback_url()],
            "scope": "openid offline_access",
        },
    )
    member = console("member")
    html = member.get(reverse("console:clients:quickstart", args=[code.client_id])).content.decode()
    assert "STATE" not in html and "CODE_CHALLENGE" not in html
    assert 'data-testid="test-sign-in"' in html and 'data-testid="get-token"' in html
    started = member.post(reverse("console:devtools:flow_start"), {"client": code.client_id, "open": "1"})
    assert started.status_code == 302
    query = parse_qs(urlsplit(started["Location"]).query)
    assert started["Location"].startswith(ory.hydra_public_url)
    assert query["client_id"] == [code.client_id] and query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 16 and query["state"][0] != "STATE"
    assert query["state"][0] in member.session[flows.SESSION_KEY]
    flow = member.get(
        reverse("console:devtools:flow"), {"client": code.client_id, "kind": "client_credentials"}
    )
    selected = re.findall(r'<option value="([^"]+)" selected>', flow.content.decode())
    assert selected and set(selected) == {code.client_id}
