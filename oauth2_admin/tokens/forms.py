"""Console forms for tokens. They only collect values: the service and the janitor options validate."""

from __future__ import annotations

from typing import Any

from django import forms
from pydantic import ValidationError

from oauth2_admin.tokens.janitor import JanitorOptions
from oauth2_admin.tokens.service import TokenIn
from truss.forms import TypedConfirmForm


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Token",
        max_length=8192,
        strip=True,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "spellcheck": "false",
                "autocomplete": "off",
                "aria-describedby": "id_token_help",
            }
        ),
        help_text="An access or refresh token (ory_at_…, ory_rt_… or a JWT). It is sent in the request body "
        "only, never kept, logged or audited (the audit log records a SHA-256 fingerprint).",
    )

    def clean_token(self) -> str:
        try:
            return TokenIn(token=self.cleaned_data["token"]).token
        except ValidationError as exc:
            raise forms.ValidationError("Paste one token: printable characters, no spaces.") from exc


class RevokeTokenForm(TokenForm):
    """Revoke: the first POST (no `confirmed`) asks on a confirmation page, which posts again with it."""

    token = forms.CharField(max_length=8192, strip=True, widget=forms.HiddenInput)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class TypedNameForm(TypedConfirmForm):
    """Deleting every access token of a client is confirmed by typing its name (its id if it has none)."""

    label = "Type the client's name to confirm"
    action = "delete every access token of this client"


class CleanupForm(forms.Form):
    tokens = forms.BooleanField(required=False, initial=True, label="Tokens (access and refresh)")
    requests = forms.BooleanField(required=False, initial=True, label="Login and consent requests")
    grants = forms.BooleanField(required=False, initial=False, label="Expired jwt-bearer trust relationships")
    access_lifespan = forms.CharField(
        initial="1h",
        max_length=20,
        label="Access-token lifespan",
        help_text="Access tokens issued longer ago than this are deleted. Must be at least the longest "
        "access-token lifespan in use (Hydra's ttl.access_token and every client's per-grant lifespan).",
    )
    refresh_lifespan = forms.CharField(
        initial="720h",
        max_length=20,
        label="Refresh-token lifespan",
        help_text="Refresh tokens issued longer ago than this are deleted (Hydra's default ttl.refresh_token is 720h).",
    )
    consent_request_lifespan = forms.CharField(
        initial="30m",
        max_length=20,
        label="Login/consent request lifespan",
        help_text="Unhandled, rejected or expired flows older than this are deleted.",
    )
    keep_if_younger = forms.CharField(
        initial="0s",
        max_length=20,
        label="Keep if younger than",
        help_text="A safety margin: nothing issued within this window is deleted, whatever the lifespans say.",
    )
    limit = forms.IntegerField(
        initial=10000, min_value=1, max_value=1_000_000, label="Limit (rows per table)"
    )
    batch_size = forms.IntegerField(initial=100, min_value=1, max_value=10_000, label="Batch size")
    # Set by the confirmation page: the first POST only shows what the run will delete.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.options = JanitorOptions(**{k: v for k, v in data.items() if k != "confirmed"})
        except ValidationError as exc:
            for err in exc.errors():
                loc = [str(p) for p in err.get("loc", ())]
                name = loc[0] if loc and loc[0] in self.fields else None
                message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
                if "pattern" in err.get("type", ""):
                    message = "Use a Go duration such as 30m, 1h or 720h."
                self.add_error(name, message)
        return data
