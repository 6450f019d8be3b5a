"""The HTTP side of a processing service: routing, JSON bodies, limits and error answers.

Answers are JSON, errors ``{"detail", "code"}``; paths are served with or without a trailing
slash. The work itself is ``ProcessingService``'s.
"""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from trapline import __version__
from trapline.protocol import PipelineRequest

if TYPE_CHECKING:
    from trapline.worker.service import ProcessingService

log = logging.getLogger(__name__)

#: Largest request body accepted: a request is a list of URLs, not images.
MAX_BODY_BYTES = 16 * 1024 * 1024
#: Seconds an idle keep-alive connection is held open.
IDLE_TIMEOUT = 30.0
#: What the service answers.
ENDPOINTS = ("/info", "/livez", "/readyz", "/process")


class ServiceError(Exception):
    """A request the service answers with an error status and a JSON ``{detail, code}``."""

    def __init__(self, status: int, detail: str, code: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code


class ServiceServer(ThreadingHTTPServer):
    """The HTTP server, knowing its service; request threads never hold up the exit."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        service: ProcessingService,
    ) -> None:
        self.service = service
        super().__init__(address, handler)


class ServiceHandler(BaseHTTPRequestHandler):
    """Routes requests to the service and writes JSON answers."""

    protocol_version = "HTTP/1.1"
    server_version = f"trapline-service/{__version__}"
    timeout = IDLE_TIMEOUT
    server: ServiceServer

    def do_GET(self) -> None:
        path = self._path()
        service = self.server.service
        if path == "/info":
            self._send(200, service.info.model_dump(mode="json"))
        elif path == "/livez":
            self._send(200, {"status": True})
        elif path == "/readyz":
            self._send(*service.readiness())
        elif path == "/process":
            self._error(405, "use POST for /process", "method_not_allowed")
        elif path == "/":
            self._send(200, {"name": service.info.name, "endpoints": list(ENDPOINTS)})
        else:
            self._error(404, f"no such endpoint; this service has {', '.join(ENDPOINTS)}")

    def do_POST(self) -> None:
        if self._path() != "/process":
            if self._path() in ENDPOINTS:
                self._error(405, f"use GET for {self._path()}", "method_not_allowed")
            else:
                self._error(404, f"no such endpoint; this service has {', '.join(ENDPOINTS)}")
            self._discard_body()
            return
        service = self.server.service
        with service.handling():
            try:
                request = self._parse()
                answer = service.process(request)
            except ServiceError as exc:
                self._error(exc.status, exc.detail, exc.code)
                return
            except Exception as exc:
                log.exception("POST /process failed")
                self._error(500, f"internal error: {type(exc).__name__}: {exc}", "error")
                return
            self._send(200, answer.model_dump(mode="json"))

    def _parse(self) -> PipelineRequest:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            self.close_connection = True
            raise ServiceError(411, "send the body with a Content-Length", "length_required")
        length = self.headers.get("content-length", "")
        if not length.isdigit():
            self.close_connection = True
            raise ServiceError(411, "send the body with a Content-Length", "length_required")
        if int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            raise ServiceError(
                413, f"the body is {length} bytes; the limit is {MAX_BODY_BYTES}", "too_large"
            )
        body = self.rfile.read(int(length))
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ServiceError(400, f"the body is not valid JSON: {exc}", "invalid") from exc
        try:
            return PipelineRequest.model_validate(data)
        except ValidationError as exc:
            raise ServiceError(400, _describe_errors(exc), "invalid") from exc

    def _discard_body(self) -> None:
        length = self.headers.get("content-length", "")
        if length.isdigit() and int(length) <= MAX_BODY_BYTES:
            self.rfile.read(int(length))
        else:
            self.close_connection = True

    def _path(self) -> str:
        path = self.path.split("?", 1)[0]
        return path.rstrip("/") or "/"

    def _error(self, status: int, detail: str, code: str = "not_found") -> None:
        self._send(status, {"detail": detail, "code": code})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _describe_errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        if error.get("type") == "missing":
            parts.append(f"{where} is required")
        else:
            parts.append(f"{where}: {error.get('msg')}")
    return "the body is not a pipeline request: " + "; ".join(parts)
