"""truss.forms: the typed confirmation and the audit event of a refused console form, shared by every page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from oauth2_admin.clients.forms import DeleteClientForm
from truss import forms
from truss.models import AuditEvent


def test_it_confirms_only_the_exact_name_and_says_what_it_is_for() -> None:
    wrong = DeleteClientForm({"confirm": "Shop"}, expected="Shop app")
    assert not wrong.is_valid()
    assert wrong.errors["confirm"] == ["Type “Shop app” exactly to delete this client."]
    assert wrong.fields["confirm"].label == "Type the client's name to confirm"
    assert DeleteClientForm({"confirm": " Shop app "}, expected="Shop app").is_valid()


@pytest.mark.django_db
def test_it_audits_a_refused_form_once_as_a_failure(tenant: Any, make_operator: Any) -> None:
    request = RequestFactory().post("/console/clients/x/delete/")
    request.user, request.tenant = make_operator(tenant, "member"), tenant  # type: ignore[attr-defined]
    form = DeleteClientForm({"confirm": ""}, expected="Shop app")
    assert not form.is_valid()
    forms.refused(request, "oauth2.client.delete", form, "client-1")  # type: ignore[arg-type]
    event = AuditEvent.objects.get()
    assert (event.action, event.tenant, event.target) == ("oauth2.client.delete", tenant, "client-1")
    assert event.outcome == AuditEvent.Outcome.FAILURE and "confirm" in event.detail
