"""Which hosts a URL may name when a server (Hydra) fetches it: the one place that decides "loopback" and
"internal" for Truss.

A host is read the way resolvers read it, not only the way Python's ipaddress does: glibc's inet_aton (which
getaddrinfo, and so Go's cgo resolver, falls back to) takes 127.1, 2130706433, 0x7f000001 and 0177.0.0.1 as
127.0.0.1, and Go unescapes %XX in a URL's host. An IP literal in any of those notations, an IPv6 literal (IPv4
embedded in it included) and the names that never leave the machine or the local network are "internal".
Host names that resolve to internal addresses through DNS are Hydra's to refuse when it connects
(`clients.http.disallow_private_ip_ranges`); this module never resolves anything.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import unquote, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that resolve to this machine or only on the local network (RFC 6761 localhost, RFC 6762 .local,
# RFC 8375 home.arpa, ICANN's private-use .internal), and the loopback aliases of /etc/hosts.
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")
_SHARED_SPACE = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_IPV4_PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_NUMBER = {16: re.compile(r"[0-9a-f]*"), 8: re.compile(r"[0-7]+"), 10: re.compile(r"[0-9]+")}
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")


class NotAHost(ValueError):
    """A host that looks like an IP literal but is not a valid one (e.g. 256.1.1.1, 1.2.3.4.5)."""


def normalized(host: str) -> str:
    """The host as a resolver sees it: %XX unescaped, compatibility forms folded (fullwidth digits), lower
    case, IPv6 brackets and one trailing dot removed."""
    host = unicodedata.normalize("NFKC", unquote(host)).strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") and not host.endswith("..") else host


def _ipv4_part(part: str) -> int | None:
    if part.startswith("0x"):
        base, digits = 16, part[2:]
    elif len(part) > 1 and part.startswith("0"):
        base, digits = 8, part[1:]
    else:
        base, digits = 10, part
    if not _NUMBER[base].fullmatch(digits):
        return None
    return int(digits, base) if digits else 0


def _ipv4(host: str) -> ipaddress.IPv4Address | None:
    """inet_aton's reading: 1 to 4 parts, each decimal, 0x-hex or 0-octal, the last filling the rest."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_part(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    *head, last = values
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(values)):
        raise NotAHost(f"{host} is not a valid IPv4 address")
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def literal_address(host: str) -> Address | None:
    """The address `host` names literally, in any notation a resolver accepts; None for a host name.
    NotAHost for something numeric that is no address (a host name's last label is never all digits)."""
    host = normalized(host)
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError as exc:
            raise NotAHost(f"{host} is not a valid IPv6 address") from exc
    address = _ipv4(host)
    if address is None and _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        raise NotAHost(f"{host} is neither a host name nor an IP address")
    return address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries: IPv4-mapped (::ffff:a.b.c.d), 6to4 (2002::/16) or Teredo."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    return None


def _address_kind(address: Address) -> str | None:
    """What kind of non-public address this is, or None for a public (global unicast) one."""
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.version == 4 and address in _SHARED_SPACE:
        return "shared address space (carrier-grade NAT)"
    if (address.version == 4 and any(address in n for n in _IPV4_PRIVATE)) or (
        address.version == 6 and address in _UNIQUE_LOCAL
    ):
        return "a private address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved or address.is_private or not address.is_global:
        return "a reserved, non-public address"
    return None


def internal_kind(host: str) -> str | None:
    """Why `host` is not a public host (a sentence fragment), or None. NotAHost for a malformed literal."""
    name = normalized(host)
    if not name:
        return "no host"
    if name in _LOOPBACK_NAMES or name.endswith(_LOCAL_SUFFIXES):
        return f"{name}, a name that only resolves locally"
    address = literal_address(name)
    if address is None:
        if "." not in name:
            return f"{name}, a single-label name (a machine or container on the local network)"
        return None
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    inner = _address_kind(embedded) if embedded else None
    if inner:
        return f"{inner} ({embedded}, inside the IPv6 address {address})"
    kind = _address_kind(address)
    return f"{kind} ({address})" if kind else None


def is_loopback_host(host: str) -> bool:
    """Whether `host` is this machine: localhost names or a loopback literal in any notation (RFC 8252 §7.3
    lets native apps redirect to these over plain http)."""
    name = normalized(host)
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = literal_address(name)
    except NotAHost:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return bool(address and address.is_loopback)


def fetch_problem(uri: str) -> str | None:
    """Why a server must not fetch `uri` (its host is loopback, private, link-local, … or no valid host), or
    None. Only the host is judged here; the scheme and the rest are the caller's rules."""
    if "\\" in uri:
        return "contains a backslash, which URL parsers read differently"
    try:
        hostname = urlsplit(uri).hostname
    except ValueError:
        return "has a malformed host"
    if not hostname:
        return "has no host"
    try:
        kind = internal_kind(hostname)
    except NotAHost as exc:
        return f"has an invalid host: {exc}"
    return f"points at {kind}" if kind else None
