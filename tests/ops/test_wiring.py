"""Call sites that feed the metrics and read the client's address through truss/proxies.py: the audit event's ip
and the device-code throttle's key follow X-Forwarded-For only from a trusted proxy; a failed outbox drain and a
refusal that is not chained are counted at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from prometheus_client import REGISTRY

from bridge.flows import device
from truss import audit
from truss.audit import Action, events, outbox


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _request(remote: str) -> Any:
    return RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR="203.0.113.7")


def test_it_writes_the_clients_address_behind_a_trusted_proxy_into_the_event(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    built = events.build(
        _request("10.0.0.5"),
        Action.TENANT_CREATE,
        tenant=None,
        target="t",
        outcome="success",
        before=None,
        after=None,
        detail="",
        actor=None,
    )
    assert built.ip == "203.0.113.7"


def test_it_ignores_x_forwarded_for_from_an_untrusted_peer_in_the_event(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    built = events.build(
        _request("192.0.2.9"),
        Action.TENANT_CREATE,
        tenant=None,
        target="t",
        outcome="success",
        before=None,
        after=None,
        detail="",
        actor=None,
    )
    assert built.ip == "192.0.2.9"


def test_it_keys_the_device_code_throttle_by_the_client_behind_a_trusted_proxy(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert device._keys(_request("10.0.0.5"), "c")["ip"].endswith(":203.0.113.7")
    assert device._keys(_request("192.0.2.9"), "c")["ip"].endswith(":192.0.2.9")


def test_it_counts_a_failed_drain_after_the_response(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.AUDIT_DRAIN_DELAY = None

    def broken(batch: int = 100) -> int:
        raise RuntimeError("database gone")

    monkeypatch.setattr(outbox, "drain_outbox", broken)
    before = value("truss_audit_drain_failures_total")
    outbox._queued.pending = True
    outbox._drain_after_response()
    assert value("truss_audit_drain_failures_total") == before + 1


def test_it_counts_a_refusal_that_is_not_chained_without_a_request() -> None:
    labels = {"action": "bridge.device.accept", "reason": "404"}
    before = value("truss_audit_refusals_not_chained_total", **labels)
    audit.not_chained(Action.DEVICE_ACCEPT, "404")
    assert value("truss_audit_refusals_not_chained_total", **labels) == before + 1
