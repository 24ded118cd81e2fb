"""Which network addresses a fetch may reach: the rule that keeps a feed from steering the
reader's machine at its own network.

The rule, checked before every hop (the first request and each redirect):

- **What the reader typed is allowed**, wherever it points: a desktop reader may follow a
  feed on ``localhost``, on the home network or on a company intranet.
- **Link-local addresses are refused always** (``169.254.0.0/16`` and ``fe80::/10``, also
  when written as an IPv4-mapped IPv6 address): nothing a feed reader needs lives there, and
  cloud metadata services do (``169.254.169.254`` hands out credentials).
- **A redirect may not cross from a public address to a private one**: when a hop's host
  resolves only to public (globally routable) addresses, the next hop may not lead to a
  loopback, private, shared, unspecified or otherwise non-public address. A public server
  cannot bounce the reader into their router or into services on their own machine; a
  redirect that stays inside the reader's network, or that leaves it, is followed.

Addresses are what the host name resolves to now (each address of the name is checked; one
non-public address makes the hop private). The check resolves the name itself, so a name
whose DNS answer changes between this check and httpx's own lookup (DNS rebinding) is not
caught here; the refusal of link-local addresses and of crossing redirects holds for every
answer seen at check time. The resolver and the classifier are injectable, so that tests can
pretend that a loopback address is public and never send traffic anywhere else.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from app.storage.error import HeedfulError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LINK_LOCAL = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))


class Reach(Enum):
    """Where an address leads."""

    PUBLIC = "public"
    PRIVATE = "private"
    """Loopback, private, shared (CGNAT), unspecified, reserved: anything not global."""
    LINK_LOCAL = "link-local"
    UNKNOWN = "unknown"
    """The name did not resolve here; the request itself will say so."""


class AddressRefusedError(HeedfulError):
    """The policy refuses a hop; ``message`` says why, in one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def classify(address: IPAddress) -> Reach:
    """Where one address leads (an IPv4-mapped IPv6 address counts as its IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _LINK_LOCAL if network.version == address.version):
        return Reach.LINK_LOCAL
    return Reach.PUBLIC if address.is_global else Reach.PRIVATE


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class AddressPolicy:
    """The rule of this module's docstring, with its resolver and classifier."""

    resolver: Callable[[str, int], Sequence[str]] = resolve
    classifier: Callable[[IPAddress], Reach] = classify

    def reach(self, url: str) -> Reach:
        """Where ``url``'s host leads: link-local if any address is, private if any is not
        public, public if all are, unknown when it does not resolve."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError:
            port = 80
        literal = _literal(host.partition("%")[0])  # an IPv6 literal may carry a zone
        found = [literal] if literal is not None else self._resolved(host, port)
        kinds = {self.classifier(a) for a in found}
        if not kinds:
            return Reach.UNKNOWN
        for kind in (Reach.LINK_LOCAL, Reach.PRIVATE, Reach.UNKNOWN):
            if kind in kinds:
                return kind
        return Reach.PUBLIC

    def check(self, url: str, previous: Reach | None = None) -> Reach:
        """Allow or refuse one hop; ``previous`` is the reach of the hop that redirected here
        (None for the address the reader gave). Returns this hop's reach."""
        kind = self.reach(url)
        host = (urlsplit(url).hostname or "")[:100]
        if kind is Reach.LINK_LOCAL:
            raise AddressRefusedError(
                f"refused to fetch from {host}: it is a link-local address (169.254.0.0/16 or "
                "fe80::/10), where cloud metadata services live, never feeds"
            )
        if previous is Reach.PUBLIC and kind is Reach.PRIVATE:
            raise AddressRefusedError(
                f"refused a redirect from a public server to {host}, a private or local "
                "address (subscribe to that address directly if you trust it)"
            )
        return kind

    def _resolved(self, host: str, port: int) -> list[IPAddress]:
        found: list[IPAddress] = []
        for text in self.resolver(host, port):
            address = _literal(text.partition("%")[0])  # drop an IPv6 zone index
            if address is not None:
                found.append(address)
        return found


def _literal(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is written as one."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
