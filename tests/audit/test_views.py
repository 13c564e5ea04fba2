"""The audit log page: names instead of raw ids, JSON and a field-by-field diff, tidy details."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oauth2_admin.audit import service
from truss import apikeys, audit
from truss.audit import Action
from truss.models import AuditEvent

pytestmark = pytest.mark.django_db


def record(tenant, action, **kwargs):
    kwargs.setdefault("actor", "system")
    return audit.record(None, action, tenant=tenant, **kwargs)


def test_it_diffs_two_objects_field_by_field():
    rows = service.diff({"a": 1, "b": [1], "gone": "x"}, {"a": 2, "b": [1], "new": {"k": True}})
    assert [(r.key, r.change) for r in rows] == [("a", "changed"), ("gone", "removed"), ("new", "added")]
    assert rows[0].before == "1" and rows[0].after == "2"
    assert rows[2].after == '{\n  "k": true\n}'
    assert service.diff(None, {"a": 1}) == []


def test_it_shows_json_and_the_diff_not_python_dicts(console, tenant):
    record(
        tenant,
        Action.CLAIMS_UPDATE,
        target="t",
        before={"name": "old", "on": True},
        after={"name": "new", "on": True},
    )
    html = console("viewer").get(reverse("console:audit:log")).content.decode()
    assert "&quot;on&quot;: true" in html and "&#x27;on&#x27;: True" not in html
    assert re.search(r'<tr class="changed"><th scope="row"><code>name</code>', html)
    assert '<tr class="changed"><th scope="row"><code>on</code>' not in html


def test_it_names_actors_and_targets_with_one_query_for_keys(console, tenant, django_user_model):
    key, _raw = apikeys.generate(tenant, "service_role", name="deploy bot")
    for i in range(5):
        record(tenant, "apikey.revoke", actor=f"apikey:{key.prefix}", target=key.prefix)
        record(
            tenant,
            Action.TENANT_MEMBER_SET,
            actor="user:alice",
            target=f"identity:0f3c6a1e-aaaa-bbbb-cccc-{i:012d}",
        )
    client = console("admin")
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("console:audit:log")).content.decode()
    assert sum("audit" not in q["sql"].lower() and "apikey" in q["sql"].lower() for q in queries) == 1
    assert html.count("API key “deploy bot”") == 10  # actor and target of 5 rows
    assert f'title="apikey:{key.prefix}"' in html
    assert '<span title="user:alice">alice</span>' in html
    assert "identity 0f3c6a1e…" in html


def test_it_links_client_targets_without_hydra(console, tenant, hydra_down):
    record(tenant, "oauth2.client.update", target="c-123456789abc")
    response = console("viewer").get(reverse("console:audit:log"))
    assert response.status_code == 200  # Hydra down: still linked, just not named
    assert f'href="{reverse("console:clients:detail", args=["c-123456789abc"])}"' in response.content.decode()


def test_it_keeps_timestamps_on_one_line_and_omits_missing_request_info(console, tenant):
    record(tenant, Action.TENANT_MEMBER_SET, target="t", after={"x": 1})
    html = console("viewer").get(reverse("console:audit:log")).content.decode()
    assert re.search(
        r'<td class="when"><time datetime="[^"]+" title="[^"]+ ago">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</time>',
        html,
    )
    assert "request -" not in html and "· -" not in html


def test_it_shows_the_request_id_when_there_is_one(console, tenant, rf):
    request = rf.post("/x", REMOTE_ADDR="10.1.2.3")
    request.request_id = "req-1234abcd"
    audit.record(request, Action.TENANT_MEMBER_SET, tenant=tenant, target="t", after={"x": 1}, actor="system")
    html = console("viewer").get(reverse("console:audit:log")).content.decode()
    assert "request <code>req-1234abcd</code> · from 10.1.2.3" in html


def test_it_answers_htmx_with_the_audit_table_partial(console, tenant):
    record(tenant, Action.TENANT_MEMBER_SET, target="t")
    response = console("viewer").get(reverse("console:audit:log"), headers={"HX-Request": "true"})
    assert response.content.decode().lstrip().startswith('<div id="audit-table">')
    assert AuditEvent.objects.count() == 1
