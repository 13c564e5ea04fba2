"""The discovery viewer: every endpoint a link, what is supported, whether dynamic registration is on, raw JSON."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.urls import reverse

from truss.ory import hydra

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_it_links_every_endpoint_and_shows_the_raw_document(ory, console):
    body = console("viewer").get(reverse("console:devtools:discovery")).content.decode()
    doc = hydra.discovery()
    for url in (doc.authorization_endpoint, doc.token_endpoint, doc.jwks_uri, doc.userinfo_endpoint):
        assert f'<a href="{url}"' in body
    assert (
        "<code>grant_types_supported</code>" in body
        and '<span class="badge">authorization_code</span>' in body
    )
    assert "<code>subject_types_supported</code>" in body and "<code>claims_supported</code>" in body
    raw = re.search(r'<pre id="discovery-json" tabindex="0">(.*?)</pre>', body, re.S).group(1)
    assert json.loads(html.unescape(raw))["issuer"] == doc.issuer


def test_it_says_dynamic_registration_is_off_and_which_setting_turns_it_on(ory, console):
    assert hydra.dynamic_registration_enabled() is False  # the test stack's hydra.yml leaves it off
    body = console("viewer").get(reverse("console:devtools:discovery")).content.decode()
    assert 'data-testid="registration"><span class="badge">disabled</span>' in body
    assert "oidc.dynamic_client_registration.enabled: true" in body


def test_it_shows_hydra_unavailable(console, hydra_down, db):
    assert console("viewer").get(reverse("console:devtools:discovery")).status_code == 503
