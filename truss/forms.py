"""What console forms share: the confirmations destructive actions go through and the audit event of a form the
view refuses."""

from __future__ import annotations

from typing import Any

from django import forms

from truss import audit
from truss.http import TenantRequest
from truss.models import AuditEvent


class ConfirmForm(forms.Form):
    """What the operator saw: the ETag of the object the confirmation page showed (412 if it changed since)."""

    etag = forms.CharField(max_length=64)


class TypedConfirmForm(forms.Form):
    """An action confirmed by typing the object's name exactly. A subclass names the field's `label` and the
    `action` its error message asks for."""

    label = "Type the name to confirm"
    action = "confirm"

    confirm = forms.CharField()

    def __init__(self, *args: Any, expected: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.fields["confirm"].label = self.label

    def clean_confirm(self) -> str:
        value: str = self.cleaned_data["confirm"]
        if value.strip() != self.expected:
            raise forms.ValidationError(f"Type “{self.expected}” exactly to {self.action}.")
        return value


def refused(request: TenantRequest, action: str, form: forms.BaseForm, target: str = "") -> None:
    """The audit event of a console POST its form refused: the input never reached the service, but it was an
    attempted mutation all the same (one failure event in the request's tenant, the form's messages as detail)."""
    failure = AuditEvent.Outcome.FAILURE
    audit.record(
        request, action, tenant=request.tenant, target=target, outcome=failure, detail=form.errors.as_text()
    )
