"""The one "bad input" exception family of the services: field → messages, raised before anything is sent
to Hydra or Kratos. The API answers every subclass with one 400 (truss.api); forms put the messages on fields.
`field_messages` is the one reading of pydantic's errors as such field messages."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

# Fields Truss sets itself: refused with a message that says so rather than "unknown field".
GUARDED = ("owner", "client_id", "client_secret")


class InputError(Exception):
    default_message = "The request is invalid."

    def __init__(self, fields: Mapping[str, list[str]], message: str | None = None) -> None:
        self.fields = dict(fields)
        self.message = message or self.default_message
        super().__init__(self.message)


def field_messages(
    errors: Iterable[Mapping[str, Any]],
    *,
    skip: Collection[object] = (),
    wording: Mapping[str, str] | None = None,
) -> dict[str, list[str]]:
    """pydantic's errors (`exc.errors()`) as field → messages, worded for people; input values are never
    echoed. The field is the error's location joined with dots ("lifespans.x"; "__all__" for none), less the
    parts in `skip` that name no field (ninja's "body", "payload", …). `wording` replaces pydantic's message for
    a field (a help text that says what is allowed); each message is given once per field."""
    fields: dict[str, list[str]] = {}
    for err in errors:
        loc = [str(part) for part in err.get("loc", ()) if part not in skip]
        field = ".".join(loc) or "__all__"
        message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            message = "cannot be set" if loc and loc[-1] in GUARDED else "unknown field"
        elif wording and field in wording:
            message = wording[field]
        if message not in fields.setdefault(field, []):
            fields[field].append(message)
    return fields
