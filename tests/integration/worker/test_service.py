"""``trapline worker serve``: the pipelines as a synchronous processing service (push mode)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.onnx_models import moth_chain
from tests.support.pipelines import LABELS, QuarterPipeline
from tests.support.scripted import Script, scripted_server
from tests.support.waiting import wait_process_ready, wait_until
from trapline.errors import TraplineError
from trapline.imaging.synthetic import light_trap_jpeg
from trapline.pipelines.base import Pipeline
from trapline.pipelines.onnx_pipeline import OnnxPipeline
from trapline.pipelines.spec import PipelineSpec
from trapline.protocol.service import (
    PipelineRequest,
    ProcessingServiceInfoResponse,
    ProcessResponse,
)
from trapline.settings import Settings
from trapline.worker.service import NotReady, ProcessingService, UnknownPipeline
from trapline.worker.service_http import MAX_BODY_BYTES, ServiceServer, serve

REPO_ROOT = Path(__file__).resolve().parents[3]
#: Sizes of the images the image server holds, by path.
SIZES = {"/a.jpg": (64, 48), "/b.jpg": (80, 60), "/c.jpg": (32, 40)}


def _settings(**extra: object) -> Settings:
    values: dict[str, object] = {"host": "127.0.0.1", "port": 0, "download_threads": 4}
    return Settings(**{**values, **extra}, _env_file=None)  # type: ignore[arg-type]


@contextmanager
def running(*pipelines: Pipeline, **settings: object) -> Iterator[httpx.Client]:
    """A started service over ``pipelines``; yields a client for it."""
    server = ServiceServer(
        ProcessingService(list(pipelines), _settings(**settings).worker), "127.0.0.1", 0
    )
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
            yield client
    finally:
        server.stop(drain_timeout=5)


def wait_ready(client: httpx.Client) -> None:
    wait_until(
        lambda: client.get("/readyz").status_code == 200, timeout=20, what="the service's readiness"
    )


@pytest.fixture
def images() -> Iterator[tuple[str, Script]]:
    """A loopback server holding three JPEGs, a missing one and a file that is no image."""
    script = Script()
    for n, (path, (width, height)) in enumerate(SIZES.items()):
        data = light_trap_jpeg(n, width=width, height=height)
        script.add(path, 200, data, {"Content-Type": "image/jpeg"})
    script.add("/text.jpg", 200, b"this is not an image", {"Content-Type": "image/jpeg"})
    with scripted_server(script) as url:
        yield url, script


@pytest.fixture
def quarter() -> Iterator[tuple[QuarterPipeline, httpx.Client]]:
    pipeline = QuarterPipeline()
    with running(pipeline) as client:
        wait_ready(client)
        yield pipeline, client


def _request(base: str, *paths: str, pipeline: str = "quarter") -> dict[str, object]:
    return {
        "pipeline": pipeline,
        "source_images": [{"id": f"img-{p.strip('/')}", "url": base + p} for p in paths],
        "config": {},
    }


def test_info_describes_the_service_as_antenna_reads_it(quarter) -> None:
    pipeline, client = quarter

    answer = client.get("/info")

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"name", "description", "pipelines", "algorithms"}
    info = ProcessingServiceInfoResponse.model_validate(body)
    assert info.pipelines == [pipeline.config]
    assert {a.key for a in info.algorithms} == {"quarter-det", "quarter-cls"}
    (classifier,) = [a for a in info.algorithms if a.key == "quarter-cls"]
    assert classifier.category_map is not None
    assert classifier.category_map.labels == LABELS
    assert classifier.category_map.data == [{"index": i, "label": x} for i, x in enumerate(LABELS)]
    assert client.get("/info/").json() == body  # with or without the trailing slash


def test_readyz_waits_for_the_pipelines_to_load_while_livez_answers_at_once() -> None:
    gate = threading.Event()
    pipeline = QuarterPipeline(load_gate=gate)
    with running(pipeline) as client:
        assert client.get("/livez").json() == {"status": True}
        loading = client.get("/readyz")
        assert loading.status_code == 503
        assert loading.json()["status"] == []
        early = client.post("/process", json=_request("http://127.0.0.1:9", "/a.jpg"))
        assert early.status_code == 503
        assert early.json()["code"] == "not_ready"

        gate.set()
        wait_ready(client)

        assert client.get("/readyz").json() == {"status": ["quarter"]}
        assert pipeline.loads == 1


def test_process_answers_one_result_merged_over_the_images(quarter, images) -> None:
    pipeline, client = quarter
    base, script = images

    answer = client.post(
        "/process",
        json=_request(base, *SIZES),
        headers={"Authorization": "Token must-not-travel-further"},
    )

    assert answer.status_code == 200, answer.text
    result = ProcessResponse.model_validate(answer.json())
    assert result.pipeline == "quarter"
    assert result.errors is None
    assert result.total_time > 0
    assert [(s.id, s.url) for s in result.source_images] == [
        (f"img-{p.strip('/')}", base + p) for p in SIZES
    ]
    boxes = {
        d.source_image_id: (d.bbox.x2, d.bbox.y2) for d in result.detections if d.bbox is not None
    }
    assert boxes == {f"img-{p.strip('/')}": (w / 2, h / 2) for p, (w, h) in SIZES.items()}
    assert {c.classification for d in result.detections for c in d.classifications} == {"moth"}
    assert "algorithms" not in answer.json()  # /info describes them; Antenna ignores it here
    assert pipeline.batches == [[f"img-{p.strip('/')}" for p in SIZES]]
    fetched = [s for s in script.seen if s.path in SIZES]
    assert len(fetched) == 3
    assert not [s for s in fetched if "authorization" in {k.lower() for k in s.headers}]


def test_images_that_cannot_be_had_are_reported_and_the_others_processed(quarter, images) -> None:
    _, client = quarter
    base, _ = images
    body = _request(base, "/a.jpg", "/missing.jpg", "/text.jpg")
    body["source_images"].append({"id": "img-ftp", "url": "ftp://example.org/x.jpg"})  # type: ignore[attr-defined]

    answer = client.post("/process", json=body)

    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert [d["source_image_id"] for d in result["detections"]] == ["img-a.jpg"]
    assert [s["id"] for s in result["source_images"]] == ["img-a.jpg"]
    errors = {e["image_id"]: e["error"] for e in result["errors"]}
    assert set(errors) == {"img-missing.jpg", "img-text.jpg", "img-ftp"}
    assert "HTTP 404" in errors["img-missing.jpg"]
    assert "decoded" in errors["img-text.jpg"]
    assert "http(s)" in errors["img-ftp"]


def test_repeated_image_ids_are_processed_once(quarter, images) -> None:
    pipeline, client = quarter
    base, _ = images
    body = _request(base, "/a.jpg", "/a.jpg")

    answer = client.post("/process", json=body)

    assert answer.status_code == 200
    assert len(answer.json()["detections"]) == 1
    assert pipeline.batches == [["img-a.jpg"]]


def test_an_unknown_pipeline_is_refused_with_what_the_service_offers(quarter, images) -> None:
    _, client = quarter
    base, script = images

    answer = client.post("/process", json=_request(base, "/a.jpg", pipeline="other"))

    assert answer.status_code == 400
    assert answer.json() == {
        "detail": "this service does not offer pipeline 'other'; it offers: quarter",
        "code": "unknown_pipeline",
    }
    assert script.seen == []  # nothing was fetched


@pytest.mark.parametrize(
    ("method", "path", "content", "status", "says"),
    [
        ("POST", "/process", b"{not json", 400, "not valid JSON"),
        ("POST", "/process", b'{"pipeline": "quarter"}', 400, "source_images is required"),
        ("POST", "/process", b'{"pipeline": "", "source_images": []}', 400, "pipeline"),
        ("POST", "/process", b"[1, 2]", 400, "not a pipeline request"),
        ("GET", "/process", b"", 405, "use POST"),
        ("POST", "/info", b"{}", 405, "use GET"),
        ("GET", "/nothing-here", b"", 404, "no such endpoint"),
        ("POST", "/nothing-here", b"{}", 404, "no such endpoint"),
    ],
)
def test_bad_requests_get_json_errors(quarter, method, path, content, status, says) -> None:
    _, client = quarter

    answer = client.request(method, path, content=content)

    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"detail", "code"}
    assert says in body["detail"]
    assert client.get("/livez").status_code == 200  # the connection and service still work


def test_a_body_over_the_limit_is_refused_before_it_is_read(quarter) -> None:
    _, client = quarter
    port = int(str(client.base_url).rsplit(":", 1)[1].rstrip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(
            b"POST /process HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
        )
        answer = _read_answer(raw)
    assert answer.startswith("HTTP/1.1 413"), answer
    assert json.loads(answer.split("\r\n\r\n", 1)[1])["code"] == "too_large"


def _read_answer(raw: socket.socket) -> str:
    """One whole HTTP answer: the head and body may come in separate segments."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += raw.recv(65536) or b"\r\n\r\n"
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = raw.recv(65536)
        if not chunk:
            break
        body += chunk
    return (head + b"\r\n\r\n" + body).decode()


def test_an_empty_request_answers_an_empty_result(quarter) -> None:
    pipeline, client = quarter

    answer = client.post("/process/", json={"pipeline": "quarter", "source_images": []})

    assert answer.status_code == 200
    assert (answer.json()["detections"], answer.json()["source_images"]) == ([], [])
    assert pipeline.batches == []


def test_a_pipeline_is_never_called_twice_at_once(images) -> None:
    base, _ = images
    pipeline = QuarterPipeline(pause=0.05)
    with running(pipeline) as client:
        wait_ready(client)

        def call(path: str) -> int:
            answer = client.post("/process", json=_request(base, path))
            assert answer.status_code == 200, answer.text
            return len(answer.json()["detections"])

        with ThreadPoolExecutor(6) as pool:
            found = list(pool.map(call, [*SIZES, *SIZES]))

    assert found == [1] * 6
    assert len(pipeline.batches) == 6
    assert pipeline.most_at_once == 1


def test_a_pipeline_that_fails_answers_500_with_its_reason(images) -> None:
    base, _ = images
    with running(QuarterPipeline(fail_with="weights are corrupt")) as client:
        wait_ready(client)

        answer = client.post("/process", json=_request(base, "/a.jpg"))

    assert answer.status_code == 500
    assert answer.json()["code"] == "pipeline_failed"
    assert "weights are corrupt" in answer.json()["detail"]


def test_serve_refuses_a_pipeline_that_fails_to_load() -> None:
    class Broken(QuarterPipeline):
        def load(self) -> None:
            raise OSError("no weights file")

    with pytest.raises(TraplineError, match="pipeline quarter failed to load: OSError"):
        serve([Broken()], _settings())


def test_serve_refuses_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(TraplineError, match=f"cannot listen on 127.0.0.1:{port}"):
            serve([QuarterPipeline()], _settings(port=port))


SERVE = """
import sys
from tests.support.pipelines import QuarterPipeline
from trapline.settings import Settings
from trapline.worker.service_http import serve
serve([QuarterPipeline()], Settings(host="127.0.0.1", port=int(sys.argv[1]), _env_file=None))
print("stopped", flush=True)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_runs_until_a_signal_then_exits_cleanly(images, sig: signal.Signals) -> None:
    base, _ = images
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            wait_process_ready(process, client, timeout=30)
            answer = client.post("/process", json=_request(base, "/a.jpg"))
            assert answer.status_code == 200, answer.text

        process.send_signal(sig)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert output.strip().endswith("stopped"), output


def test_the_service_logic_binds_no_socket_and_raises_no_http_statuses() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        # The address is taken, yet the service builds: only ServiceServer binds.
        service = ProcessingService(
            [QuarterPipeline()], _settings(port=taken.getsockname()[1]).worker
        )
    try:
        with pytest.raises(UnknownPipeline) as unknown:
            service.process(PipelineRequest(pipeline="other", source_images=[]))
        with pytest.raises(NotReady) as loading:
            service.process(PipelineRequest(pipeline="quarter", source_images=[]))
    finally:
        service.close(drain_timeout=0)
    for error in (unknown.value, loading.value):
        assert not {"status", "status_code"} & (set(vars(error)) | set(dir(error)))
    assert (unknown.value.code, loading.value.code) == ("unknown_pipeline", "not_ready")


def _given(base: str, path: str, box: dict[str, float]) -> dict[str, object]:
    """A box another pipeline found on ``path``, as Antenna gives it in ``detections``."""
    image = {"id": f"img-{path.strip('/')}", "url": base + path}
    algorithm = {"name": "MegaDetector v5a", "key": "md-v5a"}
    return {"source_image": image, "bbox": box, "algorithm": algorithm, "score": 0.7}


def test_boxes_given_are_classified_instead_of_detecting(images, tmp_path: Path) -> None:
    """The moth chain (a spec pipeline) given one box of the first photo classifies that box
    and detects on no photo of the request: a photo given no box has none."""
    base, _ = images
    first, second, *_ = SIZES
    chain = OnnxPipeline(PipelineSpec.model_validate(moth_chain(tmp_path)))
    box = {"x1": 4.0, "y1": 5.0, "x2": 30.0, "y2": 28.0}
    with running(chain) as client:
        wait_ready(client)
        request = {
            **_request(base, first, second, pipeline="chain"),
            "detections": [_given(base, first, box)],
        }
        given = ProcessResponse.model_validate(client.post("/process", json=request).json())
        plain = {**_request(base, first, pipeline="chain"), "detections": []}  # none given
        detected = ProcessResponse.model_validate(client.post("/process", json=plain).json())

    assert given.errors is None
    assert {s.id for s in given.source_images} == {"img-a.jpg", "img-b.jpg"}
    (found,) = given.detections
    assert found.source_image_id == "img-a.jpg"
    assert found.bbox is not None
    assert found.bbox.model_dump() == box
    assert (found.algorithm.key, found.score) == ("md-v5a", 0.7)
    # The filter's verdict first (the chain's detector gave none: it did not run).
    assert found.classifications[0].algorithm.key == "moth-filter"
    assert len(detected.detections) == 2  # the chain's own detector ran


def test_boxes_given_to_a_pipeline_that_only_detects_fail_each_photo(quarter, images) -> None:
    _, client = quarter
    base, _ = images
    first, *_ = SIZES
    box = {"x1": 1.0, "y1": 1.0, "x2": 9.0, "y2": 9.0}
    request = {**_request(base, first), "detections": [_given(base, first, box)]}

    answer = ProcessResponse.model_validate(client.post("/process", json=request).json())

    assert answer.detections == []
    assert answer.errors == [
        {
            "error": "pipeline quarter does not classify boxes it is given; it only detects",
            "image_id": "img-a.jpg",
        }
    ]
