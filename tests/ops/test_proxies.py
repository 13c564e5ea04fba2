"""The client's address through TRUSTED_PROXIES (truss/proxies.py): X-Forwarded-For is followed only through
trusted hops, so a caller cannot choose the address the throttles, audit events and logs see."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse

from truss import proxies

PROXY_A, PROXY_B = "10.0.0.5", "10.1.2.3"  # two load balancers in TRUSTED_PROXIES
CLIENT, ATTACKER = "203.0.113.7", "198.51.100.66"


def ip(remote_addr: str, forwarded_for: str | None = None) -> str:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return proxies.client_ip(RequestFactory().get("/", REMOTE_ADDR=remote_addr, **extra))


@pytest.fixture
def trusted(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "10.1.2.3"]


def test_it_ignores_forwarded_for_without_trusted_proxies(settings: Any) -> None:
    settings.TRUSTED_PROXIES = []
    assert ip(CLIENT, "192.0.2.1") == CLIENT
    assert ip(PROXY_A, CLIENT) == PROXY_A  # a proxy nobody declared is just the client


def test_it_ignores_a_spoofed_header_from_an_untrusted_address(trusted: None) -> None:
    # The attacker talks to Truss directly (or through a proxy that is not trusted) and claims to be anyone.
    assert ip(ATTACKER, "192.0.2.1") == ATTACKER
    assert ip(ATTACKER, f"{PROXY_A}, {CLIENT}") == ATTACKER
    assert ip(ATTACKER, "127.0.0.1") == ATTACKER


def test_it_follows_a_chain_through_two_trusted_proxies(trusted: None) -> None:
    # client → PROXY_B → PROXY_A → Truss: PROXY_B wrote the client, PROXY_A wrote PROXY_B.
    assert ip(PROXY_A, f"{CLIENT}, {PROXY_B}") == CLIENT
    # What the client itself put in front is never read: the first untrusted address from the right wins.
    assert ip(PROXY_A, f"192.0.2.1, 10.0.0.9, {CLIENT}, {PROXY_B}") == CLIENT
    # Two headers arrive joined, in order.
    assert ip(PROXY_A, f"192.0.2.1,{CLIENT} ,  {PROXY_B}") == CLIENT


def test_it_stops_at_garbage_and_at_a_chain_of_only_trusted_hops(trusted: None) -> None:
    assert ip(PROXY_A, f"{CLIENT}, not-an-address") == PROXY_A  # nothing left of garbage is believed
    assert ip(PROXY_A, "") == PROXY_A  # a trusted proxy that forwarded nothing: the proxy is the client
    assert ip(PROXY_A, PROXY_B) == PROXY_B  # every hop trusted: the farthest one known


def test_it_reads_ports_and_ipv6_forms(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::/32"]
    assert ip("2001:db8::5", "[2001:db8:ffff::1]:443, 203.0.113.7:51234") == CLIENT
    assert ip("::ffff:10.0.0.5", "2a00:1450::1") == "2a00:1450::1"  # an IPv4-mapped peer is the IPv4 proxy


def test_it_refuses_a_malformed_network_at_start_up(tmp_path: Any) -> None:
    import subprocess
    import sys

    from tests.fixtures.second_process import ROOT, child_env

    env = child_env(DJANGO_SETTINGS_MODULE="tests.settings", TRUSTED_PROXIES="10.0.0.0/8,nonsense")
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "TRUSTED_PROXIES: 'nonsense' is not an IP address or CIDR network" in done.stderr


# --- The operator sign-in throttle counts the client, not the proxy, and cannot be dodged ----------------------


@pytest.fixture
def throttle(settings: Any, trusted: None) -> Any:
    settings.LOGIN_FAILURES_PER_ACCOUNT = 1000
    settings.LOGIN_FAILURES_PER_IP = 3
    cache.clear()
    yield
    cache.clear()


def attempt(remote_addr: str, forwarded_for: str | None = None, username: str = "nobody") -> int:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    client = Client(REMOTE_ADDR=remote_addr, **extra)
    return client.post(reverse("login"), {"username": username, "password": "wrong"}).status_code


@pytest.mark.django_db
def test_it_throttles_the_client_behind_trusted_proxies_not_the_proxy(throttle: None) -> None:
    User.objects.create_user("alice", password="the-right-password-1")
    for _ in range(3):
        assert attempt(PROXY_A, f"{CLIENT}, {PROXY_B}") == 200
    assert attempt(PROXY_A, f"{CLIENT}, {PROXY_B}") == 429
    # Everyone else behind the same proxies still gets the form.
    assert attempt(PROXY_A, f"192.0.2.44, {PROXY_B}") == 200
    assert attempt(PROXY_B, "192.0.2.45") == 200


@pytest.mark.django_db
def test_it_throttles_an_untrusted_caller_whatever_it_forwards(throttle: None) -> None:
    for n in range(3):
        assert attempt(ATTACKER, f"192.0.2.{n}") == 200
    # A new made-up address per attempt does not make a new counter.
    assert attempt(ATTACKER, "192.0.2.99") == 429
    assert attempt(ATTACKER) == 429
