from __future__ import annotations

import http.server
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from truss.devstack import Stack, StackError, free_port
from truss.models import Tenant


@pytest.fixture
def issuer() -> str:
    return f"https://partner-{uuid.uuid4().hex[:6]}.example.com"


@pytest.fixture
def v1_for(client: Client, make_api_key: Callable[..., str]) -> Callable[[Tenant], Callable[..., Any]]:
    """`/v1/oauth2/trust…` with a service_role key of the given tenant."""

    def for_tenant(tenant: Tenant) -> Callable[..., Any]:
        key = {"apikey": make_api_key(tenant)}

        def call(method: str, path: str = "", body: Any = None, raw: str | None = None) -> Any:
            data = raw if raw is not None else (json.dumps(body) if body is not None else "")
            return client.generic(
                method, f"/v1/oauth2/trust{path}", data, content_type="application/json", headers=key
            )

        return call

    return for_tenant


@pytest.fixture
def v1(v1_for: Callable[[Tenant], Callable[..., Any]], tenant: Tenant) -> Callable[..., Any]:
    return v1_for(tenant)


class Forwarder:
    """Hydra → Truss for the hooked stack: forwards POSTs to the live server; `down()` closes the port (Truss
    unreachable), `up()` opens it again."""

    def __init__(self, target: str) -> None:
        self.target, self.port = target, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: http.server.ThreadingHTTPServer | None = None

    def up(self) -> None:
        target = self.target

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                request = urllib.request.Request(
                    target + self.path, data=body, headers=headers, method="POST"
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the live server
                        status, content = answer.status, answer.read()
                except urllib.error.HTTPError as exc:
                    status, content = exc.code, exc.read()
                self.send_response(status)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@dataclass
class Hooked:
    stack: Stack
    truss: Forwarder


@pytest.fixture(scope="session")
def hooked_stack(tmp_path_factory: pytest.TempPathFactory, live_server: Any) -> Iterator[Hooked]:
    """A second private Hydra (+ Kratos) whose token hook calls this session's live server, as `make ory-up`
    configures it (the session's main stack runs without the hook: most tests start no live server)."""
    truss = Forwarder(live_server.url)
    truss.up()
    ports = {key: free_port() for key in ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")}
    stack = Stack(
        state_dir=tmp_path_factory.mktemp("ory-hooked"),
        ports=ports,
        truss_url=truss.url,
        persistent=True,
        token_hook=True,
    )
    try:
        stack.start(timeout=60)
    except StackError as exc:
        stack.stop()
        truss.down()
        pytest.fail(f"Could not start the hooked Hydra: {exc}", pytrace=False)
    yield Hooked(stack, truss)
    stack.stop()
    truss.down()


@pytest.fixture
def hooked(hooked_stack: Hooked, settings: Any) -> Iterator[Hooked]:
    """Truss pointed at the hooked Hydra, with the hook's secret; the forwarder up."""
    for key, value in hooked_stack.stack.env().items():
        setattr(settings, key, value)
    settings.TRUST_TOKEN_HOOK = True
    settings.TRUST_TOKEN_HOOK_SECRET = hooked_stack.stack.token_hook_secret
    if hooked_stack.truss.server is None:
        hooked_stack.truss.up()
    yield hooked_stack
    if hooked_stack.truss.server is None:
        hooked_stack.truss.up()
