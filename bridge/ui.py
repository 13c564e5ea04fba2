"""Kratos ``ui`` containers turned into template-ready forms (see templates/bridge/components/ui_*.html).

Templates never index raw Kratos JSON: every node becomes a ``Field`` with its translated label, its messages
and safe attributes. Settings flows get one form per group (profile, password, …), each carrying the CSRF
node, as Kratos decides what to update from the submitted ``method``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bridge.kratos_text import translate
from truss.ory import kratos

_INPUT_TYPES = frozenset(
    {"text", "password", "email", "hidden", "submit", "button", "checkbox", "number", "tel", "url", "date"}
    | {"datetime-local"}
)
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")
# Sensible autocomplete tokens when Kratos gives none (WCAG 1.3.5 "Identify Input Purpose").
_AUTOCOMPLETE = {
    "identifier": "username",
    "traits.email": "email",
    "email": "email",
    "traits.name": "name",
    "code": "one-time-code",
}
SETTINGS_GROUPS = ("profile", "password", "totp", "lookup_secret", "webauthn", "passkey", "oidc")


@dataclass(frozen=True)
class Message:
    type: str  # info | error | success
    text: str


@dataclass
class Field:
    kind: str  # input | hidden | checkbox | submit | text | img | a
    id: str
    name: str = ""
    type: str = "text"
    value: Any = None
    label: str = ""
    required: bool = False
    disabled: bool = False
    autocomplete: str | None = None
    pattern: str | None = None
    maxlength: int | None = None
    href: str = ""
    src: str = ""
    messages: list[Message] = field(default_factory=list)

    @property
    def has_error(self) -> bool:
        return any(m.type == "error" for m in self.messages)

    @property
    def checked(self) -> bool:
        return self.value is True or self.value == "true"


@dataclass
class Form:
    action: str
    method: str
    fields: list[Field]
    group: str = ""
    messages: list[Message] = field(default_factory=list)

    @property
    def visible_fields(self) -> list[Field]:
        return [f for f in self.fields if f.kind not in ("hidden", "submit")]

    @property
    def hidden_fields(self) -> list[Field]:
        return [f for f in self.fields if f.kind == "hidden"]

    @property
    def buttons(self) -> list[Field]:
        return [f for f in self.fields if f.kind == "submit"]


def _messages(items: list[kratos.UiText]) -> list[Message]:
    return [
        Message(type=m.type if m.type in ("info", "error", "success") else "info", text=translate(m))
        for m in items
    ]


def _safe_link(url: str) -> str:
    return url if url.startswith(("https://", "http://", "/")) else ""


def field_for(node: kratos.UiNode, prefix: str = "") -> Field | None:
    attributes = node.attributes
    label = translate(node.meta.label) if node.meta.label is not None else (node.label or "")
    messages = _messages(node.messages)
    if isinstance(attributes, kratos.UiInputAttributes):
        input_type = attributes.type if attributes.type in _INPUT_TYPES else "text"
        kind = {"hidden": "hidden", "submit": "submit", "button": "submit", "checkbox": "checkbox"}.get(
            input_type, "input"
        )
        if kind == "input" and attributes.label is not None and not label:
            label = translate(attributes.label)
        return Field(
            kind=kind,
            id=_ID_UNSAFE.sub("-", f"{prefix}{node.group}-{attributes.name}"),
            name=attributes.name,
            type=input_type,
            value=attributes.value,
            label=label or attributes.name,
            required=attributes.required,
            disabled=attributes.disabled,
            autocomplete=attributes.autocomplete or _AUTOCOMPLETE.get(attributes.name),
            pattern=attributes.pattern,
            maxlength=attributes.maxlength,
            messages=messages,
        )
    if isinstance(attributes, kratos.UiTextAttributes):
        return Field(
            kind="text",
            id=_ID_UNSAFE.sub("-", prefix + attributes.id),
            label=label,
            value=translate(attributes.text),
            messages=messages,
        )
    if isinstance(attributes, kratos.UiImageAttributes):
        return Field(
            kind="img",
            id=_ID_UNSAFE.sub("-", prefix + attributes.id),
            label=label,
            src=_safe_link(attributes.src)
            if not attributes.src.startswith("data:image/")
            else attributes.src,
            messages=messages,
        )
    if isinstance(attributes, kratos.UiAnchorAttributes):
        return Field(
            kind="a",
            id=_ID_UNSAFE.sub("-", prefix + attributes.id),
            label=label,
            href=_safe_link(attributes.href),
            messages=messages,
        )
    return None  # script nodes: only for WebAuthn/passkeys, which Truss does not enable


def _fields(nodes: list[kratos.UiNode], prefix: str = "") -> list[Field]:
    return [f for f in (field_for(n, prefix) for n in nodes) if f is not None]


def forms_for(flow: kratos.SelfServiceFlow, *, login_hint: str | None = None) -> list[Form]:
    ui = flow.ui
    if flow.kind == "settings":
        forms = []
        for group in SETTINGS_GROUPS:
            nodes = [n for n in ui.nodes if n.group == group]
            if nodes:
                grouped = ui.groups(group)
                forms.append(Form(ui.action, ui.method, _fields(grouped, f"{group}-"), group=group))
        return forms
    fields = _fields(ui.nodes)
    if login_hint:
        for f in fields:
            # OIDC login_hint prefills the identifier (never overriding what Kratos already has).
            if f.name == "identifier" and f.kind == "input" and not f.value:
                f.value = login_hint[:320]
    return [Form(ui.action, ui.method, fields)]


def flow_messages(flow: kratos.SelfServiceFlow) -> list[Message]:
    return _messages(flow.ui.messages)
