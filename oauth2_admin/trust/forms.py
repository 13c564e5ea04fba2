from __future__ import annotations

from typing import Any

from django import forms

from oauth2_admin.trust.service import MAX_KEY_TEXT


class TrustForm(forms.Form):
    issuer = forms.CharField(
        max_length=500, help_text="The assertion's iss, e.g. https://partner.example.com."
    )
    subject = forms.CharField(max_length=500, required=False, help_text="The assertion's sub.")
    allow_any_subject = forms.BooleanField(required=False, label="Accept any subject from this issuer")
    scope = forms.CharField(
        max_length=2000, required=False, help_text="Space-separated scopes it may request."
    )
    expires_at = forms.DateTimeField(
        help_text="When Hydra stops trusting this key (UTC).",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    public_key = forms.CharField(
        max_length=MAX_KEY_TEXT, widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}), label="Issuer's public key",
        help_text="PEM (public key or certificate) or JWK JSON. Private keys are refused.",
    )  # fmt: skip

    def payload(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "issuer": data["issuer"], "subject": data["subject"] or None,
            "allow_any_subject": data["allow_any_subject"], "scope": data["scope"].split(),
            "expires_at": data["expires_at"].isoformat(), "public_key": data["public_key"],
        }  # fmt: skip
