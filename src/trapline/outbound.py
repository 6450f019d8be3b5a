"""The one guard for every request the server makes to an address a user gave it.

A project manager can make the server call a URL (a push-mode processing service today; pull
sources and callbacks later). Without a guard that turns the server into a proxy into its own
network: loopback admin ports, private hosts, the cloud metadata service at 169.254.169.254.
So every such request goes through an :class:`OutboundPolicy`:

- only ``http`` and ``https`` URLs, never with a user name or password in them;
- the host name is resolved, and **every** address it resolves to must be allowed; the verdict
  is made on :mod:`ipaddress` objects, never on the text, so other spellings of an address
  (``2130706433``, ``0x7f000001``, ``127.1``, ``[::ffff:7f00:1]``) get the same answer;
- the connection is made to the address that was checked (it is pinned: no second lookup that
  DNS rebinding could answer differently), while the ``Host`` header, TLS SNI and certificate
  verification still use the name;
- every request is checked, so a redirect is checked like the first request when a client
  follows redirects (the processing-service client does not follow them at all).

Blocked: loopback, link-local, private (RFC 1918, ``fc00::/7``), shared (``100.64.0.0/10``),
unspecified, multicast, broadcast and reserved addresses, and IPv6 addresses that embed a
blocked IPv4 address (IPv4-mapped and -compatible, NAT64 ``64:ff9b::/96``, 6to4). Only an admin
loosens this: ``TRAPLINE_OUTBOUND_ALLOW_NETWORKS`` lists networks anyone may reach, and a
*trusted* request (made for something an admin set up, such as a service an admin registered)
skips the address check (the scheme and credential checks still apply).

Use::

    policy = OutboundPolicy.from_settings(settings.security)
    policy.check_url(url)  # raises OutboundBlocked before anything is called
    with policy.http_client(trusted=False, timeout=10) as http:
        http.get(url)  # checked again at connect time, against the address it connects to
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import httpcore
import httpx

from trapline.errors import InvalidInput

if TYPE_CHECKING:
    from trapline.settings import SecuritySettings

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Turns a host name (or address literal) and port into the addresses to connect to;
#: raises OSError when the name does not resolve. Tests inject one that never touches DNS.
Resolver = Callable[[str, int], Sequence[IPAddress]]
#: Answers a request the guard allowed, in place of connecting: a test's stand-in for the world
#: outside (the fuzz run's server, tests/system/fuzz/offline.py), behind every check.
Answerer = Callable[[httpx.Request], httpx.Response]

#: Schemes the server calls.
SCHEMES = frozenset({"http", "https"})
#: The setting that lets ordinary accounts reach a network, named in refusals.
ALLOW_SETTING = "TRAPLINE_OUTBOUND_ALLOW_NETWORKS"


def _networks(*cidrs: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


#: Special-purpose blocks (IETF protocol assignments, documentation, benchmarking, future use,
#: IPv4-compatible and Teredo IPv6); ``is_global`` catches any other.
_RESERVED = _networks(
    "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "240.0.0.0/4", "::/96", "100::/64", "2001::/23", "2001:db8::/32",
)  # fmt: skip

#: Blocked networks, each with what it is in words; the first match names the refusal.
BLOCKED: tuple[tuple[tuple[Network, ...], str], ...] = (
    (_networks("127.0.0.0/8", "::1/128"), "a loopback address"),
    (_networks("0.0.0.0/8", "::/128"), "an unspecified address"),
    (_networks("169.254.0.0/16", "fe80::/10"), "a link-local address"),
    (
        _networks("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10"),
        "a private address",
    ),
    (_networks("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
    (_networks("255.255.255.255/32"), "the broadcast address"),
    (_networks("224.0.0.0/4", "ff00::/8"), "a multicast address"),
    (_RESERVED, "a reserved address"),
    # Local-use NAT64 (RFC 8215): a site's own translator, which reaches its IPv4 network.
    (_networks("64:ff9b:1::/48"), "a local translation address"),
)

#: IPv6 prefixes whose last 32 bits are an IPv4 address that routers or hosts may reach
#: (IPv4-compatible ``::/96``, NAT64 ``64:ff9b::/96`` and SIIT's IPv4-translated
#: ``::ffff:0:0:0/96``); mapped ``::ffff:0:0/96`` and 6to4 are read by ipaddress.
_EMBEDDING = _networks("::/96", "64:ff9b::/96", "::ffff:0:0:0/96")


class OutboundBlocked(InvalidInput):
    """The server will not call this URL: a scheme, credentials or an address not allowed."""

    code = "address_not_allowed"


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to (``socket.getaddrinfo``), without duplicates.

    getaddrinfo also reads address literals in every spelling the C library knows (decimal,
    hex, octal, shortened), which is why the verdict is made on what it returns.
    """
    found: list[IPAddress] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(sockaddr[0])
        if address not in found:
            found.append(address)
    return found


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in prefix for prefix in _EMBEDDING) and int(address) & 0xFFFFFFFF > 1:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def blocked_reason(address: IPAddress) -> str | None:
    """Why the server may not call ``address`` (``"a loopback address"``), or None.

    The decision alone: no allow-list, no trust. An IPv6 address is refused when the IPv4
    address it carries is.
    """
    inner = embedded_ipv4(address)
    if inner is not None and (reason := blocked_reason(inner)) is not None:
        return f"{reason} written as IPv6"
    plain: IPAddress = address
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        plain = address.ipv4_mapped  # ::ffff:a.b.c.d is a.b.c.d, reached over IPv4
    for networks, reason in BLOCKED:
        if any(plain in network for network in networks):
            return reason
    if not plain.is_global:  # whatever else the address registries call special-purpose
        return "a reserved address"
    return None


@dataclass(frozen=True)
class OutboundPolicy:
    """Which addresses the server calls; one per server, shared by every outbound client."""

    #: Networks anyone may reach, blocked or not (``TRAPLINE_OUTBOUND_ALLOW_NETWORKS``).
    allow_networks: tuple[Network, ...] = ()
    resolver: Resolver = system_resolver
    #: None: connect. Set only by tests that have no network: each request passes every check
    #: (form, resolution through ``resolver``, address verdict), then this answers it.
    answer: Answerer | None = None

    @classmethod
    def from_settings(
        cls, settings: SecuritySettings, resolver: Resolver = system_resolver
    ) -> Self:
        """The policy the settings ask for."""
        networks = tuple(ipaddress.ip_network(str(n)) for n in settings.outbound_allow_networks)
        return cls(allow_networks=networks, resolver=resolver)

    def verdict(self, address: IPAddress) -> str | None:
        """Why ``address`` is refused under this policy, or None when it may be called."""
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        if any(c in network for c in candidates for network in self.allow_networks):
            return None
        return blocked_reason(address)

    def check_host(self, host: str, port: int, *, trusted: bool = False) -> list[IPAddress]:
        """Resolve ``host``; the addresses to connect to when every one of them is allowed.

        Raises:
            OutboundBlocked: one of the addresses is not allowed (and the call is not trusted).
            OSError: the name does not resolve.
        """
        addresses = list(self.resolver(host, port))
        if not addresses:
            raise OSError(f"{host} resolves to no address")
        if trusted:
            return addresses
        for address in addresses:
            reason = self.verdict(address)
            if reason is not None:
                log.info("refused an outbound call to %s (%s): %s", host, address, reason)
                raise OutboundBlocked(refusal(host, reason))
        return addresses

    def check_url(self, url: str | httpx.URL, *, trusted: bool = False) -> list[IPAddress]:
        """Check a URL as a request to it would be checked; returns the addresses it reaches.

        Raises:
            OutboundBlocked: not http(s), carries credentials, or reaches an address not allowed.
            OSError: its host name does not resolve.
        """
        parsed = check_form(url)
        return self.check_host(parsed.host, parsed.port or _PORTS[parsed.scheme], trusted=trusted)

    def transport(
        self, *, trusted: bool = False, verify: ssl.SSLContext | bool = True
    ) -> httpx.HTTPTransport:
        """An httpx transport whose every request is checked and whose connections are pinned."""
        return GuardedTransport(self, trusted=trusted, verify=verify)

    def http_client(self, *, trusted: bool = False, **options: Any) -> httpx.Client:
        """An httpx client over :meth:`transport`; ``options`` go to ``httpx.Client``.

        The environment is not trusted: no proxy from ``HTTP_PROXY`` (it would connect to the
        proxy instead of the checked address) and no credentials from ``.netrc``.
        """
        return httpx.Client(transport=self.transport(trusted=trusted), trust_env=False, **options)


_PORTS = {"http": 80, "https": 443}


def refusal(host: str, reason: str | None = None) -> str:
    """Why the server will not call ``host``, in words for an account that is not an admin.

    For a name, neither the kind of address it resolves to nor whether it resolves at all is
    said: either would let a caller map the server's own network through its DNS.
    """
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    shown = f"[{host}]" if isinstance(literal, ipaddress.IPv6Address) else host
    what = f"is {reason}" if literal is not None and reason else "resolves to no public address"
    return (
        f"the server does not call {shown}: it {what}, and for accounts that are not "
        "admins the server calls public addresses only. An admin can allow it: what an admin "
        f"sets up (such as a service an admin registers) may be anywhere, and {ALLOW_SETTING} "
        "lists networks anyone may reach"
    )


def check_form(url: str | httpx.URL) -> httpx.URL:
    """``url`` parsed, when its form may be called: http(s), a host, no credentials.

    Raises:
        OutboundBlocked: the URL is malformed, of another scheme, or carries credentials.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise OutboundBlocked(f"{str(url)!r} is not a URL the server can call: {exc}") from None
    if parsed.scheme not in SCHEMES or not parsed.host:
        raise OutboundBlocked(
            f"the server calls only http and https URLs with a host (got {str(url)!r})"
        )
    if parsed.userinfo:
        raise OutboundBlocked("a URL the server calls must not carry a user name or password")
    return parsed


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport, checking each request's URL and connecting only to checked addresses.

    httpx has no setting for how connections are made, but its connection pool (httpcore)
    takes a network backend: the pool is made again with :class:`_PinnedBackend`, which
    resolves and checks the host and connects to the checked address. The pool is keyed by the
    name, and TLS runs over the pinned socket with the name as SNI and for verification.
    """

    def __init__(
        self, policy: OutboundPolicy, *, trusted: bool, verify: ssl.SSLContext | bool = True
    ) -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        context = _verified_context() if verify is True else httpx.create_ssl_context(verify=verify)
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._backend = _PinnedBackend(policy, trusted=trusted)
        # A later httpx that keeps its pool elsewhere must fail here, not connect unchecked.
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("this httpx version keeps no httpcore pool: update outbound.py")
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=self._backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_form(request.url)  # every hop of a redirect, too
        request.extensions.pop("sni_hostname", None)  # TLS is always verified for the name
        answer = self._backend.policy.answer
        if answer is not None:  # a test without a network: checked as a connection would be
            url = request.url
            try:
                self._backend.addresses(url.host, url.port or _PORTS[url.scheme])
            except httpcore.ConnectError as exc:  # as httpx would tell it
                raise httpx.ConnectError(str(exc), request=request) from exc
            return answer(request)
        return super().handle_request(request)


@functools.cache
def _verified_context() -> ssl.SSLContext:
    """The TLS settings of every verified outbound connection, shared: loading the CA bundle
    takes about 20 ms, and nothing changes a context once made."""
    return httpx.create_ssl_context(verify=True)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to a host's checked addresses only (one lookup, then no other)."""

    def __init__(self, policy: OutboundPolicy, *, trusted: bool) -> None:
        self.policy = policy
        self._trusted = trusted
        self._sockets = httpcore.SyncBackend()

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The checked addresses to connect to (OutboundBlocked when not allowed)."""
        try:
            return self.policy.check_host(host, port, trusted=self._trusted)
        except OSError as exc:
            if not self._trusted:  # told as a refusal: whether a name resolves is not told
                raise OutboundBlocked(refusal(host)) from None
            raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self.addresses(host, port)
        failure: Exception | None = None
        for address in addresses:  # each was checked; try them in the resolver's order
            try:
                return self._sockets.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # check_host returns at least one address
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise OutboundBlocked("the server does not call Unix sockets for a URL")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)
