"""X-Request-ID: kept only from a trusted proxy, otherwise made; echoed, on every log line of the request, and
sent to Hydra and Kratos with every call so that their logs name it too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import responses
from django.test import Client

HYDRA, KRATOS = "http://127.0.0.1:9", "http://127.0.0.1:10"
PROXY = "10.0.0.5"
THEIRS = "edge-4f1c2a9b7d"


@pytest.fixture
def upstreams(settings: Any, rsps: responses.RequestsMock) -> responses.RequestsMock:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    settings.HYDRA_ADMIN_URL, settings.KRATOS_ADMIN_URL = HYDRA, KRATOS
    rsps.get(f"{HYDRA}/health/ready", json={"status": "ok"})
    # Down: a warning is logged (and the read retried: every attempt carries the id).
    rsps.get(f"{KRATOS}/admin/health/ready", status=503, json={"error": "down"})
    return rsps


def readyz(remote_addr: str, request_id: str | None = None) -> Any:
    headers = {"HTTP_X_REQUEST_ID": request_id} if request_id else {}
    return Client(REMOTE_ADDR=remote_addr).get("/readyz", **headers)


def sent_ids(rsps: responses.RequestsMock) -> dict[str, set[str]]:
    """The X-Request-IDs each service received."""
    out: dict[str, set[str]] = {HYDRA: set(), KRATOS: set()}
    for call in rsps.calls:
        out[HYDRA if call.request.url.startswith(HYDRA) else KRATOS].add(
            call.request.headers.get("X-Request-ID", "")
        )
    return out


@pytest.mark.django_db
def test_it_keeps_the_request_id_of_a_trusted_proxy_and_passes_it_on(
    upstreams: responses.RequestsMock, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    response = readyz(PROXY, THEIRS)
    assert response["X-Request-ID"] == THEIRS
    assert sent_ids(upstreams) == {HYDRA: {THEIRS}, KRATOS: {THEIRS}}
    lines = log_lines()
    assert {line["logger"] for line in lines} >= {
        "truss.ory",
        "truss.request",
    }  # Kratos's 503, the request line
    assert {line["request_id"] for line in lines} == {THEIRS}


@pytest.mark.django_db
def test_it_makes_its_own_request_id_for_anyone_else(
    upstreams: responses.RequestsMock, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    response = readyz(
        "198.51.100.66", THEIRS
    )  # not a trusted proxy: its id could be anything, chosen to confuse
    ours = response["X-Request-ID"]
    assert ours != THEIRS and len(ours) == 32
    assert sent_ids(upstreams) == {HYDRA: {ours}, KRATOS: {ours}}
    assert {line["request_id"] for line in log_lines()} == {ours}


@pytest.mark.django_db
def test_it_refuses_a_malformed_id_even_from_a_trusted_proxy(upstreams: responses.RequestsMock) -> None:
    response = readyz(PROXY, "x" * 65)
    assert response["X-Request-ID"] != "x" * 65
    assert readyz(PROXY, "has space")["X-Request-ID"] != "has space"


@pytest.mark.django_db
def test_it_gives_each_request_its_own_id(upstreams: responses.RequestsMock) -> None:
    first = readyz("198.51.100.66")["X-Request-ID"]
    second = readyz("198.51.100.66")["X-Request-ID"]
    assert first != second
    assert sent_ids(upstreams) == {HYDRA: {first, second}, KRATOS: {first, second}}
