"""The report's totals, written out as one aggregate (oauth2_admin/hygiene/snapshot.py), against the same
counts taken from the rows the real rule functions judge: the same clients in, the same totals out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oauth2_admin.hygiene import snapshot
from oauth2_admin.hygiene.models import FindingsSnapshot
from truss.ory import hydra

pytestmark = pytest.mark.django_db

CLIENTS = [
    # a confidential web app, a public SPA without PKCE enforcement, a machine client, an implicit one
    {
        "client_id": "web",
        "client_name": "Web",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": ["https://web.example/cb"],
        "scope": "openid",
        "token_endpoint_auth_method": "client_secret_basic",
    },
    {
        "client_id": "spa",
        "client_name": "SPA",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "redirect_uris": ["http://localhost:3000/cb"],
        "scope": "openid offline_access",
        "token_endpoint_auth_method": "none",
    },
    {
        "client_id": "m2m",
        "client_name": "Machine",
        "grant_types": ["client_credentials"],
        "response_types": [],
        "scope": "api",
        "token_endpoint_auth_method": "client_secret_post",
    },
    {
        "client_id": "old",
        "client_name": "Old",
        "grant_types": ["implicit"],
        "response_types": ["token"],
        "redirect_uris": ["http://old.example/cb"],
        "scope": "openid",
        "token_endpoint_auth_method": "none",
    },
]


def _counted(tenant, now) -> dict[str, int]:
    """The totals from the judged rows (the real rule functions), counted here."""
    rt = snapshot.read_time(tenant, now=now)
    rows = snapshot.rows(tenant, snapshot.select(rt), now=now)
    drifted = FindingsSnapshot.objects.filter(tenant=tenant, drifted=True).count()
    counts = {
        f"{s}_sum": sum(1 for r in rows for f in r.findings if f.severity == s)
        for s in ("high", "medium", "low")
    }
    return {
        "total": len(rows),
        "clean": sum(1 for r in rows if not r.findings),
        "drifted_count": drifted,
        **counts,
    }


@pytest.mark.parametrize("days_on", [0, 120, 400])
def test_the_totals_are_what_the_judged_rows_add_up_to(tenant, other_tenant, days_on, settings):
    settings.HYDRA_PKCE_ENFORCED = "off"
    for data in CLIENTS:
        snapshot.store(tenant, hydra.OAuth2Client.model_validate(data))
    snapshot.store(other_tenant, hydra.OAuth2Client.model_validate(CLIENTS[0]))  # never counted for tenant
    FindingsSnapshot.objects.filter(tenant=tenant, client_id="m2m").update(
        drifted=True, drift_fields=["scope"]
    )
    now = timezone.now() + timedelta(days=days_on)
    written = snapshot.totals(snapshot.read_time(tenant, now=now))
    assert written == _counted(tenant, now)
    assert written["total"] == 4 and written["drifted_count"] == 1
    assert (
        written["clean"] < 4
        and written["high_sum"] + written["medium_sum"] + written["low_sum"] > days_on // 200
    )


def test_the_totals_of_a_tenant_without_clients_are_zero(tenant):
    assert set(snapshot.totals(snapshot.read_time(tenant)).values()) == {0}
