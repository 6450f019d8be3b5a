"""Forwarded headers: believed from the trusted proxies only, and said out loud when others
send them.

The sign-in limits count failures per client address. Behind a reverse proxy the address that
connects is the proxy's, the same for every browser, unless the proxy is listed in
``TRAPLINE_TRUSTED_PROXIES`` and its ``X-Forwarded-For`` is believed. A request that carries
``X-Forwarded-For`` from an address not listed is the sign of a proxy nobody listed (or of a
client making the header up): the server keeps serving, and says so in its log once for each
such address.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

log = logging.getLogger(__name__)

#: Addresses warned about at most (each once); past them the log stays quiet.
MAX_WARNED = 100

Networks = Sequence[IPv4Network | IPv6Network]


class ForwardedHeaders:
    """ASGI middleware outside the app: reads ``X-Forwarded-For`` and ``X-Forwarded-Proto``
    from ``trusted`` proxies (uvicorn's reader), and warns about any other address sending
    ``X-Forwarded-For``."""

    def __init__(self, app: Any, trusted: Networks) -> None:
        self.trusted = tuple(trusted)
        self.app = (
            ProxyHeadersMiddleware(app, trusted_hosts=[str(n) for n in self.trusted])
            if self.trusted
            else app
        )
        self._warned: set[str] = set()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            self._look(scope)
        await self.app(scope, receive, send)

    def trusts(self, host: str) -> bool:
        """Whether ``host`` (the address that connected) is a trusted proxy."""
        try:
            address = ip_address(host)
        except ValueError:  # a Unix socket's path
            return False
        return any(address in network for network in self.trusted)

    def _look(self, scope: Any) -> None:
        client = scope.get("client")
        if not client or client[0] in self._warned or len(self._warned) >= MAX_WARNED:
            return
        if not any(name == b"x-forwarded-for" for name, _ in scope["headers"]):
            return
        host = str(client[0])
        if self.trusts(host):
            return
        self._warned.add(host)
        listed = ", ".join(str(n) for n in self.trusted) or "none"
        log.warning(
            "a request from %s carries X-Forwarded-For, but %s is not in "
            "TRAPLINE_TRUSTED_PROXIES (%s): the header is ignored, and the sign-in limits "
            "count every browser behind that proxy as one client. Add the proxy's address to "
            "TRAPLINE_TRUSTED_PROXIES; if no proxy should be there, someone sends the header "
            "to choose their address (said once per address)",
            host,
            host,
            listed,
        )
