"""The real Hydra and Kratos the rest of the suite relies on: built, started, and doing OAuth2 and logins."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from truss.devstack import Stack, StackError, binary, binary_version, cache_dir, free_port, versions

pytestmark = pytest.mark.integration


def test_it_runs_the_binaries_it_was_given(ory_stack: Stack) -> None:
    """The pinned build unless HYDRA_BIN / KRATOS_BIN point elsewhere: the process answering is that file, and the
    pinned build reports the pinned version."""
    status = ory_stack.status()
    for name in ("hydra", "kratos"):
        given = os.environ.get(f"{name.upper()}_BIN")
        pinned = cache_dir() / f"{name}-{versions()[f'{name.upper()}_VERSION']}" / name
        expected = Path(given) if given else pinned
        running = Path(f"/proc/{status[name]['pid']}/exe").resolve()
        assert running == expected.resolve(), (name, running)
        if not given:
            assert status[name]["version"] == versions()[f"{name.upper()}_VERSION"]
        assert status[name]["ready"]


def test_it_uses_the_pinned_build_unless_told_otherwise(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("HYDRA_BIN", raising=False)
    assert binary("hydra").parent.name == f"hydra-{versions()['HYDRA_VERSION']}"
    fake = tmp_path / "hydra"
    fake.write_text("#!/bin/sh\necho 'Version:    v99.1.0'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("HYDRA_BIN", str(fake))
    assert binary("hydra") == fake
    assert binary_version("hydra") == "v99.1.0"
    monkeypatch.setenv("HYDRA_BIN", str(tmp_path / "missing"))
    with pytest.raises(StackError, match="HYDRA_BIN=.* is not an executable file"):
        binary("hydra")


def test_it_renders_device_urls_only_for_a_hydra_that_has_the_device_flow(monkeypatch, tmp_path) -> None:
    stack = Stack(state_dir=tmp_path, truss_url="http://127.0.0.1:8123")
    for version, expected in (("v2.3.0", False), ("v25.4.0", True), ("v26.2.0", True)):
        fake = tmp_path / f"hydra-{version}"
        fake.write_text(f"#!/bin/sh\necho 'Version:    {version}'\n")
        fake.chmod(0o755)
        monkeypatch.setenv("HYDRA_BIN", str(fake))
        rendered = stack._render("hydra.yml").read_text()
        assert ("verification: http://127.0.0.1:8123/api/hydra/bridge/device" in rendered) is expected, (
            version
        )
        assert "@device-urls@" not in rendered


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
        with pytest.raises(
            StackError, match="(?s)hydra exited during start-up.*(unknown driver|unsupported DSN type)"
        ):
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


def test_it_renders_each_port_once_even_when_a_new_port_contains_a_default(tmp_path) -> None:
    # 44450 contains hydra_admin's default 4445: a naive replace chain would turn it into a 6-digit port.
    ports = {"hydra_public": 44450, "hydra_admin": 44451, "kratos_public": 44330, "kratos_admin": 44341}
    stack = Stack(state_dir=tmp_path, ports=ports, truss_url="http://127.0.0.1:8123")
    hydra_yml = stack._render("hydra.yml").read_text()
    assert "port: 44450" in hydra_yml and "port: 44451" in hydra_yml
    assert "issuer: http://127.0.0.1:44450/" in hydra_yml
    kratos_yml = stack._render("kratos.yml").read_text()
    assert "127.0.0.1:44330" in kratos_yml and "127.0.0.1:44341" in kratos_yml
    for text in (hydra_yml, kratos_yml):
        assert not re.search(r"(port: |127\.0\.0\.1:)\d{6}", text), text
