from __future__ import annotations

from typing import Any

from django import forms

from truss.audit import Action


class AuditFilterForm(forms.Form):
    """The audit log's filters; the action is chosen from the registry (truss/audit/actions.py), by label."""

    action = forms.ChoiceField(choices=[("", "Any action"), *Action.choices], required=False)
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
