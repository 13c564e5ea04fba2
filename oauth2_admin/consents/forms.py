from __future__ import annotations

from typing import Any

from django import forms


class RevokeForm(forms.Form):
    end_login_sessions = forms.BooleanField(
        required=False,
        label="Also end their login sessions",
        help_text="Signs them out of every application of every tenant at Hydra (platform admins only).",
    )


class BulkRevokeForm(forms.Form):
    confirm = forms.CharField(label="Type the client's name to confirm", max_length=300)

    def __init__(self, *args: Any, expected: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected

    def clean_confirm(self) -> str:
        value: str = self.cleaned_data["confirm"]
        if value.strip() != self.expected:
            raise forms.ValidationError(f"Type “{self.expected}” exactly to revoke this client for everyone.")
        return value
