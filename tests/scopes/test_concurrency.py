"""Parallel creates of one scope name, served as production serves Truss (gunicorn workers with threads, a
database of its own): one wins, every other request is a 409 with a field message, never a 500, and every
request is audited once."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.clients.test_concurrency import Truss, truss  # noqa: F401  (the gunicorn fixture)

pytestmark = [pytest.mark.integration]

THREADS = 8


def test_it_creates_a_scope_once_under_parallel_duplicate_requests(truss: Truss, ory: Any) -> None:  # noqa: F811
    slug = f"scopes-{uuid.uuid4().hex[:6]}"
    truss.manage("create_tenant", slug)
    key = {"apikey": truss.manage("create_api_key", "--tenant", slug, "--role", "service_role").strip()}
    url = f"{truss.url}/v1/oauth2/scopes"
    body = {"name": "reports:read", "title_en": "Read reports", "description_en": "See your reports."}

    def create(t: int) -> tuple[int, Any]:
        response = requests.post(url, headers=key, json={**body, "title_de": f"Berichte {t}"}, timeout=60)
        return response.status_code, response.json()

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(create, range(THREADS)))

    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 1, 409: THREADS - 1}, f"{answers}\n{truss.log_tail()}"
    assert all("name" in answer["fields"] for status, answer in answers if status == 409)
    listed = requests.get(url, headers=key, timeout=30).json()["items"]
    assert [s["name"] for s in listed] == ["reports:read"]

    dump = truss.manage(
        "shell",
        "-c",
        "import json; from truss.models import AuditEvent; print(json.dumps([e.outcome for e in "
        "AuditEvent.objects.filter(action='oauth2.scope.create')]))",
    )
    outcomes = Counter(json.loads(dump.strip().splitlines()[-1]))
    assert outcomes == {"success": 1, "failure": THREADS - 1}
