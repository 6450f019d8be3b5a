"""uvicorn's server with two hooks ``trapline up`` needs: its URL, and work before stopping."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from ipaddress import IPv4Network, IPv6Network
from types import FrameType
from typing import Any

import uvicorn

from trapline.http.forwarded import ForwardedHeaders
from trapline.settings import HttpSettings

log = logging.getLogger(__name__)


class Server(uvicorn.Server):
    """Runs ``stopping`` in a thread on the first signal, and only then shuts down.

    While ``stopping`` runs the API keeps answering, so an embedded worker can post the
    results of the batch in hand. A second signal shuts down at once.
    """

    def __init__(self, config: uvicorn.Config, stopping: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._stopping = stopping
        self._stop_begun = False

    @classmethod
    def for_app(
        cls,
        app: Any,
        settings: HttpSettings,
        *,
        trusted_proxies: Sequence[IPv4Network | IPv6Network] = (),
        stopping: Callable[[], None] | None = None,
    ) -> Server:
        """A server for ``app`` on the settings' host and port, believing forwarded headers
        only from ``trusted_proxies`` and warning when others send them."""
        if not settings.public_url and settings.host in ("", "0.0.0.0", "::"):  # noqa: S104
            # Links are never built from a request's Host header (a caller writes it).
            log.warning(
                "listening on all addresses without TRAPLINE_PUBLIC_URL: links handed to "
                "workers and browsers name 127.0.0.1, which other machines cannot reach; set "
                "TRAPLINE_PUBLIC_URL to the address they use"
            )
        config = uvicorn.Config(
            ForwardedHeaders(app, trusted_proxies),
            host=settings.host,
            port=settings.port,
            loop=settings.event_loop,
            log_config=None,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=10,
            # Forwarded headers are read by ForwardedHeaders, from the trusted proxies only
            # (uvicorn's own reading believes loopback by default: a made-up header would then
            # choose the client address the sign-in limits count by).
            proxy_headers=False,
        )
        return cls(config, stopping)

    def local_url(self) -> str:
        """The URL this process reaches the server at (once it listens)."""
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        if host in ("0.0.0.0", "::"):  # noqa: S104 - a comparison, not a bind
            host = "127.0.0.1"
        return f"http://{host}:{port}"

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._stopping is None or self._stop_begun:
            super().handle_exit(sig, frame)
            return
        self._stop_begun = True
        stopping = self._stopping

        def stop_then_exit() -> None:
            try:
                stopping()
            finally:
                super(Server, self).handle_exit(sig, frame)

        threading.Thread(target=stop_then_exit, name="stopping", daemon=True).start()
