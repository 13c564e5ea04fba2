"""Finding a person by email: an address nobody has and one only another tenant's clients know give the same
404 after the same upstream calls (before, the second cost one more Hydra call: slower in almost every pair)."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

from truss.ory import http as ory_http

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def upstream_calls(monkeypatch) -> list[str]:
    """Every Hydra/Kratos call made from now on, as "Service METHOD /path"."""
    calls: list[str] = []
    real = ory_http.request

    def counting(service: ory_http.Service, method: str, url: str, **kwargs: Any) -> Any:
        path = urlsplit(url).path
        calls.append(f"{service.name} {method} {path}")
        return real(service, method, url, **kwargs)

    monkeypatch.setattr(ory_http, "request", counting)
    return calls


@pytest.fixture
def someone_elses(make_app, grant, make_identity, other_tenant) -> dict[str, Any]:
    """A person with consents with two of the other tenant's clients only."""
    person: dict[str, Any] = make_identity()
    for _ in range(2):
        grant(make_app(other_tenant), person["id"], scope="openid email")
    return person


def _search(me: Client, q: str) -> Any:
    answer = me.get("/console/consents/", {"q": q})
    assert answer.status_code == 404, answer.status_code
    return answer


def test_it_asks_hydra_and_kratos_the_same_for_nobody_and_for_another_tenants_person(
    console, someone_elses, upstream_calls
):
    me = console("admin")
    _search(me, "warm-up@example.test")

    upstream_calls.clear()
    nobody = _search(me, "nobody-at-all@example.test")
    for_nobody = list(upstream_calls)
    upstream_calls.clear()
    theirs = _search(me, someone_elses["email"])
    assert upstream_calls == for_nobody
    assert [c.split(" ")[0] for c in for_nobody] == ["Kratos", "Hydra"]
    assert _page(nobody, "nobody-at-all@example.test") == _page(theirs, someone_elses["email"])

    # By identity id, too: one Hydra call either way.
    upstream_calls.clear()
    assert me.get(f"/console/consents/people/{uuid.uuid4()}/").status_code == 404
    for_nobody = list(upstream_calls)
    upstream_calls.clear()
    assert me.get(f"/console/consents/people/{someone_elses['id']}/").status_code == 404
    assert upstream_calls == for_nobody and [c.split(" ")[0] for c in for_nobody] == ["Hydra"]


def _page(answer: Any, q: str) -> str:
    """The page without what differs by design: the search text echoed, the CSRF token (masked anew each time)."""
    return re.sub(r"\b[A-Za-z0-9]{64}\b", "TOKEN", answer.content.decode().replace(q, "Q"))
