"""Callers of the API in both authentications, and a guard that nothing is sent upstream."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from truss.models import Membership, Tenant


@pytest.fixture
def nothing_leaves(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every HTTP request Truss would send (Hydra, Kratos) and every janitor run, refused and recorded."""
    sent: list[str] = []

    def refuse_http(adapter: Any, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        sent.append(f"{request.method} {request.url}")
        raise requests.ConnectionError("the bad-body test sends nothing upstream")

    def refuse_run(*args: Any, **kwargs: Any) -> Any:
        sent.append(f"janitor {args}")
        raise OSError("the bad-body test runs nothing")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", refuse_http)
    monkeypatch.setattr(subprocess, "run", refuse_run)
    yield sent


@pytest.fixture
def callers(tenant: Tenant, make_api_key: Callable[..., str]) -> dict[str, Callable[..., Any]]:
    """`session`: a platform admin (an admin of the tenant too) with a real CSRF check; `key`: service_role."""
    user = User.objects.create_superuser("bad-bodies-root", password="pw-for-tests-123")
    Membership.objects.create(user=user, tenant=tenant, role="admin")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    token = _get_new_csrf_string()
    browser.cookies[settings.CSRF_COOKIE_NAME] = token
    key = make_api_key(tenant)
    plain = Client()

    def send(client: Client, headers: dict[str, str]) -> Callable[..., Any]:
        def call(method: str, url: str, body: bytes, content_type: str | None) -> Any:
            return client.generic(method, url, body, content_type=content_type or "", headers=headers)

        return call

    return {"session": send(browser, {"X-CSRFToken": token}), "key": send(plain, {"apikey": key})}
