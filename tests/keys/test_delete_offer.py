"""The keys page offers "Delete…" only for keys Truss would delete: never for the last key a signing set can sign
with (the delete page refuses it, so the offer was a dead end)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from oauth2_admin.keys import service as keys
from tests.keys.conftest import admin_keys, published

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _row(page: str, kid: str) -> str:
    match = re.search(rf'<tr data-kid="{re.escape(kid)}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {kid}"
    return match.group(1)


def test_it_offers_no_delete_for_the_last_signing_key(ory: Any, platform_admin: Any) -> None:
    published(ory)  # Hydra creates the ID token set (one RS256 key) on its first JWKS request
    page = platform_admin.get(reverse("console:keys:jwks")).content.decode()
    checked = 0
    for set_id in keys.SIGNING_SETS:
        private = [k["kid"] for k in admin_keys(ory, set_id) if "d" in k]
        for kid in private:
            row = _row(page, kid)
            delete_url = reverse("console:keys:delete", args=[set_id, kid])
            if len(private) == 1:
                checked += 1
                assert delete_url not in row and "Delete…" not in row
                assert "Last signer" in row and 'href="#rotation"' in row
                refused = platform_admin.get(delete_url).content.decode()
                assert "Truss refuses to delete it" in refused  # the page and the refusal agree
            else:
                assert delete_url in row
    assert checked >= 1


def test_it_keeps_a_key_id_on_one_line(ory: Any, platform_admin: Any) -> None:
    published(ory)
    page = platform_admin.get(reverse("console:keys:jwks")).content.decode()
    assert '<td class="kid"><code>' in page and '<td class="thumb" title="' in page
    css = (settings.BASE_DIR / "static/css/truss.css").read_text(encoding="utf-8")
    assert re.search(r"\.key-set td\.kid \{[^}]*white-space: nowrap", css)
