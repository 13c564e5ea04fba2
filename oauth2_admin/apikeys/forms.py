from __future__ import annotations

from django import forms

from truss.models import ApiKeyRole


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="What uses this key, e.g. “CI deploys”.")
    role = forms.ChoiceField(choices=ApiKeyRole.choices, initial=ApiKeyRole.SERVICE_ROLE)
