"""Every write operation of the API, read from the API object itself (a new route is covered without being
listed here), answers every bad body with 400, 413 or 415 and the error body, in both authentications, before
anything is sent to Hydra or Kratos (any outgoing HTTP request or janitor run fails the test).

No Ory stack: what is refused must be refused before it is needed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from tests.project.routes import JSON, OPERATIONS, auth_of, expects_array, url_of
from truss.models import AuditEvent

pytestmark = pytest.mark.django_db

LIMIT = 512 * 1024

# (name, raw body, content type, status). Every one of them is refused, whatever the operation expects.
BAD_BODIES: list[tuple[str, bytes, str | None, int]] = [
    ("nested 5,000 deep (array)", b"[" * 5000 + b"]" * 5000, JSON, 400),
    ("nested 5,000 deep (object)", b'{"a":' * 5000 + b"1" + b"}" * 5000, JSON, 400),
    ("nested 33 deep", b'{"a":' * 33 + b"1" + b"}" * 33, JSON, 400),
    ("NaN", b'{"a": NaN}', JSON, 400),
    ("Infinity", b'{"a": -Infinity}', JSON, 400),
    ("a number beyond a double", b'{"a": 1e400}', JSON, 400),
    ("NUL character", b'{"a": "x\\u0000y"}', JSON, 400),
    ("NUL character in a key", b'{"\\u0000": 1}', JSON, 400),
    ("lone surrogate", b'{"a": "\\ud800"}', JSON, 400),
    ("not JSON", b"{nope", JSON, 400),
    ("trailing garbage", b"{} {}", JSON, 400),
    ("not UTF-8", b'{"a": "\xff"}', JSON, 400),
    ("over 512 KB", json.dumps({"a": "x" * LIMIT}).encode(), JSON, 413),
    ("multipart without a boundary", b"{}", "multipart/form-data", 415),
    ("multipart", encode_multipart(BOUNDARY, {"a": "1"}), MULTIPART_CONTENT, 415),
    ("form-encoded", b"a=1", "application/x-www-form-urlencoded", 415),
    ("text/plain", b"{}", "text/plain", 415),
    ("no content type", b"{}", None, 415),
    ("JSON in another charset", b"{}", "application/json; charset=latin-1", 415),
]
# POSTs that change nothing (a lookup with a body) are not audited, nor are refusals of the operations anyone may
# call (the bridge's consent answers count them instead). Every other write audits its refusal once.
READS = {
    "/api/hydra/introspect",
    "/v1/oauth2/introspect",
    "/api/hydra/claims-config/preview",
    "/v1/oauth2/diagnose",
}
WRONG_SHAPES = [b"[]", b'"x"', b"1", b"true", b"null"]  # where an object is expected (or none at all)


def _check(response: Any, status: int, what: str) -> None:
    assert response.status_code == status, f"{what}: {response.status_code} {response.content[:300]!r}"
    body = response.json()
    assert body["error"] == "invalid_request" and body["message"] and body["fields"], what


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_it_refuses_every_bad_body_on_every_write_operation(method, path, operation, callers, nothing_leaves):
    call = callers[auth_of(operation)]
    url = url_of(path, operation)
    wrong_shapes = [b'{"a": 1}'] if expects_array(operation) else WRONG_SHAPES
    cases = [*BAD_BODIES, *((f"top-level {raw.decode()}", raw, JSON, 400) for raw in wrong_shapes)]
    events = 0 if path in READS or not operation.get("security") else 1
    for name, raw, content_type, status in cases:
        before = AuditEvent.objects.count()
        response = call(method, url, raw, content_type)
        _check(response, status, f"{method} {path} with {name}")
        assert AuditEvent.objects.count() - before == events, f"{method} {path} with {name}: audit events"
    assert nothing_leaves == [], f"{method} {path} sent {nothing_leaves}"


def test_it_covers_every_write_route_of_both_authentications():
    """The enumeration is the API's own: it holds the routes this issue named, in both families."""
    names = {(method, path) for method, path, _ in OPERATIONS}
    for expected in [
        ("POST", "/v1/oauth2/introspect"),
        ("POST", "/v1/oauth2/revoke"),
        ("POST", "/api/hydra/introspect"),
        ("POST", "/v1/oauth2/trust"),
        ("POST", "/api/hydra/trust"),
        ("POST", "/api/hydra/keys"),
        ("POST", "/api/hydra/flush"),
        ("PUT", "/v1/oauth2/clients/{client_id}"),
        ("PUT", "/api/hydra/claims-config"),
        ("DELETE", "/api/hydra/keys/{set_id}/{kid}"),
    ]:
        assert expected in names
    assert {auth_of(operation) for _, _, operation in OPERATIONS} == {"session", "key"}
    assert len(OPERATIONS) >= 35
