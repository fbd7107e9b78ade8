"""Where a webhook may be sent: the addresses refused unless an installation allows their network,
a URL's host resolved once with every address checked, and the checked address the request goes
to (with the URL's name in the Host header and TLS's SNI and certificate check).

Loopback, link-local, private, shared (CGNAT), unique local, multicast, unspecified, reserved,
documentation and benchmarking addresses are refused however they are written: `127.1`,
`0x7f.1`, `2130706433`, `017700000001` (read as a resolver reads them), `[::ffff:127.0.0.1]`,
and the IPv4 address inside a 6to4 or NAT64 address.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Final, Protocol
from urllib.parse import urlsplit

import httpx

from domain.errors import InvalidInput
from store.webhooks import checked_url

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

ALLOW_VARIABLE: Final = "CONCORD_WEBHOOK_ALLOW_NETWORKS"
RESOLVE_TIMEOUT_S: Final = 5.0
DEFAULT_PORTS: Final = {"http": 80, "https": 443}

REFUSED: Final[tuple[tuple[IPNetwork, str], ...]] = tuple(
    (ip_network(network), what)
    for network, what in (
        ("0.0.0.0/8", "an unspecified address ('this network')"),
        ("10.0.0.0/8", "a private address (RFC 1918)"),
        ("100.64.0.0/10", "a shared address (carrier-grade NAT, RFC 6598)"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address (RFC 1918)"),
        ("192.0.0.0/24", "a reserved address (IETF protocol assignments)"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a reserved address (6to4 relay anycast)"),
        ("192.168.0.0/16", "a private address (RFC 1918)"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address (or the broadcast address)"),
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("::/8", "a reserved address (IPv4-compatible or unassigned)"),
        ("64:ff9b:1::/48", "a private address (local-use NAT64)"),
        ("100::/64", "a discard-only address"),
        ("2001::/23", "a reserved address (IETF protocol assignments: Teredo, ORCHID, ...)"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "a reserved address (SRv6)"),
        ("fc00::/7", "a unique local address (ULA)"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
"""What webhooks may not reach by default, and what each is; anything else that Python's
`ipaddress` does not hold globally reachable is refused too."""

NAT64: Final = ip_network("64:ff9b::/96")
_NUMERIC_LABEL: Final = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_NAME_LABEL: Final = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """The networks of a comma-separated list of CIDRs (`10.0.0.0/8, fd00::/8`); ValueError
    naming the first that is not one."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ip_network(item))
        except ValueError as error:
            raise ValueError(f"{item!r} is not a network in CIDR notation ({error})") from None
    return tuple(networks)


def embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries to (mapped, 6to4, NAT64), if it is one."""
    if isinstance(address, IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """The addresses webhooks may reach: every globally reachable one, and those of the networks
    an installation allows (its intranet, CONCORD_WEBHOOK_ALLOW_NETWORKS)."""

    allowed: tuple[IPNetwork, ...] = ()

    def refusal(self, address: IPAddress) -> str | None:
        """What `address` is, when webhooks may not reach it ("a loopback address"); None when
        they may."""
        if any(address in network for network in self.allowed):
            return None
        inner = embedded_ipv4(address)
        if inner is not None:
            what = self.refusal(inner)
            return None if what is None else f"a form of {inner}, {what}"
        for network, what in REFUSED:
            if address in network:
                return what
        if not address.is_global or address.is_reserved or address.is_multicast:
            return "an address that is not globally reachable"
        return None


class Resolver(Protocol):
    """The addresses a host name has (OSError when it has none)."""

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]: ...


async def system_resolver(host: str, port: int) -> Sequence[IPAddress]:
    """The host's addresses as this machine's resolver gives them, each once, in its order."""
    answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ip_address(answer[4][0]) for answer in answers))


class AddressRefused(InvalidInput):
    """A webhook's URL names an address it may not reach: never worth trying again."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "url",
            f"{reason}, which webhooks may not reach (an installation allows its own networks "
            f"with {ALLOW_VARIABLE})",
        )


class Unresolved(InvalidInput):
    """A webhook's host name has no address now (it may have one later)."""

    def __init__(self, host: str, why: str) -> None:
        super().__init__("url", f"the host {host} does not resolve ({why})")


@dataclass(frozen=True)
class Target:
    """Where one request to a webhook goes: the address checked, for the URL's host."""

    url: str
    host: str
    """The URL's host: a name, or an address as written."""
    address: IPAddress
    """The address connected to: one of `addresses`, each of them checked."""
    addresses: tuple[IPAddress, ...]
    named: bool
    """Whether the host is a name (resolved) rather than an address."""

    @property
    def request_url(self) -> httpx.URL:
        """The URL with the checked address for its host: nothing resolves the name again."""
        return httpx.URL(self.url).copy_with(host=str(self.address))

    @property
    def host_header(self) -> str:
        return httpx.URL(self.url).netloc.decode("ascii")

    @property
    def extensions(self) -> dict[str, str]:
        """The request's httpcore extensions: TLS names (SNI) and checks the certificate for
        the URL's host name, not for the address connected to."""
        if self.named and urlsplit(self.url).scheme == "https":
            return {"sni_hostname": self.host}
        return {}


def literal_address(host: str) -> IPAddress | None:
    """The address `host` (a URL's host, lowercased, without brackets) writes, in any form a
    resolver reads (`127.1`, `0x7f.1`, `2130706433`, `::ffff:7f00:1`); None for a name;
    InvalidInput naming `url` for a host that is neither."""
    if ":" in host:
        try:
            address = ip_address(host)
        except ValueError:
            raise InvalidInput("url", f"{host!r} is not an IPv6 address") from None
        if isinstance(address, IPv6Address) and address.scope_id is not None:
            raise InvalidInput("url", f"{host!r}: an IPv6 address with a zone is not reachable")
        return address
    labels = host.removesuffix(".").split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        # A host whose last label is a number is an IPv4 address, as a browser reads it; the
        # resolver's reading (inet_aton: octal, hexadecimal, fewer than four parts) decides.
        try:
            return IPv4Address(socket.inet_aton(host.removesuffix(".")))
        except OSError:
            raise InvalidInput("url", f"{host!r} is neither an IPv4 address nor a name") from None
    if len(host) > 253 or not all(_NAME_LABEL.match(label) for label in labels):
        raise InvalidInput("url", f"{host!r} is not a host name")
    return None


async def resolved_target(url: str, policy: AddressPolicy, resolver: Resolver) -> Target:
    """Where a request to `url` goes: its host resolved once, every address it has checked
    against `policy`. AddressRefused when any address is refused, Unresolved when the name has
    none now, InvalidInput naming `url` for a URL that is not one Concord calls."""
    checked_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    literal = literal_address(host)
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                addresses = tuple(await resolver(host, port))
        except TimeoutError:
            raise Unresolved(host, f"no answer within {RESOLVE_TIMEOUT_S:g} s") from None
        except OSError as error:
            raise Unresolved(host, error.strerror or str(error)) from None
        if not addresses:
            raise Unresolved(host, "no address")
    for address in addresses:
        what = policy.refusal(address)
        if what is not None:
            named = f"{address} is" if literal is not None else f"{host} resolves to {address},"
            raise AddressRefused(f"{named} {what}")
    return Target(
        url=url, host=host, address=addresses[0], addresses=addresses, named=literal is None
    )
