from __future__ import annotations

from typing import Any

from django import forms


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
