from __future__ import annotations

from django import forms


class ConfirmForm(forms.Form):
    """A POST with nothing but the CSRF token: every destructive button still goes through a form."""
