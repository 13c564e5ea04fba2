"""One declaration per client field: ClientIn states each rule once; the console form is derived from it."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from django import forms
from pydantic import BaseModel, Field

from oauth2_admin.clients import service as clients
from oauth2_admin.clients.forms import ClientForm, ListField
from truss.forms import JsonTextField, Shown, fields_form


def test_it_puts_every_shown_client_field_on_the_console_form_and_nothing_else() -> None:
    shown = [
        name
        for name, info in clients.ClientIn.model_fields.items()
        if any(isinstance(m, Shown) for m in info.metadata)
    ]
    assert set(ClientForm.base_fields) == {*shown, "version"}
    assert (
        "allowed_cors_origins" not in ClientForm.base_fields
        and "response_types" not in ClientForm.base_fields
    )


def test_it_takes_labels_lengths_choices_and_defaults_from_client_in() -> None:
    fields = ClientForm.base_fields
    name, scope, method = fields["client_name"], fields["scope"], fields["token_endpoint_auth_method"]
    assert (name.label, name.help_text, name.required) == (
        "Name",
        "Shown to users on the consent screen.",
        True,
    )
    assert isinstance(name, forms.CharField) and name.max_length == 200
    assert (
        isinstance(scope, forms.CharField)
        and scope.max_length == 2000
        and scope.initial == "openid offline_access"
    )
    assert isinstance(method, forms.ChoiceField) and isinstance(method.widget, forms.RadioSelect)
    assert [v for v, _ in list(method.choices)] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
        "private_key_jwt",
    ]
    assert method.initial == "client_secret_basic" and method.required
    assert fields["grant_types"].initial == ["authorization_code", "refresh_token"]
    logo = fields["logo_uri"]
    assert isinstance(logo, forms.URLField) and logo.max_length == 2000 and not logo.required
    assert isinstance(fields["redirect_uris"], ListField) and not fields["redirect_uris"].required
    assert isinstance(fields["metadata"], JsonTextField) and isinstance(
        fields["skip_consent"], forms.BooleanField
    )
    strategy = fields["access_token_strategy"]
    assert isinstance(strategy, forms.ChoiceField) and not strategy.required
    assert strategy.choices[0] == ("", "Hydra's default")


class Gadget(BaseModel):
    name: Annotated[str, Shown(label="Name", group="One")] = Field(max_length=40)
    colour: Annotated[
        Literal["red", "blue"], Shown(choices=(("red", "Red"), ("blue", "Blue")), group="Two")
    ] = "red"
    home: Annotated[str | None, Shown(kind="url", group="One")] = Field(default=None, max_length=100)
    notes: str = ""


def test_it_derives_a_new_field_from_its_one_declaration() -> None:
    form_class = fields_form(Gadget)
    assert list(form_class.base_fields) == ["name", "home", "colour"]  # by group, then as declared
    form = form_class({"name": "x" * 41, "colour": "green", "home": "example.com/a"})
    assert not form.is_valid()
    assert set(form.errors) == {"name", "colour"} and form.cleaned_data["home"] == "https://example.com/a"
    assert [(legend, [f.name for f, _ in fields]) for legend, fields in form.fieldsets()] == [
        ("One", ["name", "home"]),
        ("Two", ["colour"]),
    ]


def test_it_refuses_choices_that_are_not_the_types_values() -> None:
    class Drifted(BaseModel):
        colour: Annotated[Literal["red", "blue"], Shown(choices=(("red", "Red"), ("green", "Green")))] = "red"

    with pytest.raises(TypeError, match="Literal"):
        fields_form(Drifted)


def test_it_reads_json_text_through_the_one_parser_and_shows_values_as_json() -> None:
    field = JsonTextField(required=False)
    assert field.clean('{"a": [1]}') == {"a": [1]} and field.clean("  ") is None
    with pytest.raises(forms.ValidationError, match="not valid JSON"):
        field.clean("{")
    assert field.prepare_value({"a": 1}) == '{\n  "a": 1\n}'
