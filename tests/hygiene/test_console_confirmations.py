"""The console's confirmation pages that write a client (restore a version, adopt or restore a drift): the ETag
they showed decides (412 when the client changed since), every outcome is audited once, and success says so."""

from __future__ import annotations

from typing import Any

import pytest

from oauth2_admin.clients import service as clients
from tests.fixtures.ory import in_hydra
from tests.hygiene.conftest import change_in_hydra
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def events(client_id: str, action: str) -> list[str]:
    return list(AuditEvent.objects.filter(target=client_id, action=action).values_list("outcome", flat=True))


def test_it_restores_a_version_from_its_page_only_with_the_etag_it_showed(
    console: Any, make_client: Any, ory: Any, tenant: Any
) -> None:
    client = make_client()
    clients.update_for(None, tenant, client.client_id, {"client_name": "Renamed"})
    operator, url = console("member"), f"/console/hygiene/clients/{client.client_id}/versions/1/restore"
    before = events(client.client_id, "oauth2.client.update")
    stale = operator.post(url, {"etag": '"stale"'})
    assert stale.status_code == 412 and "changed by someone else" in stale.content.decode()
    assert in_hydra(ory, client.client_id)["client_name"] == "Renamed"
    page = operator.get(url)
    done = operator.post(url, {"etag": page.context["form"].initial["etag"]})
    assert done.status_code == 302 and done["Location"].endswith(f"/clients/{client.client_id}/history")
    assert in_hydra(ory, client.client_id)["client_name"] == client.client_name
    assert events(client.client_id, "oauth2.client.update")[len(before) :] == ["failure", "success"]


def test_it_adopts_or_restores_a_drift_only_with_the_etag_it_showed(
    console: Any, make_client: Any, ory: Any
) -> None:
    client = make_client()
    change_in_hydra(ory, client.client_id, client_name="Changed behind Truss")
    operator, base = console("member"), f"/console/hygiene/clients/{client.client_id}/drift"
    etag = operator.get(base).context["form"].initial["etag"]
    for action in ("adopt", "restore"):
        stale = operator.post(f"{base}/{action}", {"etag": '"stale"'})
        assert stale.status_code == 412 and stale.context["problem"]
    assert events(client.client_id, "oauth2.client.drift_adopt") == ["failure"]
    restored = operator.post(f"{base}/restore", {"etag": etag}, follow=True)
    assert (
        restored.status_code == 200 and "last known version restored in Hydra." in restored.content.decode()
    )
    assert in_hydra(ory, client.client_id)["client_name"] == client.client_name
    nothing = operator.post(f"{base}/adopt", {"etag": operator.get(base).context["form"].initial["etag"]})
    assert nothing.status_code == 400 and "nothing to adopt" in nothing.context["problem"]
    again = operator.post(f"{base}/restore", {"etag": "*"})
    assert again.status_code == 400 and "nothing to restore" in again.context["problem"]
