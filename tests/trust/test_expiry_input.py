"""The trust form's expiry: labelled UTC and read as UTC, whatever time zone is active, and shown back in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from oauth2_admin.trust.forms import TrustForm

BASE = {"issuer": "https://partner.example.com", "subject": "svc", "scope": "a", "public_key": "x"}


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles"])
def test_it_reads_the_expiry_as_utc_whatever_zone_is_active(zone):
    with timezone.override(zone):
        form = TrustForm({**BASE, "expires_at": "2026-12-08T10:00"})
        assert form.is_valid(), form.errors
    assert form.cleaned_data["expires_at"] == datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    assert form.payload()["expires_at"] == "2026-12-08T10:00:00+00:00"


def test_it_converts_an_expiry_with_an_offset():
    form = TrustForm({**BASE, "expires_at": "2026-12-08T10:00+02:00"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["expires_at"] == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


def test_it_labels_the_field_utc_and_shows_a_value_back_in_utc():
    with timezone.override("Europe/Berlin"):
        form = TrustForm(initial={"expires_at": datetime(2026, 12, 8, 10, 0, tzinfo=UTC)})
        html = str(form["expires_at"].as_field_group())
    assert "Expires at (UTC)" in html and "in UTC" in html
    assert 'value="2026-12-08T10:00"' in html
