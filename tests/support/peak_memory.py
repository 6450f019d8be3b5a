"""A process's peak memory around one step, from the kernel's high-water mark (``VmHWM``).

Bodies that cost the most memory per byte once parsed, for the tests that post them at their
caps. A remote answer is read by a child process (``python -m tests.support.peak_memory``)
that measures only itself, so the test process's own memory does not blur the figure.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Most MB one body at its caps may raise a process's peak RSS by (issue 32, item 3).
MAX_RISE_MB = 100.0


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@contextmanager
def peak_rise(pid: int) -> Iterator[list[float]]:
    """Yields a list that holds, afterwards, how many MB the peak RSS of ``pid`` rose."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the high-water mark starts again here
    before = _status_kb(pid, "VmRSS")
    rise: list[float] = []
    yield rise
    rise.append((_status_kb(pid, "VmHWM") - before) * 1024 / 1e6)


def costly_json(size: int, values: int, long_size: int = 2500) -> bytes:
    """A JSON array of ~``size`` bytes holding ~``values`` values: as many distinct short
    strings (~110 bytes of memory each once parsed) as the budget leaves beside long strings
    (of ``long_size`` characters) that fill the bytes."""
    long = b'"' + b"x" * long_size + b'"'
    longs = size // (len(long) + 1)
    # Each short string takes 10 bytes with its comma: never more than the bytes hold.
    shorts = max(min(values - longs - 1_000, size // 10 - 1), 0)
    short = b",".join(b'"%07x"' % n for n in range(shorts))
    longs = max((size - len(short)) // (len(long) + 1) - 1, 0)
    return b"[" + short + (b"," if short and longs else b"") + b",".join([long] * longs) + b"]"


def small_objects(count: int) -> bytes:
    """A JSON array of ``count`` objects ``{"a":1}`` (two values each by ``json_values``)."""
    return b"[" + b",".join([b'{"a":1}'] * count) + b"]"


def in_parts(
    total: int, values: int, containers: int, part: bytes, wrap: Callable[[list[bytes]], bytes]
) -> bytes:
    """``wrap`` of as many copies of ``part`` as keep the whole within ``total`` bytes and its
    budget of ``values`` and ``containers``: a body at its caps made of parts at theirs."""
    from trapline.protocol.base import json_containers, json_values

    count = min(
        (total - len(wrap([]))) // (len(part) + 1),
        (values - 1_000) // (json_values(part) + 1),
        (containers - 1_000) // max(json_containers(part), 1),
    )
    return wrap([part] * max(count, 1))


def floats(count: int) -> bytes:
    """A JSON array of ``count`` small floats (~80 bytes of memory each once parsed)."""
    return b"[" + b"0.1," * (count - 1) + b"0.1]"


class _Answer(http.server.BaseHTTPRequestHandler):
    body = b""
    content_type = "application/json"

    def _send(self) -> None:
        # Read the request's body first: a socket closed with it unread is reset, and the reset
        # can reach the reader before the answer's end does.
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(self.body)

    do_GET = do_POST = do_HEAD = _send

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def answering(body: bytes, content_type: str) -> Iterator[str]:
    """A loopback HTTP server answering every request with ``body``; yields its URL."""
    handler = type("Handler", (_Answer,), {"body": body, "content_type": content_type})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def read_remote(kind: str, url: str) -> str:
    """Read one answer as the platform does: what it said ("ok", or the error's text)."""
    from trapline.outbound import OutboundPolicy
    from trapline.settings.base import parse_network

    policy = OutboundPolicy(allow_networks=(parse_network("127.0.0.0/8"),))
    try:
        if kind == "process":
            from trapline.protocol.service import PipelineRequest
            from trapline.services.pipelines.service_client import ServiceClient

            client = ServiceClient(process_timeout=60, policy=policy)
            client.process(url, PipelineRequest(pipeline="p", source_images=[]), trusted=True)
            return "ok"
        from trapline.sources.base import GatewayConfig
        from trapline.sources.http_directory import HttpDirectoryGateway
        from trapline.sources.s3 import S3Gateway

        if kind == "listing":
            gateway = HttpDirectoryGateway(GatewayConfig(url=url, policy=policy))
        else:
            gateway = S3Gateway(GatewayConfig(url="s3://b/", endpoint_url=url, policy=policy))
        for _ in gateway.entries():
            pass
        return "ok"
    except Exception as exc:  # the test asserts on what the reader said
        return f"{type(exc).__name__}: {exc}"


def measure_reading(kind: str, body: bytes, content_type: str) -> tuple[str, float]:
    """In a child process: serve ``body``, read it as ``kind``; (outcome, peak rise in MB)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.peak_memory", kind, content_type],
        input=body,
        capture_output=True,
        cwd=REPO_ROOT,
        check=True,
        timeout=60,
    )
    got = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return str(got["outcome"]), float(got["rise"])


def _child(kind: str, content_type: str) -> None:
    body = sys.stdin.buffer.read()
    # What a server has loaded long before: the rise measured is reading, not importing.
    import trapline.services.pipelines.service_client
    import trapline.sources.http_directory
    import trapline.sources.s3  # noqa: F401

    with answering(body, content_type) as url:
        del body
        with peak_rise(os.getpid()) as rise:
            outcome = read_remote(kind, url)
    print(json.dumps({"outcome": outcome, "rise": rise[0]}))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
