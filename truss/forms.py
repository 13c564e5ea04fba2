"""What console forms share: the confirmations destructive actions go through, the audit event of a form the
view refuses, and the fields of a form derived from the pydantic model that declares their rules (`Shown`,
`fields_form`): a field's type, length, choices, default and validators are stated once, in the model the API
and the service use, and the console form follows it."""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

from annotated_types import MaxLen
from django import forms
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from truss import audit
from truss.apikit import BadBody, parse_json_text
from truss.http import TenantRequest
from truss.models import AuditEvent


class ConfirmForm(forms.Form):
    """What the operator saw: the ETag of the object the confirmation page showed (412 if it changed since)."""

    etag = forms.CharField(max_length=64)


class TypedConfirmForm(forms.Form):
    """An action confirmed by typing the object's name exactly. A subclass names the field's `label` and the
    `action` its error message asks for."""

    label = "Type the name to confirm"
    action = "confirm"

    confirm = forms.CharField()

    def __init__(self, *args: Any, expected: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.fields["confirm"].label = self.label

    def clean_confirm(self) -> str:
        value: str = self.cleaned_data["confirm"]
        if value.strip() != self.expected:
            raise forms.ValidationError(f"Type “{self.expected}” exactly to {self.action}.")
        return value


def refused(request: TenantRequest, action: str, form: forms.BaseForm, target: str = "") -> None:
    """The audit event of a console POST its form refused: the input never reached the service, but it was an
    attempted mutation all the same (one failure event in the request's tenant, the form's messages as detail)."""
    failure = AuditEvent.Outcome.FAILURE
    audit.record(
        request, action, tenant=request.tenant, target=target, outcome=failure, detail=form.errors.as_text()
    )


# --- forms derived from a pydantic model -----------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """How the console shows one field of a pydantic model, declared in the field's Annotated type next to its
    rules. pydantic ignores this marker (the API's schema is the model's alone); `fields_form` reads both.

    `kind` says how the field is edited where its type does not: "url", "radio", "checkboxes", or a kind the
    form supplies (a list editor); a bool, a Literal, a dict (JSON text) or a str need none. `choices` gives each
    value's text in the order shown ("" is the blank choice of an optional field). `group` is the fieldset the
    field is shown in, `css_class` a class for its wrapper."""

    label: str | None = None  # None: from the name, as Django does
    help_text: str = ""
    kind: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    placeholder: str = ""
    group: str = ""
    css_class: str = ""


FieldFactory = Callable[[Shown, dict[str, Any]], forms.Field]


class JsonTextField(forms.CharField):
    """JSON text read by the API's one parser (depth, NaN, NUL, size): what it refuses is a field message, never
    a 500. Blank is None; a value is shown as indented JSON."""

    def prepare_value(self, value: Any) -> Any:
        return value if value is None or isinstance(value, str) else json.dumps(value, indent=2)

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if not text:
            return None
        try:
            return parse_json_text(text)
        except BadBody as exc:
            raise forms.ValidationError(exc.message) from exc


class DerivedForm(forms.Form):
    """A form whose fields `fields_form` derived from a model: `shown` holds each field's marker."""

    shown: ClassVar[dict[str, Shown]] = {}

    def fieldsets(self) -> list[tuple[str, list[tuple[forms.BoundField, str]]]]:
        """(legend, [(field, its wrapper's class)]) per group, in the order the groups first appear."""
        groups: dict[str, list[tuple[forms.BoundField, str]]] = {}
        for name, shown in self.shown.items():
            groups.setdefault(shown.group, []).append((self[name], shown.css_class))
        return list(groups.items())


def fields_form(model: type[BaseModel], kinds: Mapping[str, FieldFactory] | None = None) -> type[DerivedForm]:
    """A form class with a field for every `Shown` field of `model`, grouped (in the order the groups first
    appear), then in declaration order; subclass it for the rest. From the marker: label, help text, how it is
    edited. From the model: choices must be the Literal's values; max_length; required and initial — a field
    with a non-empty default is required in the console and starts at that default (clearing it is a mistake
    there), one without a default is required, any other is optional."""
    shown = {name: m for name, info in model.model_fields.items() if (m := _shown(info)) is not None}
    groups = list(dict.fromkeys(s.group for s in shown.values()))
    shown = dict(sorted(shown.items(), key=lambda item: groups.index(item[1].group)))
    fields = {name: _form_field(name, model.model_fields[name], s, kinds or {}) for name, s in shown.items()}
    return type(f"{model.__name__}Fields", (DerivedForm,), {**fields, "shown": shown})


def _shown(info: FieldInfo) -> Shown | None:
    return next((m for m in info.metadata if isinstance(m, Shown)), None)


def _literal_values(annotation: Any) -> tuple[Any, ...] | None:
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        values = [v for arg in get_args(annotation) if (v := _literal_values(arg)) is not None]
        return values[0] if len(values) == 1 else None
    return None


def _kind(annotation: Any) -> str:
    """How a field of this type is edited where Shown does not say: "" if it must."""
    if _literal_values(annotation) is not None:
        return "choice"
    union = get_origin(annotation) in (Union, types.UnionType)
    plain = [a for a in get_args(annotation) if a is not type(None)] if union else [annotation]
    if len(plain) != 1:
        return ""
    if plain[0] is bool:
        return "bool"
    if plain[0] is dict or get_origin(plain[0]) is dict:
        return "json"
    return "text" if plain[0] is str else ""


def _form_field(name: str, info: FieldInfo, shown: Shown, kinds: Mapping[str, FieldFactory]) -> forms.Field:
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    common: dict[str, Any] = {"label": shown.label, "help_text": shown.help_text}
    common["required"] = info.is_required() or bool(default)
    if default:
        common["initial"] = default
    kind = shown.kind or _kind(info.annotation)
    values = _literal_values(info.annotation)
    if values is not None and {v for v, _ in shown.choices} - {""} != set(values):
        raise TypeError(f"{name}: the choices' values must be the Literal's {values}")
    choices = list(shown.choices)
    max_length = next((m.max_length for m in info.metadata if isinstance(m, MaxLen)), None)
    if kind in kinds:
        return kinds[kind](shown, common)
    if kind == "text":
        return forms.CharField(max_length=max_length, **common)
    if kind == "url":
        return forms.URLField(max_length=max_length, assume_scheme="https", **common)
    if kind == "json":
        return JsonTextField(widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}), **common)
    if kind == "bool":
        return forms.BooleanField(**common)
    if kind in ("choice", "radio"):
        widget = forms.RadioSelect if kind == "radio" else forms.Select
        return forms.ChoiceField(choices=choices, widget=widget, **common)
    if kind == "checkboxes":
        return forms.MultipleChoiceField(choices=choices, widget=forms.CheckboxSelectMultiple, **common)
    raise TypeError(f"{name}: say how the console edits {info.annotation} (Shown(kind=…))")
