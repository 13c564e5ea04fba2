from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from truss.models import Tenant


@pytest.fixture
def issuer() -> str:
    return f"https://partner-{uuid.uuid4().hex[:6]}.example.com"


@pytest.fixture
def v1_for(client: Client, make_api_key: Callable[..., str]) -> Callable[[Tenant], Callable[..., Any]]:
    """`/v1/oauth2/trust…` with a service_role key of the given tenant."""

    def for_tenant(tenant: Tenant) -> Callable[..., Any]:
        key = {"apikey": make_api_key(tenant)}

        def call(method: str, path: str = "", body: Any = None, raw: str | None = None) -> Any:
            data = raw if raw is not None else (json.dumps(body) if body is not None else "")
            return client.generic(
                method, f"/v1/oauth2/trust{path}", data, content_type="application/json", headers=key
            )

        return call

    return for_tenant


@pytest.fixture
def v1(v1_for: Callable[[Tenant], Callable[..., Any]], tenant: Tenant) -> Callable[..., Any]:
    return v1_for(tenant)
