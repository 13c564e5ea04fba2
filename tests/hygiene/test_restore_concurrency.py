"""Parallel restores of one version, served as production serves Truss (gunicorn workers with threads, a database
of its own, the real Hydra): no 5xx, every request audited once, Hydra ends on the version with the client's own
secrets, never the audit log's placeholder."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.clients.test_concurrency import Truss, truss  # noqa: F401  (the gunicorn fixture)
from tests.fixtures.ory import in_hydra

pytestmark = [pytest.mark.integration]

THREADS = 8
METADATA = {"webhook_secret": "whsec-live", "api_token": "tok-live", "team": "payments"}


def test_it_restores_a_version_under_parallel_requests_once_each(truss: Truss, ory: Any) -> None:  # noqa: F811
    truss.manage("create_tenant", "restore-conc")
    key = {
        "apikey": truss.manage("create_api_key", "--tenant", "restore-conc", "--role", "service_role").strip()
    }
    base = f"{truss.url}/v1/oauth2/clients"
    created = requests.post(
        base,
        headers=key,
        timeout=30,
        json={
            "client_name": "Version one",
            "grant_types": ["client_credentials"],
            "scope": "read",
            "metadata": METADATA,
        },
    )
    assert created.status_code == 201, created.text
    client_id = created.json()["client_id"]
    for body in ({"client_name": "Version two"}, {"metadata": {**METADATA, "team": "billing"}}):
        assert requests.put(f"{base}/{client_id}", headers=key, json=body, timeout=30).status_code == 200
    etag = requests.get(f"{base}/{client_id}", headers=key, timeout=30).headers["ETag"]

    def restore(t: int) -> int:
        headers = {**key, "If-Match": etag} if t % 4 else key  # every fourth request forgets If-Match
        return requests.post(
            f"{base}/{client_id}/versions/1/restore", headers=headers, timeout=60
        ).status_code

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = Counter(pool.map(restore, range(THREADS)))

    assert set(statuses) <= {200, 412, 428} and statuses[200] >= 1, f"{statuses}\n{truss.log_tail()}"
    assert statuses[428] == THREADS // 4
    stored = in_hydra(ory, client_id)
    assert stored["client_name"] == "Version one" and stored["metadata"] == METADATA

    dump = truss.manage(
        "shell",
        "-c",
        "import json; from truss.models import AuditEvent; print(json.dumps([e.outcome for e in "
        f"AuditEvent.objects.filter(target={client_id!r}, action='oauth2.client.update').order_by('id')]))",
    )
    outcomes = Counter(json.loads(dump.strip().splitlines()[-1]))
    assert outcomes == {"success": 2 + statuses[200], "failure": statuses[412] + statuses[428]}
