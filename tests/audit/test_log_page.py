"""The audit log page's layout: labels, unbroken tokens, details in an expandable full-width row, and a refusal of
bad input shown apart from a real failure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from oauth2_admin.audit import service
from truss import audit
from truss.audit import Action
from truss.models import AuditEvent
from truss.ory import hydra

pytestmark = pytest.mark.django_db

FAILURE = AuditEvent.Outcome.FAILURE


def record(tenant, action, **kwargs):
    kwargs.setdefault("actor", "system")
    return audit.record(None, action, tenant=tenant, **kwargs)


def event(outcome: str, detail: str = "") -> AuditEvent:
    return AuditEvent(action=Action.CLIENT_CREATE, actor="system", outcome=outcome, detail=detail)


@pytest.mark.parametrize(
    "detail",
    [
        "* redirect_uris\n  * must start with https:// or a custom scheme",
        "{'redirect_uris': ['must start with https://']}",
        '{"token": ["is required"]}',
        "invalid request: ['client_name']",
        "invalid templates: ['id_token.x']",
        "invalid token field",
        "The request body is not valid JSON: Expecting value: line 1 column 1 (char 0).",
        "Send the request body as JSON, with Content-Type: application/json.",
        "Hydra: bad request (400): invalid_client_metadata – redirect_uris are invalid",
        "Hydra: conflict (409)",
    ],
)
def test_it_reads_a_failure_of_bad_input_as_a_refusal(detail):
    shown = service.outcome_of(event(FAILURE, detail))
    assert (shown.label, shown.css) == ("refused", "refused")
    assert "nothing was changed" in shown.explanation


@pytest.mark.parametrize(
    "detail",
    [
        str(hydra.HydraUnavailable(503, description="connection refused")),
        "Hydra: request failed (500): server_error",
        "Kratos: unavailable",
        "database is locked",
        "",
    ],
)
def test_it_reads_an_upstream_or_unexpected_failure_as_a_failure(detail):
    shown = service.outcome_of(event(FAILURE, detail))
    assert (shown.label, shown.css) == ("failed", "failure")


def test_it_names_the_upstream_that_failed():
    shown = service.outcome_of(event(FAILURE, str(hydra.HydraUnavailable(503))))
    assert shown.explanation.startswith("Hydra failed (unavailable)")


def test_it_keeps_success_and_denied_as_they_are():
    assert service.outcome_of(event(AuditEvent.Outcome.SUCCESS)).label == "success"
    assert service.outcome_of(event(AuditEvent.Outcome.DENIED, "role viewer; needs admin")).label == "denied"


def test_it_shows_a_refusal_and_a_failure_with_different_badges(console, tenant):
    record(tenant, Action.TRUST_CREATE, outcome=FAILURE, detail="* issuer\n  * Enter a valid URL.")
    record(tenant, Action.TRUST_CREATE, outcome=FAILURE, detail="Hydra: unavailable (503)")
    html = console("viewer").get(reverse("console:audit:log")).content.decode()
    assert re.search(r'<span class="badge refused"[^>]*>refused</span>', html)
    assert re.search(r'<span class="badge failure"[^>]*>failed</span>', html)


def test_it_puts_the_details_in_a_full_width_expandable_row(console, tenant):
    record(tenant, Action.CLAIMS_UPDATE, target="t", before={"name": "old"}, after={"name": "new"})
    html = console("viewer").get(reverse("console:audit:log")).content.decode()
    body = re.search(
        r'<tbody class="event success">(.*?)</tbody>\s*(?:<tbody class="event|</table>)', html, re.S
    )
    assert body, "each event is its own <tbody>"
    rows = re.findall(r"<tr[ >]", body.group(1))
    assert len(rows) >= 2
    details_row = re.search(r'<tr class="event-details">\s*<td colspan="5"><details>', body.group(1))
    assert details_row, "the details span every column, in a row of their own"
    assert "1 field changed" in body.group(1)
    assert f'<code class="muted">{Action.CLAIMS_UPDATE}</code>' in body.group(1), (
        "the raw action in the details"
    )


def test_it_shows_the_label_not_the_code_in_the_action_column(console, tenant):
    record(tenant, Action.CLAIMS_UPDATE, target="t")
    html = console("viewer").get(reverse("console:audit:log")).content.decode()
    cell = re.search(r'<td class="action">(.*?)</td>', html, re.S)
    assert cell and cell.group(1).strip() == audit.actions.label(Action.CLAIMS_UPDATE)


def test_it_never_breaks_tokens_mid_word():
    css = (Path(settings.BASE_DIR) / "static/css/audit.css").read_text()
    assert "anywhere" not in css.split(".audit-log .event-facts")[0]
    assert re.search(r"\.audit-log td, \.audit-log th \{[^}]*word-break: normal", css)
    assert re.search(r"\.audit-log \.ref a[^{]*\{[^}]*white-space: nowrap", css)
    assert (
        'class="audit-table"'
        not in (Path(settings.BASE_DIR) / "templates/console/audit/log.html").read_text()
    )


def test_it_shows_a_refused_forms_messages_as_text_not_entities(console, tenant):
    record(
        tenant,
        Action.CLAIMS_UPDATE,
        outcome=FAILURE,
        detail="* id_token_claims\n  * expecting &#x27;,&#x27; here",
    )
    html = console("viewer").get(reverse("console:audit:log")).content.decode()
    assert "expecting &#x27;,&#x27; here" in html and "&amp;#x27;" not in html
