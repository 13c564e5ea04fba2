"""Console forms for the tenant's custom claims (the console only collects; truss.claims validates)."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.forms.fields import InvalidJSONInput, JSONString

from truss import claims
from truss.apikit import BadBody, parse_json_text


def json_problem(exc: BadBody) -> str:
    """The parser's refusal in words a person can act on: where a syntax error is (line and column of the text
    in the box, counted from 1) and what was expected there."""
    cause = exc.__cause__
    if isinstance(cause, json.JSONDecodeError):
        what = cause.msg[:1].lower() + cause.msg[1:]
        return f"This is not valid JSON at line {cause.lineno}, column {cause.colno}: {what}."
    return exc.message


class PrettyJSONField(forms.JSONField):
    """Shows stored JSON indented, so the editor is readable; reads the text through the API's one JSON parser
    (depth, NaN, NUL, size), so what it refuses is a field message, never a 500."""

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values or not isinstance(value, str):
            return None if value in self.empty_values else value
        try:
            converted = parse_json_text(value)
        except BadBody as exc:
            raise forms.ValidationError(json_problem(exc), code="invalid") from exc
        return JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        if data is None or not isinstance(data, str):
            return data
        try:
            return parse_json_text(data)
        except BadBody:
            return InvalidJSONInput(data)  # shown again as typed

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return super().prepare_value(value)


class ClaimsConfigForm(forms.Form):
    id_token_claims = PrettyJSONField(
        required=False,
        label=("ID-token claims"),
        help_text=('Claim name to template, e.g. {"email": "{{traits.email}}"}.'),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
    )
    access_token_claims = PrettyJSONField(
        required=False,
        label=("Access-token claims"),
        help_text=("Visible to anyone who introspects the token: no secrets here."),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
    )

    def _clean_claims(self, kind: str) -> dict[str, Any]:
        value = self.cleaned_data.get(kind)
        value = {} if value in (None, "") else value
        errors = claims.validate(kind, value)
        if errors:
            raise forms.ValidationError([f"{key}: {msg}" for key, msgs in errors.items() for msg in msgs])
        return cast(dict[str, Any], value)

    def clean_id_token_claims(self) -> dict[str, Any]:
        return self._clean_claims("id_token_claims")

    def clean_access_token_claims(self) -> dict[str, Any]:
        return self._clean_claims("access_token_claims")


class PreviewForm(forms.Form):
    # Its fields sit in the editor's form (one form, two buttons): an empty identity must not block a save.
    use_required_attribute = False

    identity = forms.CharField(
        max_length=320,
        label=("Identity"),
        help_text=("A Kratos identity id or login email."),
    )
    scopes = forms.CharField(required=False, max_length=500, initial="openid email profile", label=("Scopes"))
