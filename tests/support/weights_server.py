"""A loopback HTTP server of weights files, counting the requests for each path."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class WeightsServer:
    """The files served by path, the paths asked for, and the server's base URL."""

    files: dict[str, bytes]
    requests: list[str] = field(default_factory=list)
    url: str = ""


@contextmanager
def weights_server(files: dict[str, bytes]) -> Iterator[WeightsServer]:
    """Serve ``files`` (path to body) on loopback until the block ends; other paths are 404."""
    state = WeightsServer(files=files)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
