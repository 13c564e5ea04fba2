"""The real Hydra and Kratos the rest of the suite relies on: built, started, and doing OAuth2 and logins."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from truss.devstack import Stack, StackError, free_port, versions

pytestmark = pytest.mark.integration


def test_it_runs_the_pinned_versions(ory_stack: Stack) -> None:
    status = ory_stack.status()
    assert status["hydra"]["version"] == versions()["HYDRA_VERSION"]
    assert status["kratos"]["version"] == versions()["KRATOS_VERSION"]
    assert status["hydra"]["ready"] and status["kratos"]["ready"]


def test_it_issues_and_introspects_a_client_credentials_token(ory_stack: Stack) -> None:
    created = requests.post(
        f"{ory_stack.hydra_admin_url}/admin/clients",
        json={"client_name": "stack-test", "grant_types": ["client_credentials"], "scope": "read write"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    client = created.json()

    token = requests.post(
        f"{ory_stack.hydra_public_url}/oauth2/token",
        auth=(client["client_id"], client["client_secret"]),
        data={"grant_type": "client_credentials", "scope": "read"},
        timeout=10,
    )
    assert token.status_code == 200, token.text
    access_token = token.json()["access_token"]
    assert token.json()["token_type"].lower() == "bearer"

    info = requests.post(
        f"{ory_stack.hydra_admin_url}/admin/oauth2/introspect", data={"token": access_token}, timeout=10
    ).json()
    assert info["active"] is True
    assert info["client_id"] == client["client_id"]
    assert info["scope"] == "read"

    bogus = requests.post(
        f"{ory_stack.hydra_admin_url}/admin/oauth2/introspect", data={"token": "ory_at_nope"}, timeout=10
    ).json()
    assert bogus["active"] is False


def test_it_logs_in_through_the_kratos_browser_flow(ory_stack: Stack, make_identity) -> None:
    identity = make_identity()
    browser = requests.Session()

    # 1. The browser starts a login flow; Kratos sets its CSRF cookie and sends it to the UI with ?flow=…
    started = browser.get(
        f"{ory_stack.kratos_public_url}/self-service/login/browser", allow_redirects=False, timeout=10
    )
    assert started.status_code == 303
    location = urlsplit(started.headers["Location"])
    assert location.path == "/auth/login"
    flow_id = parse_qs(location.query)["flow"][0]

    # 2. The UI fetches the flow (forwarding the cookies) and renders ui.nodes; the CSRF token is a hidden node.
    flow = browser.get(
        f"{ory_stack.kratos_public_url}/self-service/login/flows", params={"id": flow_id}, timeout=10
    )
    assert flow.status_code == 200, flow.text
    ui = flow.json()["ui"]
    csrf = next(n["attributes"]["value"] for n in ui["nodes"] if n["attributes"].get("name") == "csrf_token")
    assert csrf

    # 3. The form posts to ui.action; success redirects back with the session cookie.
    done = browser.post(
        ui["action"],
        data={
            "csrf_token": csrf,
            "method": "password",
            "identifier": identity["email"],
            "password": identity["password"],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 303, done.text
    assert "ory_kratos_session" in browser.cookies

    whoami = browser.get(f"{ory_stack.kratos_public_url}/sessions/whoami", timeout=10)
    assert whoami.status_code == 200
    assert whoami.json()["identity"]["id"] == identity["id"]
    assert whoami.json()["active"] is True


def test_it_rejects_a_wrong_password_in_the_browser_flow(ory_stack: Stack, make_identity) -> None:
    identity = make_identity()
    browser = requests.Session()
    flow = browser.get(
        f"{ory_stack.kratos_public_url}/self-service/login/browser",
        headers={"Accept": "application/json"},
        timeout=10,
    ).json()
    csrf = next(
        n["attributes"]["value"] for n in flow["ui"]["nodes"] if n["attributes"].get("name") == "csrf_token"
    )
    failed = browser.post(
        flow["ui"]["action"],
        json={
            "csrf_token": csrf,
            "method": "password",
            "identifier": identity["email"],
            "password": "wrong-password",
        },
        timeout=10,
    )
    assert failed.status_code == 400
    assert failed.json()["ui"]["messages"][0]["id"] == 4000006  # "credentials are invalid"
    assert browser.get(f"{ory_stack.kratos_public_url}/sessions/whoami", timeout=10).status_code == 401


def test_it_fails_fast_with_a_readable_message_when_nothing_runs(tmp_path) -> None:
    ports = {k: free_port() for k in ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")}
    stack = Stack(state_dir=tmp_path, ports=ports, persistent=False)
    started = time.monotonic()
    with pytest.raises(StackError, match="hydra is not running"):
        stack.wait_ready(timeout=30)
    assert time.monotonic() - started < 2


def test_it_reports_a_stack_that_dies_during_start_up(tmp_path, monkeypatch) -> None:
    ports = {k: free_port() for k in ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")}
    stack = Stack(state_dir=tmp_path, ports=ports, persistent=False)
    # An invalid DSN makes Hydra exit at once; the error carries its log instead of hanging.
    monkeypatch.setattr(stack, "_dsn", lambda name: "bogus://nowhere" if name == "hydra" else "memory")
    monkeypatch.setattr(stack, "_migrate", lambda *args: None)
    started = time.monotonic()
    try:
        with pytest.raises(StackError, match="(?s)hydra exited during start-up.*unknown driver"):
            stack.start(timeout=30)
    finally:
        stack.stop()
    assert time.monotonic() - started < 20


def test_it_keeps_truss_settings_out_of_the_ory_environment(tmp_path, monkeypatch) -> None:
    # Hydra treats every environment variable as configuration: LOG_LEVEL=INFO (fine for Truss) makes it refuse
    # to start. The stack passes only a minimal environment.
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    monkeypatch.setenv("SECRETS_SYSTEM", "short")
    ports = {k: free_port() for k in ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")}
    stack = Stack(state_dir=tmp_path, ports=ports, persistent=False)
    try:
        stack.start(timeout=30)
        assert all(stack.ready().values())
    finally:
        stack.stop()
