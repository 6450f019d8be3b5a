"""An HTTP folder of generated photos whose downloads take a while: runs last long enough to
be raced or interrupted."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from trapline.imaging.synthetic import light_trap_jpeg


@dataclass
class SlowSite:
    url: str
    photos: dict[str, bytes]
    served: list[str] = field(default_factory=list)


@contextmanager
def slow_site(count: int, *, taking: Callable[[], object] | None = None) -> Iterator[SlowSite]:
    """``count`` photos listed at the root; each download calls ``taking`` first (a test moves
    its fake clock there, a download that takes time without the test waiting for it, or holds
    the download on an event)."""
    photos = {
        f"2024062122{n // 60:02d}{n % 60:02d}.jpg": light_trap_jpeg(n, width=96, height=64)
        for n in range(count)
    }
    lock = threading.Lock()
    site = SlowSite("", photos)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            if not name:
                body = "".join(
                    f'<a href="{n}">{n}</a> 21-Jun-2024 22:00 {len(d)}\n' for n, d in photos.items()
                ).encode()
            elif name in photos:
                if taking is not None:
                    taking()
                body = photos[name]
                with lock:
                    site.served.append(name)
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client killed mid-download (the replica SIGKILLed) is expected here

    server = Server(("127.0.0.1", 0), Handler)
    site.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
