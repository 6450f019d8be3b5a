"""A fake push-mode processing service on a loopback port, for tests of the platform side.

It describes a pipeline on ``/info``, answers ``/readyz`` as told, and answers ``/process``
with a function of the request (by default one detection per image); or redirects every
request elsewhere. It records every request and the most ``/process`` calls it had in progress
at once. ``listener`` is a loopback port that only counts the connections made to it, to show
that the platform did not call an address.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.pipelines import QuarterPipeline

#: A box inside every test image.
BOX = {"x1": 1.0, "y1": 2.0, "x2": 20.0, "y2": 30.0}

Answer = tuple[int, Any]


@dataclass
class Call:
    """One request the fake service received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


def found_one_moth(request: dict[str, Any], slug: str = "quarter") -> Answer:
    """The default ``/process`` answer: one classified moth in every image asked for."""
    detections = [
        {
            "source_image_id": image["id"],
            "bbox": BOX,
            "algorithm": {"name": "Quarter finder", "key": f"{slug}-det"},
            "timestamp": "2024-06-21T22:00:00",
            "classifications": [
                {
                    "classification": "moth",
                    "labels": ["moth", "not a moth"],
                    "scores": [0.9, 0.1],
                    "algorithm": {"name": "Always moth", "key": f"{slug}-cls"},
                    "terminal": True,
                    "timestamp": "2024-06-21T22:00:00",
                }
            ],
        }
        for image in request["source_images"]
    ]
    return 200, {
        "pipeline": request["pipeline"],
        "total_time": 0.5,
        "source_images": [{"id": i["id"], "url": i["url"]} for i in request["source_images"]],
        "detections": detections,
    }


@dataclass
class FakeService:
    """What the fake service answers, and what it saw."""

    slug: str = "quarter"
    name: str = "Fake moth service"
    ready: bool = True
    #: Answers ``/process``; replace it to script failures.
    process: Callable[[dict[str, Any]], Answer] = found_one_moth
    #: Seconds each ``/process`` call takes.
    pause: float = 0.0
    #: Answers ``/info`` instead of the description, when set.
    info_answer: Answer | None = None
    #: Seconds between the bytes of the ``/info`` answer, sent one at a time, when set.
    info_trickle: float | None = None
    #: Content-Length declared for the ``/info`` answer instead of its own, when set.
    info_length: int | None = None
    #: Answers ``/readyz`` instead of the status ``ready`` says, when set.
    ready_answer: Answer | None = None
    #: Every request is answered 307 to this URL, when set.
    redirect_to: str | None = None
    calls: list[Call] = field(default_factory=list)
    most_at_once: int = 0
    url: str = ""
    _running: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def info(self) -> Answer:
        if self.info_answer is not None:
            return self.info_answer
        config = QuarterPipeline(self.slug).config.model_dump(mode="json")
        return 200, {"name": self.name, "description": "fake", "pipelines": [config]}

    def processed(self) -> list[list[str]]:
        """The image ids of every ``/process`` call, in order."""
        return [
            [i["id"] for i in c.body["source_images"]] for c in self.calls if c.path == "/process"
        ]

    def paths(self) -> list[str]:
        return [c.path for c in self.calls]

    def answer(self, call: Call) -> Answer:
        with self._lock:
            self.calls.append(call)
        if call.path == "/info":
            return self.info()
        if call.path == "/readyz":
            if self.ready_answer is not None:
                return self.ready_answer
            return (200, {"status": [self.slug]}) if self.ready else (503, {"status": []})
        if call.path == "/process":
            with self._lock:
                self._running += 1
                self.most_at_once = max(self.most_at_once, self._running)
            try:
                time.sleep(self.pause)
                return self.process(call.body)
            finally:
                with self._lock:
                    self._running -= 1
        return 404, {"detail": "no such endpoint"}


@contextmanager
def fake_service(service: FakeService | None = None) -> Iterator[FakeService]:
    """Serve ``service`` on a free loopback port (``service.url``) for the block."""
    fake = service or FakeService()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            path = self.path.split("?")[0].rstrip("/")
            status, answer = fake.answer(Call(self.command, path, dict(self.headers), body))
            if fake.redirect_to is not None:
                status, answer = 307, b""
            data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(status)
            if fake.redirect_to is not None:
                self.send_header("Location", fake.redirect_to + self.path)
            info = path == "/info"
            length = fake.info_length if info and fake.info_length is not None else len(data)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if not (info and fake.info_trickle):
                self.wfile.write(data)
                return
            try:
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(fake.info_trickle)
            except OSError:
                pass  # the platform gave up and closed the connection

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Listener:
    """A loopback TCP port that nothing should connect to; it tells whether anything did."""

    url: str
    _socket: socket.socket

    def connections(self) -> int:
        """Connections made so far (each is accepted and closed)."""
        made = 0
        while True:
            try:
                peer, _ = self._socket.accept()
            except BlockingIOError:
                return made
            peer.close()
            made += 1


@contextmanager
def listener(host: str = "127.0.0.1") -> Iterator[Listener]:
    """Listen on a free port of ``host`` (a loopback address) for the block, answering nothing.

    A connection completes in the kernel before ``connect`` returns, so once a call is over,
    ``connections()`` counts it without waiting.
    """
    with socket.socket() as sock:
        sock.bind((host, 0))
        sock.listen(16)
        sock.setblocking(False)
        yield Listener(f"http://{host}:{sock.getsockname()[1]}", sock)
