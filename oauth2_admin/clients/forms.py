"""Console forms for clients. They only collect typed values: oauth2_admin.clients validates (one source of
truth for the console and the API) and its field errors are put back onto these forms."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import forms
from django.http import QueryDict
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from oauth2_admin.clients import service as clients
from truss.apikit import BadBody, parse_json_text
from truss.forms import TypedConfirmForm
from truss.ory import hydra


class ListWidget(forms.Widget):
    """Rows of inputs sharing one name, with add/remove buttons (static/js/clients.js). URI rows carry the
    service's problem or warning for that entry, rendered here and refreshed as you type by the same code
    (views.check_uris)."""

    template_name = "components/list_widget.html"
    use_fieldset = True  # several inputs: a fieldset and legend, not one label

    def __init__(
        self, attrs: dict[str, Any] | None = None, *, kind: str = "uri", placeholder: str = ""
    ) -> None:
        super().__init__(attrs)
        self.kind, self.placeholder = kind, placeholder

    def value_from_datadict(self, data: Mapping[str, Any], files: Any, name: str) -> list[str]:
        values = data.getlist(name) if isinstance(data, QueryDict | MultiValueDict) else data.get(name) or []
        return [str(v).strip() for v in values if str(v).strip()]

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False  # an empty list is a value: "no redirect URIs"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        values = [str(v) for v in value or []]
        context["widget"].update(rows=row_notes(values, self.kind), kind=self.kind, placeholder=self.placeholder,
                                 check_url=reverse("console:clients:check_uris") if self.kind == "uri" else "")  # fmt: skip
        return context


def row_notes(values: list[str], kind: str) -> list[dict[str, Any]]:
    """One dict per row: value, problem, warning (URI rows only; the rules are the service's)."""
    notes = clients.uri_notes(values) if kind == "uri" else [(None, None)] * len(values)
    return [{"value": v, "problem": p, "warning": w} for v, (p, w) in zip(values, notes, strict=True)]


class ListField(forms.Field):
    widget = ListWidget

    def to_python(self, value: Any) -> list[str]:
        return list(value or [])


AUTH_METHODS = [
    ("client_secret_basic", "Confidential — secret in HTTP Basic auth (recommended for servers)"),
    ("client_secret_post", "Confidential — secret in the request body"),
    ("none", "Public — no secret (single-page or native app; PKCE required)"),
    ("private_key_jwt", "private_key_jwt — the client signs a JWT with its own key"),
]


class ClientForm(forms.Form):
    client_name = forms.CharField(
        max_length=200, label="Name", help_text="Shown to users on the consent screen."
    )
    token_endpoint_auth_method = forms.ChoiceField(choices=AUTH_METHODS, label="Client type",
                                                   widget=forms.RadioSelect)  # fmt: skip
    jwks_uri = forms.URLField(required=False, assume_scheme="https", label="JWKS URI",
                              help_text="private_key_jwt: where Hydra fetches the client's public keys.")  # fmt: skip
    jwks = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
                           label="JWKS (JSON)", help_text="private_key_jwt: or paste the public key set.")  # fmt: skip
    grant_types = forms.MultipleChoiceField(
        choices=list(clients.GRANT_TYPES.items()), widget=forms.CheckboxSelectMultiple
    )
    redirect_uris = ListField(required=False, label="Redirect URIs",
                              widget=ListWidget(placeholder="https://app.example.com/callback"),
                              help_text="Exact match. Native apps: a reverse-domain scheme (com.example.app:/cb).")  # fmt: skip
    post_logout_redirect_uris = ListField(required=False, label="Post-logout redirect URIs",
                                          widget=ListWidget(placeholder="https://app.example.com/"))  # fmt: skip
    scope = forms.CharField(max_length=2000, initial="openid offline_access",
                            help_text="Space-separated scopes the client may request.")  # fmt: skip
    audience = ListField(
        required=False, widget=ListWidget(kind="text", placeholder="https://api.example.com")
    )
    skip_consent = forms.BooleanField(required=False, label="Skip consent (first-party apps only)")
    skip_logout_consent = forms.BooleanField(required=False, label="Skip the logout confirmation")
    subject_type = forms.ChoiceField(
        choices=[("public", "public"), ("pairwise", "pairwise (per-client subject ids)")]
    )
    sector_identifier_uri = forms.URLField(required=False, assume_scheme="https")
    frontchannel_logout_uri = forms.URLField(
        required=False, assume_scheme="https", label="Front-channel logout URI"
    )
    backchannel_logout_uri = forms.URLField(
        required=False, assume_scheme="https", label="Back-channel logout URI"
    )
    access_token_strategy = forms.ChoiceField(
        required=False, label="Access tokens",
        choices=[("", "Hydra's default"), ("opaque", "Opaque (introspect to validate)"), ("jwt", "JWT (self-contained)")],
    )  # fmt: skip
    logo_uri = forms.URLField(required=False, assume_scheme="https", label="Logo URL")
    client_uri = forms.URLField(required=False, assume_scheme="https", label="Home page")
    policy_uri = forms.URLField(required=False, assume_scheme="https", label="Privacy policy")
    tos_uri = forms.URLField(required=False, assume_scheme="https", label="Terms of service")
    contacts = ListField(required=False, widget=ListWidget(kind="email", placeholder="ops@example.com"))
    metadata = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
                               help_text="A JSON object, visible to operators only.")  # fmt: skip
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not clients.device_flow_supported():
            field = self.fields["grant_types"]
            field.choices = [c for c in field.choices if c[0] != clients.DEVICE_GRANT]  # type: ignore[attr-defined]
            field.help_text = "The device code grant needs Hydra v25.4 or newer."

    def _json(self, name: str) -> Any:
        """The field's JSON text through the API's one parser (depth, NaN, NUL, size): a field message, never
        a 500, for anything it refuses."""
        raw = self.cleaned_data.get(name) or ""
        if not raw.strip():
            return None
        try:
            return parse_json_text(raw)
        except BadBody as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean_jwks(self) -> Any:
        return self._json("jwks")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("token_endpoint_auth_method") != "private_key_jwt":
            # Hidden unless private_key_jwt is chosen: what is left in them does not apply.
            data["jwks_uri"], data["jwks"] = "", None
            self.errors.pop("jwks_uri", None)
            self.errors.pop("jwks", None)
        return data

    def clean_metadata(self) -> Any:
        value = self._json("metadata")
        if value is not None and not isinstance(value, dict):
            raise forms.ValidationError("Metadata must be a JSON object.")
        return value or {}

    def payload(self) -> dict[str, Any]:
        """The cleaned values in the API's shape (empty optional values become absent)."""
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        return {k: v for k, v in data.items() if v not in ("", None)}

    def add_service_errors(self, error: clients.ClientInputError) -> None:
        for field, messages in error.fields.items():
            name = field.split(".", 1)[0]
            for message in messages:
                self.add_error(name if name in self.fields else None, message)

    @classmethod
    def initial_for(cls, client: hydra.OAuth2Client, version: str) -> dict[str, Any]:
        data: dict[str, Any] = clients.editable(client)
        for name in ("jwks", "metadata"):
            if data.get(name):
                data[name] = json.dumps(data[name], indent=2)
        return {**data, "version": version}


class TokenConfigForm(forms.Form):
    access_token_ttl = forms.IntegerField(required=False, min_value=1, label="Access tokens (seconds)")
    refresh_token_ttl = forms.IntegerField(required=False, min_value=1, label="Refresh tokens (seconds)")
    id_token_ttl = forms.IntegerField(required=False, min_value=1, label="ID tokens (seconds)")
    access_token_strategy = ClientForm.base_fields["access_token_strategy"]
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The advanced matrix: one optional field per per-grant lifespan of the running Hydra (the device
        # grant's only on Hydra >= v25.4).
        self.lifespan_fields = clients.lifespan_fields()
        for name in self.lifespan_fields:
            label = name.removesuffix("_lifespan").replace("_grant_", " grant: ").replace("_", " ")
            self.fields[name] = forms.IntegerField(required=False, min_value=1, label=label)

    @property
    def matrix(self) -> list[forms.BoundField]:
        return [self[name] for name in self.lifespan_fields]

    def payload(self, current: dict[str, int | None]) -> dict[str, Any]:
        """TTLs apply to every grant of their kind; then each matrix cell the operator changed (blank = Hydra's
        global default) overrides — the order clients.set_token_config applies them in."""
        data = self.cleaned_data
        payload: dict[str, Any] = {
            k: data[k] for k in ("access_token_ttl", "refresh_token_ttl", "id_token_ttl") if data.get(k)
        }
        payload["lifespans"] = {n: data.get(n) for n in self.lifespan_fields if data.get(n) != current.get(n)}
        if data.get("access_token_strategy"):
            payload["access_token_strategy"] = data["access_token_strategy"]
        return payload


class DeleteClientForm(TypedConfirmForm):
    label = "Type the client's name to confirm"
    action = "delete this client"
