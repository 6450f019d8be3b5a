"""The HTTP side of a processing service: the server, routing, JSON bodies, limits, statuses.

Only the standard library's ``ThreadingHTTPServer`` serves it, so a worker needs no web stack.
Answers are JSON, errors ``{"detail", "code"}``; paths are served with or without a trailing
slash. The work itself is ``ProcessingService``'s; this module alone knows HTTP.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

from pydantic import ValidationError

from trapline import __version__
from trapline.errors import TraplineError
from trapline.pipelines.base import Pipeline
from trapline.protocol.service import PipelineRequest
from trapline.settings import Settings
from trapline.worker.service import (
    NotReady,
    PipelineFailed,
    ProcessingError,
    ProcessingService,
    UnknownPipeline,
)

log = logging.getLogger(__name__)

#: Largest request body accepted: a request is a list of URLs (and boxes to classify), not images.
MAX_BODY_BYTES = 16 * 1024 * 1024
#: Seconds an idle keep-alive connection is held open.
IDLE_TIMEOUT = 30.0
#: What the service answers.
ENDPOINTS = ("/info", "/livez", "/readyz", "/process")
#: Seconds between the server's checks for a stop request.
POLL_INTERVAL = 0.1
#: The status each of the service's errors is answered with.
STATUSES: dict[type[ProcessingError], int] = {
    UnknownPipeline: 400,
    NotReady: 503,
    PipelineFailed: 500,
}


class HttpError(Exception):
    """A request answered with an error status and a JSON ``{detail, code}``."""

    def __init__(self, status: int, detail: str, code: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code


class ServiceServer(ThreadingHTTPServer):
    """A processing service on an address; ``start`` it, then ``stop`` it. Request threads
    never hold up the exit."""

    daemon_threads = True

    def __init__(self, service: ProcessingService, host: str, port: int) -> None:
        """Bind the address (port 0: any free port).

        Raises:
            TraplineError: the address cannot be bound.
        """
        self.service = service
        self._serving = False
        try:
            super().__init__((host, port), ServiceHandler)
        except OSError as exc:
            raise TraplineError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc

    @property
    def port(self) -> int:
        """The port the service listens on (useful when bound to port 0)."""
        return int(self.server_address[1])

    def start(self) -> None:
        """Answer requests in the background and load the pipelines (``/readyz`` says when)."""
        self._serving = True
        threading.Thread(
            target=self.serve_forever, args=(POLL_INTERVAL,), name="service-http", daemon=True
        ).start()
        self.service.start()

    def stop(self, drain_timeout: float | None = None) -> None:
        """Stop taking requests, let those in progress finish (up to the drain timeout), close."""
        if self._serving:  # shutdown() waits for serve_forever, which must have started
            self.shutdown()
            self._serving = False
        self.server_close()
        self.service.close(drain_timeout)


def serve(pipelines: list[Pipeline], settings: Settings) -> None:
    """Serve ``pipelines`` on ``settings.http.host:settings.http.port`` until SIGTERM or SIGINT.

    Raises:
        TraplineError: when the port cannot be bound or a pipeline fails to load.
    """
    service = ProcessingService(pipelines, settings.worker)
    try:
        server = ServiceServer(service, settings.http.host, settings.http.port)
    except TraplineError:
        service.close(drain_timeout=0)
        raise
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        log.info(
            "processing service %r on http://%s:%d serving %s",
            service.info.name,
            settings.http.host,
            server.port,
            ", ".join(service.pipelines),
        )
        while not stop.wait(0.2) and service.load_error is None:
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if service.load_error is not None:
        raise TraplineError(service.load_error)
    log.info("processing service stopped")


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
            if (reason := service.not_ready_reason) is None:
                self._send(200, {"status": list(service.pipelines)})
            else:
                self._send(503, {"status": [], "detail": reason})
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
            except HttpError as exc:
                self._error(exc.status, exc.detail, exc.code)
                return
            except ProcessingError as exc:
                self._error(STATUSES.get(type(exc), 500), exc.detail, exc.code)
                return
            except Exception as exc:
                log.exception("POST /process failed")
                self._error(500, f"internal error: {type(exc).__name__}: {exc}", "error")
                return
            # Without ``algorithms``: /info describes them, and Antenna logs it as ignored.
            self._send(200, answer.model_dump(mode="json", exclude={"algorithms"}))

    def _parse(self) -> PipelineRequest:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            self.close_connection = True
            raise HttpError(411, "send the body with a Content-Length", "length_required")
        length = self.headers.get("content-length", "")
        if not length.isdigit():
            self.close_connection = True
            raise HttpError(411, "send the body with a Content-Length", "length_required")
        if int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            raise HttpError(
                413, f"the body is {length} bytes; the limit is {MAX_BODY_BYTES}", "too_large"
            )
        body = self.rfile.read(int(length))
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise HttpError(400, f"the body is not valid JSON: {exc}", "invalid") from exc
        try:
            return PipelineRequest.model_validate(data)
        except ValidationError as exc:
            raise HttpError(400, _describe_errors(exc), "invalid") from exc

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
