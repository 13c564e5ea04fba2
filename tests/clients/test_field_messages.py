"""truss.errors.field_messages: the one reading of pydantic's errors as field → messages (API and services)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from truss.errors import field_messages


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    sizes: dict[str, int] = {}

    @field_validator("name")
    @classmethod
    def _plain(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        return value


def errors_of(data: Any) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        Thing.model_validate(data)
    return caught.value.errors()


def test_it_names_each_field_and_never_echoes_the_input() -> None:
    fields = field_messages(errors_of({"name": "a\x00secret", "sizes": {"big": "x"}}))
    assert fields == {"name": ["contains a NUL character"], "sizes.big": [fields["sizes.big"][0]]}
    assert "secret" not in str(fields) and "valid integer" in fields["sizes.big"][0]


def test_it_says_which_fields_truss_sets_itself_and_which_are_unknown() -> None:
    fields = field_messages(errors_of({"name": "a", "owner": "x", "client_secret": "s", "colour": 1}))
    assert fields == {
        "owner": ["cannot be set"],
        "client_secret": ["cannot be set"],
        "colour": ["unknown field"],
    }


def test_it_drops_location_parts_that_name_no_field() -> None:
    errors = [
        {"loc": ("body", "payload", "name"), "msg": "Field required", "type": "missing"},
        {"loc": ("body",)},
    ]
    assert field_messages(errors, skip=("body", "payload")) == {
        "name": ["Field required"],
        "__all__": ["is invalid"],
    }
