"""Forms of the flow tester: the choices an operator makes for a run; secrets are never rendered back."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.validators import RegexValidator

from oauth2_admin.devtools import flows
from truss.ory import hydra

_SCOPE = RegexValidator(
    r"^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$",
    "scopes are words separated by single spaces (RFC 6749 §3.3)",
)
_WORDS = RegexValidator(r"^[A-Za-z0-9_.:\-]+( [A-Za-z0-9_.:\-]+)*$", "words separated by single spaces")

PROMPTS = [
    ("", "(none: Hydra decides)"),
    ("login", "login: always ask the user to sign in"),
    ("consent", "consent: always show the consent screen"),
    ("none", "none: no screen at all (fails unless signed in and agreed)"),
    ("select_account", "select_account"),
]


def _client_choices(clients: list[hydra.OAuth2Client], grant: str) -> list[tuple[str, str]]:
    return [
        (c.client_id, f"{c.client_name or '(unnamed)'} — {c.client_id}")
        for c in clients
        if grant in c.grant_types
    ]


class _ClientForm(forms.Form):
    grant = "authorization_code"

    def __init__(self, *args: Any, clients: list[hydra.OAuth2Client], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["client"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = _client_choices(clients, self.grant)


class AuthorizeForm(_ClientForm):
    client = forms.ChoiceField(label="Client")
    scope = forms.CharField(
        required=False,
        max_length=1000,
        validators=[_SCOPE],
        help_text="Space-separated; empty asks for all of the client's scopes.",
    )
    prompt = forms.ChoiceField(choices=PROMPTS, required=False)
    max_age = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=10**8,
        label="max_age",
        help_text="Seconds since the user last signed in after which Hydra asks again (0: always).",
    )
    ui_locales = forms.CharField(
        required=False,
        max_length=100,
        validators=[_WORDS],
        label="ui_locales",
        help_text="Preferred languages of the screens, e.g. “de en”.",
    )
    acr_values = forms.CharField(
        required=False,
        max_length=200,
        validators=[_WORDS],
        label="acr_values",
        help_text="Requested authentication context classes, space-separated.",
    )


class ClientCredentialsForm(_ClientForm):
    grant = "client_credentials"
    client = forms.ChoiceField(label="Client")
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        max_length=500,
        label="Client secret",
        help_text="Used for this run only: never stored, logged or shown again.",
    )
    scope = forms.CharField(
        required=False,
        max_length=1000,
        validators=[_SCOPE],
        help_text="Space-separated; empty asks for none.",
    )
    audience = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Space-separated; each must be in the client's audience list.",
    )

    def clean_audience(self) -> list[str]:
        return str(self.cleaned_data.get("audience") or "").split()


class DeviceForm(_ClientForm):
    grant = hydra.DEVICE_GRANT
    client = forms.ChoiceField(label="Client")
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        max_length=500,
        required=False,
        label="Client secret (confidential clients only)",
        help_text="Used for the device authorization request only, never stored; the run page asks again for polling.",
    )
    scope = forms.CharField(
        required=False,
        max_length=1000,
        validators=[_SCOPE],
        help_text="Space-separated; empty asks for all of the client's scopes.",
    )


class SecretForm(forms.Form):
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        max_length=500,
        required=False,
        label="Client secret",
        help_text="Used for this request only: never stored, logged or shown again.",
    )


class FrontChannelForm(forms.Form):
    """An implicit or hybrid run: only clients that may use one of these response types are offered, and the
    chosen type must be one the client allows (flows.front_channel_types)."""

    client = forms.ChoiceField(label="Client")
    response_type = forms.ChoiceField(
        label="response_type",
        choices=[(t, t) for t in flows.FRONT_CHANNEL],
        help_text="Implicit: id_token token, id_token. Hybrid: code id_token, code token, code id_token token.",
    )
    scope = forms.CharField(
        required=False,
        max_length=1000,
        validators=[_SCOPE],
        help_text="Space-separated; empty asks for all of the client's scopes. An ID token needs openid.",
    )
    prompt = forms.ChoiceField(choices=PROMPTS, required=False)

    def __init__(self, *args: Any, clients: list[hydra.OAuth2Client], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = {c.client_id: flows.front_channel_types(c) for c in clients}
        field = self.fields["client"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (
                c.client_id,
                f"{c.client_name or '(unnamed)'} — {c.client_id} ({', '.join(self.allowed[c.client_id])})",
            )
            for c in clients
            if self.allowed[c.client_id]
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        client, rtype = data.get("client"), data.get("response_type")
        if client and rtype and rtype not in self.allowed.get(client, []):
            self.add_error(
                "response_type",
                f"This client may not use {rtype!r}: it allows {', '.join(self.allowed[client])}. Add the "
                "response type (and the implicit grant) to the client first.",
            )
        return data


class JwtBearerForm(_ClientForm):
    """A jwt-bearer run (RFC 7523): the client, the scope of the run's throwaway trust and assertion, and the
    browser's public key (the page's script fills it in; a private key is refused)."""

    grant = flows.JWT_BEARER_GRANT
    client = forms.ChoiceField(label="Client")
    scope = forms.CharField(
        required=False,
        max_length=1000,
        validators=[_SCOPE],
        help_text="Space-separated; each must be in the client's scope list. The temporary trust allows these.",
    )
    jwk = forms.CharField(widget=forms.HiddenInput, max_length=4000, required=False)

    def __init__(self, *args: Any, clients: list[hydra.OAuth2Client], **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "jb-%s")  # the flow page holds other forms with a client field
        super().__init__(*args, clients=clients, **kwargs)

    def clean_jwk(self) -> dict[str, Any]:
        text = str(self.cleaned_data.get("jwk") or "")
        if not text:
            raise forms.ValidationError(
                "No public key arrived: this run needs JavaScript (the key pair is made in your browser)."
            )
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError("The public key is not a JSON object (JWK).") from exc
        if not isinstance(value, dict) or value.get("kty") != "EC" or value.get("crv") != "P-256":
            raise forms.ValidationError("Expected the browser's public ES256 key (an EC P-256 JWK).")
        if "d" in value:
            raise forms.ValidationError("This JWK holds a private key: only the public key may be sent.")
        return {k: value[k] for k in ("kty", "crv", "x", "y") if k in value}


class JwtBearerExchangeForm(forms.Form):
    """The browser-signed assertion and the client's secret, used for this one exchange and never stored."""

    assertion = forms.CharField(max_length=8000)
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        max_length=500,
        required=False,
    )


class DoctorForm(forms.Form):
    """The flow doctor's input: what the application received, and/or the authorization URL it sent."""

    url = forms.CharField(
        label="What the application received (or the authorization URL it sent)",
        max_length=8192,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    request_url = forms.CharField(
        label="The authorization URL it sent (optional)",
        required=False,
        max_length=8192,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
    )
    client_id = forms.CharField(
        label="Client id (if the URLs do not carry it)", required=False, max_length=255
    )
