from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.utils import timezone

from oauth2_admin.trust.service import MAX_KEY_TEXT


class UTCDateTimeField(forms.DateTimeField):
    """A moment typed in UTC: a value without an offset is read as UTC whatever zone is active, one with an
    offset ("2026-12-08T10:00+02:00") is converted, and the form shows its value back in UTC. The input is a
    plain wall-clock `datetime-local` (browsers do not convert it), labelled UTC."""

    def to_python(self, value: Any) -> datetime | None:
        with timezone.override(UTC):
            return super().to_python(value)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, datetime) and timezone.is_aware(value):
            value = value.astimezone(UTC).replace(tzinfo=None)
        return super().prepare_value(value)


class TrustForm(forms.Form):
    issuer = forms.CharField(
        max_length=500, help_text="The assertion's iss, e.g. https://partner.example.com."
    )
    subject = forms.CharField(max_length=500, required=False, help_text="The assertion's sub.")
    allow_any_subject = forms.BooleanField(required=False, label="Accept any subject from this issuer")
    scope = forms.CharField(
        max_length=2000, required=False, help_text="Space-separated scopes it may request."
    )
    expires_at = UTCDateTimeField(
        label="Expires at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    public_key = forms.CharField(
        max_length=MAX_KEY_TEXT,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        label="Issuer's public key",
        help_text="PEM (public key or certificate) or JWK JSON. Private keys are refused.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.now().astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        self.fields[
            "expires_at"
        ].help_text = f"When Hydra stops trusting this key, in UTC, not your computer's time zone (it is now {now} UTC)."

    def payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "issuer": data["issuer"],
            "subject": data["subject"] or None,
            "allow_any_subject": data["allow_any_subject"],
            "scope": data["scope"].split(),
            "expires_at": data["expires_at"].isoformat(),
            "public_key": data["public_key"],
        }
