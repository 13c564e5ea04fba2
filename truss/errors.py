"""The one "bad input" exception family of the services: field → messages, raised before anything is sent
to Hydra or Kratos. The API answers every subclass with one 400 (truss.api); forms put the messages on fields."""

from __future__ import annotations

from collections.abc import Mapping


class InputError(Exception):
    default_message = "The request is invalid."

    def __init__(self, fields: Mapping[str, list[str]], message: str | None = None) -> None:
        self.fields = dict(fields)
        self.message = message or self.default_message
        super().__init__(self.message)
