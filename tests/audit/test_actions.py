"""Audit actions are a contract: every action written is one of the registry's (truss/audit/actions.py), each
with the label the audit log shows and filters by."""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django import forms
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from oauth2_admin.audit.forms import AuditFilterForm
from truss import audit, tenancy
from truss.audit import Action, actions
from truss.models import AuditEvent, Role

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("truss", "oauth2_admin", "bridge", "bench")
# Calls that write (or count) an event, and the position of their action argument.
ACTION_ARGUMENT = {"record": 1, "mutation": 1, "Mutation": 1, "refused": 1, "audited": 0, "not_chained": 0}
# A string that names an action wherever it is written (a constant, a dict, a comparison).
LOOKS_LIKE_ACTION = re.compile(
    r"^(oauth2|bridge|consent|identity|apikey|tenant|hydra|devtools|hygiene)(\.[a-z_]+)+$"
)
NOT_ACTIONS = {"hydra.yml", "identity.schema.json", "bridge.urls"}  # file and module names
# Features that name every action by its constant (audit.Action): no action, or start of one, as a string.
CONSTANTS_ONLY = (
    "oauth2_admin/claims/",
    "oauth2_admin/clients/",
    "oauth2_admin/hygiene/",
    "oauth2_admin/keys/",
    "oauth2_admin/tokens/",
    "oauth2_admin/trust/",
)
ACTION_OR_ITS_START = re.compile(LOOKS_LIKE_ACTION.pattern.removesuffix("$") + r"\.?$")


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield str(path.relative_to(ROOT)), ast.parse(path.read_text(), filename=str(path))


# Where those calls come from: a call is the audit's when made through one of these modules (``audit.record``)
# or through a name imported from one (``from bridge.flows.common import record``).
AUDIT_MODULES = {
    "truss.audit",
    "truss.audit.recording",
    "truss.audit.events",
    "truss.apikit",
    "truss.forms",
    "bridge.flows.common",
}
AUDIT_MODULE_NAMES = {"audit", "apikit", "forms", "common"}


def _imported_audit_names(tree: ast.Module) -> set[str]:
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module in AUDIT_MODULES
        for alias in node.names
    }


def _called(node: ast.Call, imported: set[str]) -> str:
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.attr if func.value.id in AUDIT_MODULE_NAMES else ""
    return func.id if isinstance(func, ast.Name) and func.id in imported else ""


def _action_argument(node: ast.Call, imported: set[str]) -> ast.expr | None:
    position = ACTION_ARGUMENT.get(_called(node, imported))
    if position is None:
        return None
    for keyword in node.keywords:
        if keyword.arg == "action":
            return keyword.value
    return node.args[position] if len(node.args) > position else None


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    found = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = statement.value
    return found


def _enclosing_functions(tree: ast.Module) -> dict[ast.AST, ast.FunctionDef]:
    owner: dict[ast.AST, ast.FunctionDef] = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef):
            for node in ast.walk(function):
                owner.setdefault(node, function)
    return owner


def _bound_in(function: ast.FunctionDef | None, name: str) -> list[ast.expr]:
    """What ``name`` is assigned in the function (both branches of a conditional expression)."""
    if function is None:
        return []
    values: list[ast.expr] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            value = node.value
            values += [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
    return values


def _problem(value: ast.expr, constants: dict[str, ast.expr], function: ast.FunctionDef | None) -> str | None:
    """Why this action argument is not a registered action, or None. A name bound outside the function and the
    module (a parameter) passes the action on: it is checked where it is written, and by record() when it runs."""
    if isinstance(value, ast.Name):
        bound = _bound_in(function, value.id) or ([constants[value.id]] if value.id in constants else [])
        return next((p for v in bound if (p := _problem(v, constants, None))), None)
    if isinstance(value, ast.IfExp):
        return _problem(value.body, constants, None) or _problem(value.orelse, constants, None)
    if isinstance(value, ast.Constant):
        return None if value.value in actions.KNOWN else f"{value.value!r} is not registered"
    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name | ast.Attribute):
        owner = value.value.id if isinstance(value.value, ast.Name) else value.value.attr
        if owner == "Action":
            return None if hasattr(Action, value.attr) else f"Action.{value.attr} does not exist"
        return None
    if isinstance(value, ast.JoinedStr | ast.BinOp):
        return "built at run time"
    return None


def test_every_call_site_names_a_registered_action():
    problems, sites = [], 0
    for path, tree in _sources():
        constants, owner, imported = (
            _module_constants(tree),
            _enclosing_functions(tree),
            _imported_audit_names(tree),
        )
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or (value := _action_argument(node, imported)) is None:
                continue
            sites += 1
            function = owner.get(node)
            problem = _problem(value, constants, function)
            if problem:
                problems.append(f"{path}:{node.lineno}: {problem}")
    assert sites > 90  # the scan sees the call sites at all
    assert problems == []


def test_every_string_written_like_an_action_is_registered():
    free = [
        f"{path}:{node.lineno}: {node.value!r}"
        for path, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and LOOKS_LIKE_ACTION.match(node.value)
        and node.value not in NOT_ACTIONS
        and node.value not in actions.KNOWN
    ]
    assert free == []


def test_no_action_is_built_at_run_time():
    built = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                start = str(node.values[0].value)
                if LOOKS_LIKE_ACTION.match(start.rstrip(".")) and start.endswith("."):
                    built.append(f"{path}:{node.lineno}: f{start!r}…")
    assert built == []


def _strings_outside_docstrings(tree: ast.Module) -> Iterator[ast.Constant]:
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node


def test_it_names_actions_by_their_constants_in_the_features_switched_to_them():
    written = [
        f"{path}:{node.lineno}: {node.value!r}"
        for path, tree in _sources()
        if path.startswith(CONSTANTS_ONLY)
        for node in _strings_outside_docstrings(tree)
        if ACTION_OR_ITS_START.match(node.value) and node.value not in NOT_ACTIONS
    ]
    assert written == []


def test_it_sees_an_action_written_as_a_string_or_built_from_its_start():
    assert ACTION_OR_ITS_START.match("oauth2.client.update") and ACTION_OR_ITS_START.match(
        "hydra.key.rotation."
    )
    assert not ACTION_OR_ITS_START.match("hydra.openid.id-token")  # a key set, not an action


def test_every_action_has_its_own_value_and_a_label():
    assert len(set(Action.values)) == len(Action.values)
    assert all(label and label != value for value, label in Action.choices)
    assert actions.label(Action.CLIENT_UPDATE) == "Client updated"
    assert actions.label("retired.action") == "retired.action"  # stored before it was registered: as is


@pytest.mark.django_db
def test_it_refuses_an_action_outside_the_registry_in_tests_and_debug(tenant):
    with pytest.raises(audit.UnknownAction):
        audit.record(None, "oauth2.client.renamed", tenant=tenant)
    with pytest.raises(audit.UnknownAction), audit.mutation(None, "made.up", tenant) as event:
        event.success()
    with pytest.raises(audit.UnknownAction):
        audit.record(None, "made.up", tenant=tenant, soon=True)
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_in_production_it_logs_an_action_outside_the_registry_and_still_writes_the_event(
    tenant, settings, caplog
):
    settings.AUDIT_STRICT_ACTIONS = False
    with caplog.at_level(logging.ERROR, logger="truss.audit"):
        event = audit.record(None, "made.up", tenant=tenant)
    assert AuditEvent.objects.get().pk == event.pk and event.action == "made.up"
    assert "'made.up' is not in the registry" in caplog.text


@pytest.mark.django_db
def test_it_stores_the_value_of_a_constant(tenant):
    event = audit.record(None, Action.CLIENT_DELETE, tenant=tenant)
    assert type(event.action) is str and AuditEvent.objects.get().action == "oauth2.client.delete"
    assert audit.verify_chain().ok


def _console_views(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[str, object]]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _console_views(
                pattern, namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            )
        elif isinstance(pattern, URLPattern) and namespace.startswith("console:"):
            yield f"{namespace}{pattern.name}", pattern.callback


def test_every_console_write_refused_for_its_role_is_audited_under_a_registered_action():
    above_viewer = {
        name
        for name, view in _console_views(get_resolver())
        if getattr(view, "min_role", Role.VIEWER) != Role.VIEWER
    }
    assert {
        "console:clients:delete",
        "console:consents:revoke",
        "console:devtools:flow_start",
    } <= above_viewer
    assert sorted(above_viewer - set(tenancy.DENIED_ACTIONS)) == []
    assert sorted(set(tenancy.DENIED_ACTIONS.values()) - actions.KNOWN) == []


@pytest.mark.django_db
def test_a_viewers_refused_consent_revocation_is_audited_as_a_consent_revocation(console, tenant):
    response = console("viewer").post(reverse("console:consents:revoke", args=["someone"]))
    assert response.status_code == 403
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome) == (Action.CONSENT_REVOKE, "denied")


def test_the_audit_log_filters_by_a_registered_action_chosen_by_its_label():
    field = AuditFilterForm().fields["action"]
    assert isinstance(field, forms.ChoiceField)
    assert ("oauth2.client.update", "Client updated") in field.choices
    assert AuditFilterForm({"action": Action.CONSENT_ACCEPT}).is_valid()
    form = AuditFilterForm({"action": "made.up"})
    assert not form.is_valid() and "action" in form.errors


@pytest.mark.django_db
def test_the_audit_log_shows_each_actions_label(console, tenant):
    audit.record(None, Action.CONSENT_ACCEPT, tenant=tenant, target="app", actor="identity:u1")
    html = (
        console("viewer")
        .get(reverse("console:audit:log"), {"action": Action.CONSENT_ACCEPT})
        .content.decode()
    )
    assert "Consent accepted (bridge)" in html and '<code class="muted">bridge.consent.accept</code>' in html
    assert '<option value="bridge.consent.accept" selected>Consent accepted (bridge)</option>' in html
