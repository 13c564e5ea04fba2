"""A client's history page speaks the forms' language: lifespans as "15 min" (not Go's "15m0s"), an absent
value said as "not set" (not an empty coloured cell), no stray separator, times in the one time format."""

from __future__ import annotations

import re

import pytest

from oauth2_admin.clients import service as clients

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_it_shows_lifespans_and_absent_values_in_words(console, make_client, tenant):
    client = make_client()  # version 1 (create), version 2 (token settings: 30 min access tokens)
    clients.set_token_config(None, tenant, client.client_id, {"access_token_ttl": 900})  # version 3
    url = f"/console/hygiene/clients/{client.client_id}/history"
    html = console("member").get(url).content.decode()
    assert "15m0s" not in html and "30m0s" not in html
    assert '<time datetime="PT30M">30 min</time>' in html and '<time datetime="PT15M">15 min</time>' in html
    first = console("member").get(url, {"a": 1, "b": 2}).content.decode()
    added = re.findall(r'<tr class="added">(.*?)</tr>', first, flags=re.S)
    assert added and all('<span class="muted">not set</span>' in row for row in added)
    assert all(not re.search(r"<td>\s*</td>", row) for row in added)
    assert not re.search(r"<td[^>]*>\s*·", html)  # version 1 has no diff link: no separator before restore
    assert re.search(r'<td class="when"><time datetime="\d{4}-\d\d-\d\dT[\d:]+\+00:00"', html)
