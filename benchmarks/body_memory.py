"""Body memory: how far a server's (or a gateway's) peak RSS rises reading one body at its cap.

Each route kind gets bodies as large as its byte cap allows, made of the shapes that cost the
most memory per byte once parsed: many small floats (``0.1,``), many distinct short strings,
long strings, and small objects. Server kinds (results, registration, a plain JSON route, the
MegaDetector import, and taxa files from ``taxa_shapes.py``) are posted to a real ``trapline
serve``; remote answers (a JSON listing page, an S3 listing page, a push service's ``/process``
answer) are served by a loopback HTTP server to the real gateway or service client, run in a
child process. The peak is the kernel's high-water mark (``VmHWM``), reset before each body,
so no sampling can miss it. Run ``python benchmarks/body_memory.py --help``.
"""

from __future__ import annotations

import argparse
import http.server
import io
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from body_shapes import CLASSES, adc_post, filler, halves, in_parts, part_filler
from common import Server, print_table, running_server
from taxa_shapes import taxa_files

_MB = 1_000_000
#: Target (issue 32): the peak rises at most this many MB for a body at its cap.
TARGET_MB = 100.0
#: Target (issue 51): the peak rises at most this many MB importing a taxa file at its caps.
TAXA_TARGET_MB = 150.0


def peak_kb(pid: int) -> int:
    """The process's peak RSS since the last reset, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc status")


def current_kb(pid: int) -> int:
    """The process's RSS now, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc status")


def reset_peak(pid: int) -> None:
    """Start the high-water mark again from the current RSS."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


SHAPES = ("floats", "strings", "long strings", "objects")


def _results_body(fill: bytes) -> bytes:
    item = b'{"reply_subject":"x","result":{"pipeline":"p","detections":[],"junk":%s}}' % fill
    return b'{"results":[%s]}' % item


def _registration_body(fill: bytes) -> bytes:
    return b'{"processing_service_name":"x","pipelines":[],"junk":%s}' % fill


def _plain_body(fill: bytes) -> bytes:
    return b'{"name":"x","junk":%s}' % fill


def _md_file(fill: bytes) -> bytes:
    return b'{"detection_categories":{"1":"animal"},"images":[],"junk":%s}' % fill


#: Server route kinds: (name, cap in bytes, body maker, how to post).
ServerKind = tuple[str, int, Callable[[bytes], bytes], str]


def server_kinds() -> list[ServerKind]:
    """The kinds of JSON a server reads, each with its current cap."""
    from trapline.exports.megadetector_import import MAX_IMPORT_BYTES
    from trapline.http.limits import JSON_BODY_BYTES, REGISTRATION_BODY_BYTES, RESULTS_BODY_BYTES

    return [
        ("results post", RESULTS_BODY_BYTES, _results_body, "results"),
        ("registration", REGISTRATION_BODY_BYTES, _registration_body, "registration"),
        ("plain JSON route", JSON_BODY_BYTES, _plain_body, "plain"),
        ("MegaDetector import", MAX_IMPORT_BYTES, _md_file, "import"),
    ]


def _values_budget(how: str) -> int:
    from trapline.exports.megadetector_import import MAX_IMPORT_VALUES
    from trapline.http.limits import JSON_BUDGET, REGISTRATION_BUDGET, RESULTS_BUDGET

    budgets = {"results": RESULTS_BUDGET, "registration": REGISTRATION_BUDGET}
    if how == "import":
        return MAX_IMPORT_VALUES
    return budgets.get(how, JSON_BUDGET).values


def _setup(server: Server) -> dict[str, str]:
    """A project with a pipeline and a job; the URL each kind posts to."""
    with server.client() as client:
        project = client.post("/api/v2/projects/", json={"name": "body memory"}).json()["id"]
        pipeline = {
            "name": "p",
            "slug": "p",
            "version": 1,
            "algorithms": [
                {"name": "d", "key": "d", "task_type": "detection", "version": 1},
                {
                    "name": "c",
                    "key": "c",
                    "task_type": "classification",
                    "version": 1,
                    "category_map": {"labels": CLASSES, "data": []},
                },
            ],
        }
        client.post(
            f"/api/v2/projects/{project}/pipelines/",
            json={"processing_service_name": "bench", "pipelines": [pipeline]},
        ).raise_for_status()
        png = io.BytesIO()
        from PIL import Image

        Image.new("RGB", (64, 48)).save(png, "PNG")
        client.post(
            f"/api/v2/projects/{project}/images/",
            files=[("files", ("a.png", png.getvalue(), "image/png"))],
        ).raise_for_status()
        job = client.post("/api/v2/jobs/", json={"project_id": project, "pipeline": "p"})
        job.raise_for_status()
        job_id = job.json()["id"]
        tasks: list[dict[str, str]] = []
        while not tasks:  # the job starts running in the background
            claimed = client.post(f"/api/v2/jobs/{job_id}/tasks/", json={"batch_size": 1})
            tasks = claimed.json()["tasks"]
    return {
        "results": f"/api/v2/jobs/{job_id}/result/",
        "lease": tasks[0]["reply_subject"],
        "image": tasks[0]["image_id"],
        "registration": f"/api/v2/projects/{project}/pipelines/",
        "plain": "/api/v2/projects/",
        "import": f"/api/v2/projects/{project}/imports/megadetector",
    }


def _bodies(
    how: str, cap: int, make: Callable[[bytes], bytes], urls: dict[str, str]
) -> Iterator[tuple[str, bytes]]:
    """(shape, body) pairs of one kind at its caps."""
    if how != "results":
        for shape in (*SHAPES, f"mixed:{_values_budget(how)}"):
            yield shape, make(filler(shape, cap - len(make(b"[]")) - 16))
        return
    # Read part by part: a body at its caps is made of parts at theirs, each typed into
    # Python (a result's free-form ``errors``), all naming the one lease so each is judged.
    item = b'{"reply_subject":"%s","result":{"pipeline":"p","detections":[],"errors":[%%s]}}' % (
        urls["lease"].encode()
    )
    for shape in (*SHAPES, "mixed"):
        part = item % part_filler(shape)
        yield shape, in_parts(cap, part, lambda items: b'{"results":[%s]}' % b",".join(items))
    adc = adc_post(urls["lease"], 25 * 1024 * 1024).replace(
        b'"IMAGE"', b'"%s"' % urls["image"].encode()
    )
    yield "ADC 25 MiB", adc


def measure_server(backend: str, shapes: tuple[str, ...]) -> list[list[object]]:
    """Rows of (kind, shape, cap, body size, status, peak rise) for every server kind."""
    rows: list[list[object]] = []
    with running_server(backend) as server:
        urls = _setup(server)
        with server.client(timeout=600) as client:
            for name, cap, make, how in server_kinds():
                for shape, body in _bodies(how, cap, make, urls):
                    reset_peak(server.pid)
                    before = current_kb(server.pid)
                    if how == "import":
                        files = [("file", ("md.json", body, "application/json"))]
                        answer = client.post(urls[how], files=files)
                    else:
                        headers = {"content-type": "application/json"}
                        answer = client.post(urls[how], content=body, headers=headers)
                    rise = (peak_kb(server.pid) - before) * 1024 / _MB
                    rows.append(
                        [name, shape, cap / 2**20, len(body) / 2**20, answer.status_code, rise]
                    )
                    print(
                        f"  {name}, {shape}: {answer.status_code}, +{rise:.0f} MB", file=sys.stderr
                    )
                    del body
    return rows


def measure_taxa(
    backend: str, statement_timeout: str | None = None, shapes: list[str] | None = None
) -> list[list[object]]:
    """Rows of (shape, file size, answer, peak rise) importing each taxa file (of ``shapes``,
    else every one) into a project of its own on a server of its own: what one file costs a
    fresh server, whatever came before. ``statement_timeout``: the servers' request time
    limit, in seconds (0: none)."""
    rows: list[list[object]] = []
    settings = {"DATABASE_STATEMENT_TIMEOUT": statement_timeout} if statement_timeout else None
    for shape, filename, body in taxa_files(shapes):
        with (
            running_server(backend, settings=settings) as server,
            server.client(timeout=1800) as client,
        ):
            made = client.post("/api/v2/projects/", json={"name": "taxa"})
            url = f"/api/v2/projects/{made.json()['id']}/taxa"
            reset_peak(server.pid)
            before = current_kb(server.pid)
            answer = client.post(url, files=[("file", (filename, body, "text/csv"))])
            rise = (peak_kb(server.pid) - before) * 1024 / _MB
        added = answer.json().get("added")
        outcome = f"{answer.status_code}" + (f", {added:,} added" if added is not None else "")
        rows.append(["taxa import", shape, len(body) / 2**20, outcome, rise])
        print(f"  taxa import, {shape}: {outcome}, +{rise:.0f} MB", file=sys.stderr)
        del body
    return rows


# Remote answers, read by a child process that measures itself.


class _Answer(http.server.BaseHTTPRequestHandler):
    body = b""
    content_type = "application/json"

    def _send(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = _send
    do_POST = _send
    do_HEAD = _send

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


def remote_body(kind: str, shape: str, cap: int) -> tuple[bytes, str]:
    """A remote answer of ``kind`` at ``cap`` bytes, made of ``shape``."""
    if kind == "json listing":
        from trapline.sources.http_directory import MAX_PAGE_VALUES

        unit = b'{"name":"f%07d","type":"file","size":1},'
        count = min((cap - 64) // len(unit % 0), MAX_PAGE_VALUES // 4 - 10)
        return b"[" + b"".join(
            unit % n for n in range(count)
        ) + b'{"name":"z"}]', "application/json"
    if kind == "s3 listing":
        head = b'<?xml version="1.0"?><ListBucketResult><IsTruncated>false</IsTruncated>'
        if shape == "long strings":
            unit = b"<Contents><Key>" + b"k" * 1000 + b"%07d</Key></Contents>"
        else:
            unit = b"<Contents><Key>k%07d</Key><Size>1</Size></Contents>"
        count = min((cap - 64) // len(unit % 0), 1000)
        return head + b"".join(
            unit % n for n in range(count)
        ) + b"</ListBucketResult>", "application/xml"
    if kind == "push /process answer":
        # Read part by part: detections at the part caps, their filler typed into Python where
        # a detection can hold it (labels: strings of at most 255 characters, 100,000 per
        # classification; scores: numbers); objects have no such place and stay unknown keys.
        fill = part_filler("long strings" if shape == "long strings" else shape)
        if shape == "mixed":
            from trapline.protocol.base import MAX_PART_BYTES, MAX_PART_VALUES

            fill = (
                b"["
                + b",".join(
                    b'"%07x"' % n
                    for n in range(MAX_PART_VALUES - 2_000 - (MAX_PART_BYTES // 2) // 253)
                )
                + b","
                + b",".join([b'"' + b"x" * 250 + b'"'] * ((MAX_PART_BYTES // 2) // 253))
                + b"]"
            )
        algorithm = b'{"name":"d","key":"d"}'
        field = {"floats": b"scores", "objects": b"junk"}.get(shape, b"labels")
        pieces = halves(fill) if field != b"junk" else [fill]
        classifications = b",".join(
            b'{"classification":"x","algorithm":%s,"%s":%s}' % (algorithm, field, half)
            for half in pieces
        )
        part = b'{"source_image_id":"1","algorithm":%s,"classifications":[%s]}' % (
            algorithm,
            classifications,
        )
        wrap: Callable[[list[bytes]], bytes] = lambda parts: (  # noqa: E731
            b'{"pipeline":"p","detections":[%s]}' % b",".join(parts)
        )
        return in_parts(cap, part, wrap), "application/json"
    raise ValueError(kind)


def remote_caps() -> dict[str, int]:
    """Each remote answer's current cap."""
    from trapline.services.pipelines.service_client import MAX_PROCESS_BYTES
    from trapline.sources import http_directory, s3

    return {
        "json listing": http_directory.MAX_PAGE_BYTES,
        "s3 listing": s3.MAX_PAGE_BYTES,
        "push /process answer": MAX_PROCESS_BYTES,
    }


def read_remote(kind: str, url: str) -> str:
    """Read one answer the way the platform does; what became of it, in a few words."""
    from trapline.outbound import OutboundPolicy
    from trapline.settings.base import parse_network

    policy = OutboundPolicy(allow_networks=(parse_network("127.0.0.0/8"),))
    try:
        if kind == "push /process answer":
            from trapline.protocol.service import PipelineRequest
            from trapline.services.pipelines.service_client import ServiceClient

            client = ServiceClient(process_timeout=60, policy=policy)
            client.process(url, PipelineRequest(pipeline="p", source_images=[]), trusted=True)
            return "read"
        from trapline.sources.base import GatewayConfig
        from trapline.sources.http_directory import HttpDirectoryGateway
        from trapline.sources.s3 import S3Gateway

        if kind == "json listing":
            gateway = HttpDirectoryGateway(GatewayConfig(url=url, policy=policy))
        else:
            gateway = S3Gateway(GatewayConfig(url="s3://b/", endpoint_url=url, policy=policy))
        count = sum(1 for _ in gateway.entries())
        return f"{count} entries"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc)[:80]}"


def child(kind: str, shape: str, cap: int) -> None:
    """In a child process: serve the answer, read it, print the peak rise as JSON."""
    body, content_type = remote_body(kind, shape, cap)
    # What a server has loaded long before: the rise measured is reading, not importing.
    import trapline.services.pipelines.service_client
    import trapline.sources.http_directory
    import trapline.sources.s3  # noqa: F401

    with answering(body, content_type) as url:
        import os

        pid = os.getpid()
        reset_peak(pid)
        before = current_kb(pid)
        outcome = read_remote(kind, url)
        rise = (peak_kb(pid) - before) * 1024 / _MB
    print(json.dumps({"outcome": outcome, "rise": rise, "size": len(body)}))


def measure_remote(shapes: tuple[str, ...]) -> list[list[object]]:
    """Rows for every remote answer kind, each read in its own child process."""
    rows: list[list[object]] = []
    for kind, cap in remote_caps().items():
        kind_shapes = (*shapes, "mixed")
        if kind == "s3 listing":
            kind_shapes = ("entries", "long strings")
        if kind == "json listing":
            kind_shapes = ("entries",)
        for shape in kind_shapes:
            done = subprocess.run(
                [sys.executable, __file__, "--child", kind, shape, str(cap)],
                capture_output=True,
                text=True,
                check=True,
            )
            got = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(
                [kind, shape, cap / 2**20, got["size"] / 2**20, got["outcome"], got["rise"]]
            )
            print(f"  {kind}, {shape}: {got['outcome']}, +{got['rise']:.0f} MB", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--part", choices=("server", "remote", "taxa", "all"), default="all")
    parser.add_argument(
        "--statement-timeout",
        metavar="SECONDS",
        help="the taxa servers' request time limit (TRAPLINE_DATABASE_STATEMENT_TIMEOUT; 0: "
        "none); default: the server's",
    )
    parser.add_argument(
        "--taxa-shape", action="append", help="only this taxa file shape (repeatable)"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, shape, cap = args.child
        child(kind, shape, int(cap))
        return
    rows: list[list[object]] = []
    if args.part in ("server", "all"):
        rows += measure_server(args.backend, SHAPES)
    if args.part in ("remote", "all"):
        rows += measure_remote(SHAPES)
    if rows:
        worst = max(float(str(r[-1])) for r in rows)
        verdict = "met" if worst <= TARGET_MB else "MISSED"
        print_table(
            f"body memory: peak RSS rise reading one body at its cap, {args.backend}"
            f" (target: <= {TARGET_MB:.0f} MB: {verdict})",
            ["kind", "shape", "cap MiB", "body MiB", "answer", "rise MB"],
            rows,
        )
    if args.part in ("taxa", "all"):
        taxa = measure_taxa(args.backend, args.statement_timeout, args.taxa_shape)
        worst = max(float(str(r[-1])) for r in taxa)
        verdict = "met" if worst <= TAXA_TARGET_MB else "MISSED"
        print_table(
            f"body memory: peak RSS rise importing one taxa file at its caps, {args.backend}"
            f" (target: <= {TAXA_TARGET_MB:.0f} MB: {verdict})",
            ["kind", "shape", "file MiB", "answer", "rise MB"],
            taxa,
        )


if __name__ == "__main__":
    main()
