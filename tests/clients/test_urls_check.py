"""truss.urls_check: one reading of "internal host" for every URI Hydra fetches and every loopback exception."""

from __future__ import annotations

import pytest

from truss.urls_check import fetch_problem, internal_kind, is_loopback_host, literal_address


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("0", "0.0.0.0"),
        ("127.0.0.1.", "127.0.0.1"),
        ("%31%32%37.0.0.1", "127.0.0.1"),
        ("１２７.０.０.１", "127.0.0.1"),  # fullwidth digits
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
    ],
)
def test_it_reads_ip_literals_in_every_notation_a_resolver_accepts(host: str, address: str) -> None:
    assert str(literal_address(host)) == address


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("2130706433", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # named by the IPv4 address inside
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("10.0.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fdff::1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("192.0.2.1", "non-public"),  # documentation range
        ("240.0.0.1", "non-public"),
        ("255.255.255.255", "non-public"),
        ("localhost", "resolves locally"),
        ("app.localhost", "resolves locally"),
        ("printer.local", "resolves locally"),
        ("metadata.google.internal", "resolves locally"),
        ("router.home.arpa", "resolves locally"),
        ("hydra", "single-label"),
    ],
)
def test_it_names_the_kind_of_every_internal_host(host: str, kind: str) -> None:
    found = internal_kind(host)
    assert found is not None and kind in found, found


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "keys.example.com",
        "8.8.8.8",
        "2606:4700::1111",
        "bücher.example",
        "xn--bcher-kva.example",
    ],
)
def test_it_lets_public_hosts_through(host: str) -> None:
    assert internal_kind(host) is None


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("http://256.1.1.1/", "invalid host"),
        ("http://1.2.3.4.5/", "invalid host"),
        ("http://foo.123/", "invalid host"),  # a host name's last label is never numeric
        ("http://[::1/", "malformed host"),
        ("http:///x", "no host"),
        ("http://127.0.0.1\\@example.com/", "backslash"),
        ("https://example.com@127.0.0.1/", "loopback"),  # userinfo is not the host
    ],
)
def test_it_refuses_malformed_hosts_and_userinfo_tricks(uri: str, fragment: str) -> None:
    problem = fetch_problem(uri)
    assert problem is not None and fragment in problem, problem


def test_it_says_loopback_for_the_native_app_exception_in_any_notation() -> None:
    assert all(is_loopback_host(h) for h in ("localhost", "127.0.0.1", "127.1", "[::1]", "::ffff:127.0.0.1"))
    assert not any(
        is_loopback_host(h) for h in ("10.0.0.1", "example.com", "256.1.1.1", "localhost.example.com")
    )
