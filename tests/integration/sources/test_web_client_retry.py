"""A source server that closes a connection before answering (most often a kept-alive one it
had just let go, as busy servers do) is asked once more on a new connection; twice in a row,
or after it answered, is an error (``sources/web.py``). A real socket server on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from trapline.outbound import OutboundPolicy
from trapline.settings import parse_network
from trapline.sources.base import SourceError
from trapline.sources.web import WebClient

BODY = b"photo"


@contextmanager
def _server(dropped: int) -> Iterator[tuple[str, list[int]]]:
    """A server that closes its first ``dropped`` connections once it has read a request, and
    answers the rest; its URL and how many connections it took."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    taken: list[int] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                taken.append(1)
                connection.recv(65536)
                if len(taken) <= dropped:
                    continue  # closed without a word
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                    % (len(BODY), BODY)
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/a.jpg", taken
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept
        listener.close()
        thread.join(timeout=10)


def _client() -> WebClient:
    return WebClient(OutboundPolicy(allow_networks=(parse_network("127.0.0.1/32"),)), timeout=10.0)


def test_a_connection_closed_before_an_answer_is_asked_again_once() -> None:
    with _server(dropped=1) as (url, taken):
        client = _client()
        try:
            body, _ = client.read(url, max_bytes=1000)
        finally:
            client.close()
    assert body == BODY
    assert len(taken) == 2


def test_closed_twice_is_an_error_naming_the_source() -> None:
    with _server(dropped=2) as (url, taken):
        client = _client()
        try:
            with pytest.raises(SourceError, match=r"127\.0\.0\.1"):
                client.read(url, max_bytes=1000)
        finally:
            client.close()
    assert len(taken) == 2
