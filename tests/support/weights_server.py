"""A loopback HTTP server of weights files, counting the requests for each path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.support.source_servers import http_serving


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

    with http_serving(Handler) as url:
        state.url = url.rstrip("/")
        yield state
