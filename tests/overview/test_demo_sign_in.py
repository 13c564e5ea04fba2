"""The overview's one-click demo sign-in: a "Sign in as jane (demo)" button for the client `manage.py seed_demo`
creates (looked up by its exact name in the demo tenant only, never by listing the fleet), none for any other client; seed_demo prints the
demo client's Quickstart URL. With TRUSS_SHOTS=<dir> the browser test saves a screenshot of the overview."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from oauth2_admin.devtools import flows
from tests.bridge.test_browser import sign_in
from tests.console.test_nav_browser import shot
from tests.fixtures.ory import client_lists
from truss.management.commands import seed_demo
from truss.models import Membership, Tenant
from truss.ory import hydra

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BUTTON = "Sign in as jane (demo)"


@pytest.fixture
def seeded(ory, settings, live_server):
    """The demo tenant as `make run` seeds it, with Truss at the live server's address; its Hydra clients are
    removed afterwards (the stack is shared by the session)."""
    settings.TRUSS_PUBLIC_URL = live_server.url
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    yield out.getvalue()
    for old in hydra.list_clients(owner="truss:demo", page_size=50).items:
        hydra.delete_client(old.client_id)


def _demo_client() -> hydra.OAuth2Client:
    return hydra.list_clients(owner="truss:demo", client_name=seed_demo.DEMO_CLIENT_NAME, page_size=1).items[
        0
    ]


def _overview_as(role: str) -> str:
    user = User.objects.create_user(f"op-{role}", password="x")
    Membership.objects.create(user=user, tenant=Tenant.objects.get(slug="demo"), role=role)
    client = Client()
    client.force_login(user)
    return client.get(reverse("console:overview")).content.decode()


def _started_clients(html: str) -> list[str]:
    """The client ids the page's sign-in forms would start a flow for."""
    forms = re.findall(r'<form[^>]*data-testid="demo-sign-in".*?</form>', html, re.S)
    return [c for f in forms for c in re.findall(r'name="client" value="([^"]+)"', f)]


def test_it_prints_the_demo_clients_quickstart_url(seeded):
    client = _demo_client()
    assert f"Quickstart http://127.0.0.1:8000/console/clients/{client.client_id}/quickstart" in seeded


def test_it_offers_the_demo_sign_in_for_the_demo_client_only(seeded, make_hydra_client):
    callback = flows.callback_url()
    other = make_hydra_client(  # a client like the demo's in all but its name
        owner="truss:demo",
        client_name="Other web app",
        grant_types=["authorization_code"],
        response_types=["code"],
        redirect_uris=[callback],
    )
    demo = _demo_client()

    html = _overview_as("member")

    assert BUTTON in html and _started_clients(html) == [demo.client_id]
    assert other["client_id"] not in html
    assert f"/console/clients/{demo.client_id}/quickstart" in html
    assert 'name="open" value="1"' in html and "csrfmiddlewaretoken" in html
    assert BUTTON not in _overview_as("viewer")  # the flow tester starts runs for members and up


def test_it_offers_no_demo_sign_in_without_the_demo_client(console, tenant, make_hydra_client):
    make_hydra_client(
        owner=tenant.hydra_owner,
        grant_types=["authorization_code"],
        response_types=["code"],
        redirect_uris=[flows.callback_url()],
    )
    html = console("admin").get(reverse("console:overview")).content.decode()
    assert 'data-testid="client-count">1<' in html and BUTTON not in html


def test_it_looks_for_the_demo_client_in_the_demo_tenant_only(console, tenant, make_hydra_client, ory_sent):
    make_hydra_client(  # the demo client's twin, in a tenant seed_demo never seeds
        owner=tenant.hydra_owner,
        client_name=seed_demo.DEMO_CLIENT_NAME,
        grant_types=["authorization_code"],
        response_types=["code"],
        redirect_uris=[flows.callback_url()],
    )
    ory_sent.clear()
    html = console("admin").get(reverse("console:overview")).content.decode()
    # No list by name (Hydra's filtered list reads its whole fleet); the tenant's first count lists its clients.
    assert BUTTON not in html and [p for p in client_lists(ory_sent) if "client_name" in p] == []


def test_it_offers_no_demo_sign_in_for_a_demo_client_hydra_would_not_send_back(seeded):
    demo = _demo_client()
    hydra.patch_client(
        demo.client_id,
        [{"op": "replace", "path": "/redirect_uris", "value": ["https://elsewhere.example/cb"]}],
    )
    assert BUTTON not in _overview_as("admin")


@pytest.mark.browser
def test_it_signs_in_as_jane_with_one_click_from_the_overview(seeded, page, signed_in_as):
    signed_in_as("demo", "demo-operator-pw", landing=f"button:has-text('{BUTTON}')")
    shot(page, "overview_demo")
    page.click(f"button:has-text('{BUTTON}')")
    sign_in(page, {"email": seed_demo.DEMO_USER_EMAIL, "password": seed_demo.DEMO_USER_PASSWORD})
    page.wait_for_selector("button[value=accept]")
    page.click("button[value=accept]")
    page.wait_for_url(f"{seed_demo.demo_callback_url()}?**")
    page.wait_for_selector("text=state matches")
