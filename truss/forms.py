from __future__ import annotations

from typing import Any

from django import forms

from truss.models import ApiKeyRole


class TenantSwitchForm(forms.Form):
    tenant = forms.SlugField()


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="What uses this key, e.g. “CI deploys”.")
    role = forms.ChoiceField(choices=ApiKeyRole.choices, initial=ApiKeyRole.SERVICE_ROLE)


class ConfirmForm(forms.Form):
    """A POST with nothing but the CSRF token: every destructive button still goes through a form."""


class AuditFilterForm(forms.Form):
    action = forms.CharField(max_length=100, required=False)
    actor = forms.CharField(max_length=200, required=False)
    target = forms.CharField(max_length=300, required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data
