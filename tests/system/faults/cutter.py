"""An HTTP/1.1 proxy on loopback that loses answers: the server did the work, the client never
hears of it, as when a connection drops right after the server committed.

It forwards one request at a time per connection (what HTTP/1.1 clients without pipelining
send) and reads the server's whole answer before deciding: an answer to a request whose first
line matches ``pattern`` is dropped while ``cut_next`` lasts, and the client's connection is
reset. It reads the result posts going through it, so a test knows exactly which items lost
their answer and what the client was told about each item afterwards.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
from contextlib import suppress

from tests.support.workers import WorkLog

#: Most bytes of a request or answer head it reads.
MAX_HEAD = 64 * 1024


class ResponseCutter:
    """Forwards 127.0.0.1:<port> to the server at ``upstream_port``; drops chosen answers."""

    def __init__(
        self, upstream_port: int, pattern: bytes = rb"^POST /api/v2/jobs/\d+/result"
    ) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.pattern = re.compile(pattern)
        self._lock = threading.Lock()
        self._cuts = 0
        #: Answers dropped so far, with the request line each answered.
        self.dropped: list[str] = []
        #: reply_subjects of the result items whose answer was dropped.
        self.lost: set[str] = set()
        #: What clients were told about each result item, by reply_subject: [(task id, status)].
        self.told: dict[str, list[tuple[int, str]]] = {}
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut_next(self, count: int) -> None:
        """Drop the answers to the next ``count`` matching requests."""
        with self._lock:
            self._cuts = count

    def close(self) -> None:
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        server = None
        try:
            server = socket.create_connection(self.upstream, timeout=60)
            client_in, server_in = _Reader(client), _Reader(server)
            while True:
                request = client_in.message(request=True)
                if request is None:
                    return
                server.sendall(request)
                answer = server_in.message(request=False)
                if answer is None:
                    return
                line = request.split(b"\r\n", 1)[0].decode("latin-1")
                if self._take_cut(line, request):
                    # SO_LINGER 0: close with a reset, as a dropped connection looks.
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                self._note(line, answer)
                client.sendall(answer)
        except OSError:
            return
        finally:
            client.close()
            if server is not None:
                server.close()

    def _take_cut(self, request_line: str, request: bytes) -> bool:
        with self._lock:
            if self._cuts > 0 and self.pattern.search(request_line.encode("latin-1")):
                self._cuts -= 1
                self.dropped.append(request_line)
                results = json.loads(_body(request))["results"]
                self.lost.update(item["reply_subject"] for item in results)
                return True
        return False

    def _note(self, request_line: str, answer: bytes) -> None:
        if not self.pattern.search(request_line.encode("latin-1")):
            return
        if not answer.startswith(b"HTTP/1.1 200"):
            return
        with self._lock:
            for item in json.loads(_body(answer))["tasks"]:
                entry = (int(item["task_id"]), str(item["status"]))
                self.told.setdefault(item["reply_subject"], []).append(entry)

    def work_log(self) -> WorkLog:
        """What clients were told about each task, as the fault checker reads it."""
        log = WorkLog()
        with self._lock:
            for entries in self.told.values():
                for task_id, status in entries:
                    log.statuses.setdefault(task_id, []).append(status)
        return log

    def answered_after_loss(self) -> dict[str, list[str]]:
        """For each item whose answer was dropped, what its later posts were told."""
        with self._lock:
            return {s: [status for _, status in self.told.get(s, [])] for s in self.lost}


def _body(message: bytes) -> bytes:
    return message.partition(b"\r\n\r\n")[2]


class _Reader:
    """Reads whole HTTP/1.1 messages (Content-Length bodies) from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def message(self, *, request: bool) -> bytes | None:
        """The next message, head and body; None when the peer closed between messages."""
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD or not self._fill():
                return None
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"transfer-encoding":
                raise OSError("chunked bodies are not supported by this test proxy")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if not request and head.split(b" ", 2)[1:2] in ([b"204"], [b"304"]):
            length = 0
        while len(rest) < length:
            if not self._fill():
                return None
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]
        return head + b"\r\n\r\n" + rest[:length]

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)
