"""The integration guide's client retries a call whose answer it lost, re-sending the identical
signed request: through a real server and a gateway that loses each first answer, the repeat
gets the first answer and nothing is done twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests
import uvicorn
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tests.support.accounts import Account
from tests.support.callbacks import SECRET, box, png
from trapline.app import create_app
from trapline.platform import Platform

#: Headers the gateway passes on (the rest belong to one hop).
_PASSED = ("content-type", "authorization", "x-ml-timestamp", "x-ml-signature", "x-ml-key-id")


def ml_headers(secret: str, body: bytes) -> dict[str, str]:
    """The guide's header function."""
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-ML-Timestamp": timestamp,
        "X-ML-Signature": "sha256=" + digest.hexdigest(),
    }


def retrying_session() -> requests.Session:
    """A session as the guide's client makes it: a gateway's 502/503/504 is retried, for
    every method, by sending the same request again."""
    retry = Retry(
        total=3,
        backoff_factor=0,
        status_forcelist=(502, 503, 504),
        allowed_methods=None,
        raise_on_status=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


@pytest.fixture
def live_url(platform: Platform) -> Iterator[str]:
    """A real uvicorn server on loopback, in a thread, over the test's database."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # connections queue from now on: no need to wait for the server
    server = uvicorn.Server(uvicorn.Config(create_app(platform), log_config=None))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        listener.close()


class LossyGateway:
    """A gateway on loopback that passes each request to the server and, the first time it
    sees a method and path, loses the server's answer and says 504, as a proxy whose read
    timeout ran out does. ``answers`` lists what the server answered, in order."""

    def __init__(self, upstream: str) -> None:
        self.answers: list[tuple[str, int, bytes]] = []
        seen: set[tuple[str, str]] = set()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() in _PASSED}
                answer = requests.request(
                    self.command, upstream + self.path, data=body, headers=headers, timeout=60
                )
                gateway.answers.append((self.path, answer.status_code, answer.content))
                status, content = answer.status_code, answer.content
                kind = answer.headers.get("content-type", "application/json")
                if (self.command, self.path) not in seen:
                    seen.add((self.command, self.path))
                    status, content = 504, b'{"detail": "the upstream server timed out"}'
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_POST = do_PATCH = _forward

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_guides_retrying_client_gets_each_first_answer_and_nothing_twice(
    live_url: str, owner: Account, image_id: int, platform: Platform
) -> None:
    auth = {"Authorization": f"Token {owner.token}"}
    created = requests.post(
        f"{live_url}/api/images/{image_id}/analyses",
        json={"image_id": image_id, "model_name": "guide-model", "model_version": "0.1"},
        headers=auth,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    aid = created.json()["id"]
    gateway = LossyGateway(live_url)
    session = retrying_session()

    def signed(method: str, path: str, payload: object) -> requests.Response:
        body = json.dumps(payload).encode()
        url = f"{gateway.url}/api/analyses/{aid}/{path}"
        return session.request(method, url, data=body, headers=ml_headers(SECRET, body))

    try:
        moved = signed("PATCH", "status", {"status": "processing"})
        link = signed(
            "POST", "artifacts/presign", {"artifact_type": "heatmap", "filename": "h.png"}
        )
        assert link.status_code == 200, link.text
        # The link names the server's configured public address; this one listens elsewhere.
        upload = urlsplit(link.json()["upload_url"])
        put = requests.put(f"{live_url}{upload.path}?{upload.query}", data=png(), timeout=30,
                           headers={"Content-Type": "image/png"})  # fmt: skip
        assert put.status_code == 201, put.text
        items = [box(), box(2, 2, 30, 30),
                 {"annotation_type": "heatmap", "storage_path": link.json()["storage_path"],
                  "data": {"width": 32, "height": 24, "color_map": "gray"}}]  # fmt: skip
        stored = signed("POST", "annotations:bulk", {"annotations": items, "mode": "replace"})
        done = signed("POST", "finalize", {"status": "completed"})
    finally:
        session.close()
        gateway.close()
    for answer in (moved, link, stored, done):
        assert answer.status_code == 200, answer.text
    assert stored.json()["total"] == 3
    assert done.json()["status"] == "completed"
    # The server answered each call twice, the second time with the very first answer.
    assert len(gateway.answers) == 8
    for first, repeat in zip(gateway.answers[::2], gateway.answers[1::2], strict=True):
        assert first == repeat
    with platform.db.read() as repos:
        assert len(repos.callbacks.callbacks.artifacts(aid)) == 1
        assert repos.processing.analyses.count_annotations(aid) == 3
