from __future__ import annotations

from django import forms


class TenantSwitchForm(forms.Form):
    tenant = forms.SlugField()
