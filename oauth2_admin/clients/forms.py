"""Console forms for clients. They only collect typed values: oauth2_admin.clients validates (one source of
truth for the console and the API) and its field errors are put back onto these forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django import forms
from django.http import QueryDict
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from oauth2_admin.clients import service as clients
from truss.forms import DerivedForm, FieldFactory, Shown, TypedConfirmForm, fields_form
from truss.models import Tenant
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
        context["widget"].update(
            rows=row_notes(values, self.kind),
            kind=self.kind,
            placeholder=self.placeholder,
            check_url=reverse("console:clients:check_uris") if self.kind == "uri" else "",
        )
        return context


def row_notes(values: list[str], kind: str) -> list[dict[str, Any]]:
    """One dict per row: value, problem, warning (URI rows only; the rules are the service's)."""
    notes = clients.uri_notes(values) if kind == "uri" else [(None, None)] * len(values)
    return [{"value": v, "problem": p, "warning": w} for v, (p, w) in zip(values, notes, strict=True)]


class ScopeWidget(forms.Widget):
    """The client's scope: a checkbox per scope of the tenant's catalogue (standard ones first, with their
    titles), and a text box for any other scopes (kept, and flagged by the hygiene report). The value stays the
    space-separated string ClientIn takes; a single text value (an older form, a script) is read as before."""

    template_name = "console/scopes/scope_widget.html"
    use_fieldset = True

    def __init__(self, attrs: dict[str, Any] | None = None, *, entries: list[tuple[str, str]]) -> None:
        super().__init__(attrs)
        self.entries = entries  # (scope name, title) in the order shown

    def value_from_datadict(self, data: Mapping[str, Any], files: Any, name: str) -> str:
        values: list[Any] = (
            data.getlist(name) if isinstance(data, QueryDict | MultiValueDict) else [data.get(name)]
        )
        values.append(data.get(f"{name}_other"))
        tokens = [token for value in values for token in str(value or "").split()]
        return " ".join(dict.fromkeys(tokens))

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        chosen = str(value or "").split()
        known = {scope for scope, _ in self.entries}
        context["widget"].update(
            options=[(scope, title, scope in chosen) for scope, title in self.entries],
            other=" ".join(s for s in chosen if s not in known),
        )
        return context


def scope_entries(tenant: Tenant | None) -> list[tuple[str, str]]:
    """The catalogue's scopes for the client form: the standard ones, then the tenant's, with their titles."""
    from oauth2_admin.scopes import service as scopes

    entries = [(s.name, s.title) for s in scopes.standard_scopes()]
    if tenant is not None:
        entries += [(s.name, s.title_en) for s in scopes.list_for(tenant)]
    return entries


class ListField(forms.Field):
    widget = ListWidget

    def to_python(self, value: Any) -> list[str]:
        return list(value or [])


def _list_editor(kind: str) -> FieldFactory:
    def make(shown: Shown, common: dict[str, Any]) -> forms.Field:
        return ListField(widget=ListWidget(kind=kind, placeholder=shown.placeholder), **common)

    return make


if TYPE_CHECKING:
    _ClientFields = DerivedForm
else:
    _LIST_KINDS = {kind + "-list": _list_editor(kind) for kind in ("uri", "text", "email")}
    _ClientFields = fields_form(clients.ClientIn, _LIST_KINDS)


class ClientForm(_ClientFields):
    """Every field ClientIn shows in the console, derived from it (truss.forms.fields_form), plus the version
    the edit page started from."""

    version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, tenant: Tenant | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].widget = ScopeWidget(entries=scope_entries(tenant))
        self.fields["scope"].help_text = (
            "Tick the scopes of the catalogue the client may request; other scopes go in the box, "
            "space-separated (the hygiene report flags scopes the catalogue does not define)."
        )
        if not clients.device_flow_supported():
            field = self.fields["grant_types"]
            field.choices = [c for c in field.choices if c[0] != clients.DEVICE_GRANT]  # type: ignore[attr-defined]
            field.help_text = "The device code grant needs Hydra v25.4 or newer."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("token_endpoint_auth_method") != "private_key_jwt":
            # Hidden unless private_key_jwt is chosen: what is left in them does not apply.
            data["jwks_uri"], data["jwks"] = "", None
            self.errors.pop("jwks_uri", None)
            self.errors.pop("jwks", None)
        return data

    def clean_metadata(self) -> Any:
        value = self.cleaned_data.get("metadata")
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
        return {**clients.editable(client), "version": version}


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
