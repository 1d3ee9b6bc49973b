"""Which outbound targets are allowed: the SSRF guard.

A URL is allowed when its scheme is http or https, it carries no credentials, and every
address its host resolves to is a public unicast address. Loopback, private (RFC 1918,
unique-local), link-local (including the 169.254.169.254 metadata service), carrier-grade
NAT, unspecified, multicast, reserved and documentation ranges are refused, also when they
hide inside IPv6 (IPv4-mapped ``::ffff:127.0.0.1``, 6to4, NAT64) or in the legacy numeric
forms ``2130706433``, ``0177.0.0.1``, ``0x7f.1`` and ``127.1``.

An operator lifts the refusal per host with ``Settings.webhook_allowlist`` (environment
``CAIRN_WEBHOOK_ALLOWLIST``): an exact host name (``hooks.internal``), a wildcard for its
sub-domains (``*.corp.example``), an address (``10.0.0.7``) or a network (``10.1.0.0/16``).
The scheme rule still applies to allow-listed hosts.

The guard returns the addresses it checked; :mod:`runtime.net.client` connects to exactly
those, so a second DNS answer (DNS rebinding) can't swap in another address.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from runtime.net.errors import InvalidUrl, ResolveFailed, UnsafeTarget

if TYPE_CHECKING:
    from runtime.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_LEGACY_V4 = re.compile(r"[0-9][0-9a-fA-FxX.]*")


def system_resolver(host: str, port: int) -> Sequence[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), through the system resolver."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolveFailed(f"could not resolve {host!r}: {exc}") from exc
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


@dataclass(frozen=True)
class OutboundPolicy:
    """Which targets the runtime may contact; built once from the settings."""

    allowlist: tuple[str, ...] = ()
    schemes: frozenset[str] = ALLOWED_SCHEMES
    resolver: Resolver = field(default=system_resolver, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings, resolver: Resolver | None = None) -> OutboundPolicy:
        """The policy of a process's settings (``webhook_allowlist``)."""
        return cls(
            allowlist=tuple(settings.webhook_allowlist),
            resolver=resolver or system_resolver,
        )

    def host_allowed(self, host: str) -> bool:
        """True when ``host`` (a name) is on the allow-list by name or wildcard."""
        name = host.lower().rstrip(".")
        for entry in self.allowlist:
            entry = entry.strip().lower().rstrip(".")
            if not entry:
                continue
            if entry.startswith("*."):
                if name.endswith(entry[1:]) and name != entry[2:]:
                    return True
            elif name == entry:
                return True
        return False

    def address_allowed(self, address: IPAddress) -> bool:
        """True when ``address`` is inside an allow-listed address or network."""
        for entry in self.allowlist:
            try:
                network = ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                continue
            if address.version == network.version and address in network:
                return True
            mapped = getattr(address, "ipv4_mapped", None)
            if mapped is not None and network.version == 4 and mapped in network:
                return True
        return False


@dataclass(frozen=True)
class Target:
    """A URL the guard accepted, with the addresses to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    request_path: str
    addresses: tuple[str, ...]
    allowlisted: bool = False

    @property
    def host_header(self) -> str:
        """The ``Host`` header value (port only when not the scheme's default)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address written as ``host``, including legacy IPv4 forms; None for a name.

    ``2130706433``, ``0177.0.0.1``, ``0x7f.0.0.1`` and ``127.1`` all mean 127.0.0.1 to
    the C library's ``inet_aton``, so they are parsed the way a connect would read them.
    """
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_V4.fullmatch(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def refusal_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public unicast target, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = refusal_reason(embedded)
            return f"{inner} (embedded in IPv6)" if inner else None
        if address.teredo is not None:
            return "teredo"
    checks: tuple[tuple[str, bool], ...] = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link_local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("shared", isinstance(address, ipaddress.IPv4Address) and address in _CGNAT),
        ("not_global", not address.is_global),
    )
    for reason, hit in checks:
        if hit:
            return reason
    return None


def check_url(url: str, policy: OutboundPolicy) -> Target:
    """The :class:`Target` of ``url`` if the policy allows it; :class:`UnsafeTarget` if not."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidUrl(f"invalid URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in policy.schemes:
        raise UnsafeTarget(f"scheme {scheme or '(none)'!r} is not allowed; use http or https")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("credentials in the URL are not allowed")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidUrl(f"URL {url!r} has no host")
    port = port or DEFAULT_PORTS[scheme]
    path = parts.path or "/"
    request_path = f"{path}?{parts.query}" if parts.query else path

    literal = parse_ip_literal(host)
    by_name = literal is None and policy.host_allowed(host)
    if literal is not None:
        addresses: Iterable[str] = [str(literal)]
    else:
        addresses = policy.resolver(host, port)
    checked: list[str] = []
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not by_name and not policy.address_allowed(address):
            reason = refusal_reason(address)
            if reason is not None:
                raise UnsafeTarget(
                    f"{host} resolves to {address}, a {reason.replace('_', '-')} address; "
                    "add the host to the webhook allow-list to permit it"
                )
        checked.append(str(address))
    if not checked:
        raise ResolveFailed(f"{host!r} resolved to no address")
    return Target(
        url=url,
        scheme=scheme,
        host=str(literal) if literal is not None else host.lower(),
        port=port,
        request_path=request_path,
        addresses=tuple(checked),
        allowlisted=by_name or any(
            policy.address_allowed(ipaddress.ip_address(a)) for a in checked
        ),
    )
