"""An image server between workers and the platform's blob URLs, for end-to-end tests.

The platform's ``public_url`` points here, so every ``image_url`` a worker receives goes
through it. It forwards to the platform, can slow each answer down (so jobs last long enough
to interrupt), and records any request that carries an ``Authorization`` header, which it
also refuses: image URLs are signed and a worker must never send its token with them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class ImageServer:
    """Where the server listens and what it saw."""

    port: int
    upstream: str = ""
    delay: float = 0.0
    served: int = 0
    with_credentials: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def image_server(*, delay: float = 0.0) -> Iterator[ImageServer]:
    """Run an image server on the port the system gives it; set ``upstream`` to the platform's
    URL before use."""
    state = ImageServer(port=0, delay=delay)
    upstream = httpx.Client(timeout=30)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if "authorization" in {k.lower() for k in self.headers}:
                with lock:
                    state.with_credentials.append(self.path)
                self._answer(403, b"credentials must not be sent to the image server")
                return
            time.sleep(state.delay)
            answer = upstream.get(state.upstream + self.path)
            with lock:
                state.served += 1
            self._answer(answer.status_code, answer.content, answer.headers.get("content-type"))

        def _answer(self, status: int, body: bytes, kind: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind or "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a worker killed mid-download drops its connection; that is the point

    server = Quiet(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        upstream.close()
