"""The client's address behind trusted proxies (``TRUSTED_PROXIES``), and whether the peer is one of them.

``REMOTE_ADDR`` is whoever opened the connection: behind a load balancer, the load balancer. A proxy appends the
address it received the request from to ``X-Forwarded-For``, so the header's right end is written by the hop
nearest to Truss and its left end by whoever sent the request first, including anyone who makes one up. The
client is therefore found from the right: starting at ``REMOTE_ADDR``, each address that is a trusted proxy
hands over to the one before it in the header; the first address that is not trusted is the client. Nothing to
the left of it is read: a caller can put anything there. With no trusted proxies (the default) the client is
``REMOTE_ADDR`` and the header is ignored.

Used by the operator sign-in throttle, the device-code throttle, audit events, logs and the metrics allow-list.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# More hops than any real chain of proxies has: a longer header is not read past this many entries.
MAX_HOPS = 20


@functools.lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    # The settings module has checked every value at start-up (a malformed one stops it, naming the variable).
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def networks(setting: str = "TRUSTED_PROXIES") -> tuple[Network, ...]:
    """The networks a setting names (TRUSTED_PROXIES, METRICS_ALLOWED_IPS), parsed once per value."""
    return _networks(tuple(getattr(settings, setting, ()) or ()))


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443" (RFC 7239 style) → the address
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234" → the address
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def in_networks(address: str, nets: Sequence[Network]) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in net for net in nets)


def is_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the peer that sent this request is a trusted proxy (its X-Forwarded-For and X-Request-ID count)."""
    nets = networks()
    return bool(nets) and in_networks(request.META.get("REMOTE_ADDR", ""), nets)


def client_ip(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or through trusted proxies the nearest untrusted address in
    ``X-Forwarded-For``. Computed once per request. "" when the server gave no address at all."""
    cached = getattr(request, "_truss_client_ip", None)
    if cached is not None:
        return str(cached)
    found = _client_ip(request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", ""))
    request._truss_client_ip = found  # type: ignore[attr-defined]
    return found


def _client_ip(remote_addr: str, forwarded_for: str) -> str:
    nets = networks()
    if not nets:
        return remote_addr.strip()  # no proxy is trusted: the peer is the client, as the server gave it
    peer = _address(remote_addr)
    if peer is None:
        return remote_addr.strip()
    if not any(peer in net for net in nets):
        return str(peer)
    # Several X-Forwarded-For headers arrive joined with ", " (WSGI), in the order they were sent.
    hops = [hop for hop in forwarded_for.split(",") if hop.strip()][-MAX_HOPS:]
    current = peer
    for hop in reversed(hops):
        previous = _address(hop)
        if previous is None:
            # Garbage where an address should be: nothing to its left can be trusted, and it names no one. The
            # last address that is known is the trusted proxy that passed it on.
            return str(current)
        current = previous
        if not any(current in net for net in nets):
            return str(current)
    return str(current)  # every hop is a trusted proxy: the left-most is as close to the client as it gets
