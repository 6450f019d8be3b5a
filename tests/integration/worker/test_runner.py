"""The worker loop against a scripted platform: fallback claims, crashes, retries, leases."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from PIL import Image

from tests.support.scripted import Script, scripted_server
from tests.support.waiting import wait_until
from trapline.pipelines.base import (
    Box,
    Pipeline,
    SourceImage,
    classification,
    detection,
    result,
)
from trapline.protocol.pipelines import AlgorithmConfig, PipelineConfig
from trapline.protocol.results import AlgorithmReference
from trapline.worker.client import Backoff, PlatformClient, client_info
from trapline.worker.runner import RunnerOptions, WorkLoop

ALGORITHM = AlgorithmReference(name="Test detector", key="test-det")
ACCEPTED = {"status": "accepted", "job_id": 5, "results_queued": 1, "tasks": []}


class Fixed(Pipeline):
    """A box in the middle of each image, once ``hold`` returns (the test says when the model
    is done); ``fail`` raises instead."""

    slug = "fixed"

    def __init__(self, hold: Callable[[], object] | None = None, fail: bool = False) -> None:
        self.hold, self.fail, self.loaded = hold, fail, 0

    @property
    def config(self) -> PipelineConfig:
        return PipelineConfig(
            name="Fixed", slug=self.slug, algorithms=[AlgorithmConfig(name="d", key="test-det")]
        )

    def load(self) -> None:
        self.loaded += 1

    def process(self, batch: Sequence[SourceImage]) -> list[Any]:
        started = time.perf_counter()
        if self.hold is not None:
            self.hold()
        if self.fail:
            raise RuntimeError("model exploded")
        return [
            result(self.slug, i, [detection(i, Box(1, 1, 5, 5, 0.9), ALGORITHM)], started=started)
            for i in batch
        ]


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 190, 180)).save(out, "JPEG")
    return out.getvalue()


def task(n: int, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(n),
        "image_id": str(100 + n),
        "image_url": f"{url}/images/{n}.jpg",
        "reply_subject": f"lease-{n}",
        **extra,
    }


def run(url: str, pipeline: Pipeline, **options: Any) -> WorkLoop:
    client = PlatformClient(
        url, "tl_x", info=client_info("t", [pipeline.slug]), backoff=Backoff(first=0.01, cap=0.05)
    )
    runner = WorkLoop(
        client,
        [pipeline],
        httpx.Client(),
        RunnerOptions(batch_size=4, burst=True, idle_min=0.01, **options),
    )
    runner.run()
    assert runner.finish(10)
    return runner


def posted_items(script: Script, path: str) -> list[dict[str, Any]]:
    return [
        item
        for seen in script.seen
        if seen.method == "POST" and seen.path == path
        for item in json.loads(seen.body)["results"]
    ]


def test_without_tasks_next_it_lists_jobs_claims_and_posts_per_job() -> None:
    script = Script()  # no /tasks/next/: an Antenna server
    with scripted_server(script) as url:
        script.add("/images/1.jpg", 200, jpeg(), {"Content-Type": "image/jpeg"})
        script.add("/images/2.jpg", 200, jpeg(), {"Content-Type": "image/jpeg"})
        script.add("/api/v2/jobs/", 200, {"results": [{"id": 5, "pipeline_slug": "fixed"}]})
        script.add("/api/v2/jobs/", 200, {"results": []})
        script.add("/api/v2/jobs/5/tasks/", 200, {"tasks": [task(1, url), task(2, url)]})
        script.add("/api/v2/jobs/5/tasks/", 200, {"tasks": []})
        script.add("/api/v2/jobs/5/result/", 200, ACCEPTED)
        pipeline = Fixed()
        runner = run(url, pipeline)
    items = posted_items(script, "/api/v2/jobs/5/result/")
    assert sorted(i["reply_subject"] for i in items) == ["lease-1", "lease-2"]
    assert all(i["result"]["detections"][0]["algorithm"]["key"] == "test-det" for i in items)
    assert {i["result"]["source_images"][0]["id"] for i in items} == {"101", "102"}
    assert pipeline.loaded == 1
    assert runner.processed == 2
    images = [s for s in script.seen if s.path.startswith("/images/")]
    assert images
    assert all("authorization" not in {k.lower() for k in s.headers} for s in images)


def test_a_crashing_pipeline_and_a_missing_image_become_error_results() -> None:
    script = Script()
    with scripted_server(script) as url:
        script.add("/images/1.jpg", 200, jpeg(), {"Content-Type": "image/jpeg"})
        script.add("/images/2.jpg", 404, b"gone")
        script.add(
            "/api/v2/tasks/next/", 200, {"tasks": [task(1, url, job_id=5), task(2, url, job_id=5)]}
        )
        script.add("/api/v2/tasks/next/", 200, {"tasks": []})
        script.add("/api/v2/jobs/", 200, {"results": []})
        script.add("/api/v2/jobs/5/result/", 200, ACCEPTED)
        run(url, Fixed(fail=True))
    items = {
        i["reply_subject"]: i["result"] for i in posted_items(script, "/api/v2/jobs/5/result/")
    }
    assert items["lease-1"] == {
        "error": "Batch processing error: model exploded",
        "image_id": "101",
    }
    assert items["lease-2"]["image_id"] == "102"
    assert "HTTP 404" in items["lease-2"]["error"]


def test_result_posts_that_fail_are_retried_until_they_land() -> None:
    script = Script()
    with scripted_server(script) as url:
        script.add("/images/1.jpg", 200, jpeg(), {"Content-Type": "image/jpeg"})
        script.add("/api/v2/tasks/next/", 200, {"tasks": [task(1, url, job_id=5)]})
        script.add("/api/v2/tasks/next/", 200, {"tasks": []})
        script.add("/api/v2/jobs/", 200, {"results": []})
        for status in (503, 502, 500):
            script.add("/api/v2/jobs/5/result/", status, {"detail": "not now"})
        script.add("/api/v2/jobs/5/result/", 200, ACCEPTED)
        runner = run(url, Fixed())
    posts = [s for s in script.seen if s.path == "/api/v2/jobs/5/result/"]
    assert len(posts) == 4
    assert len({s.body for s in posts}) == 1  # the same body every time
    assert runner.poster.refused == 0


def extended(script: Script) -> list[Any]:
    """The lease extensions a scripted platform was asked for."""
    return [json.loads(s.body) for s in script.seen if s.path == "/api/v2/tasks/extend/"]


def test_leases_are_extended_once_a_batch_runs_past_half_of_them() -> None:
    script = Script()
    with scripted_server(script) as url:
        script.add("/images/1.jpg", 200, jpeg(), {"Content-Type": "image/jpeg"})
        claimed = task(1, url, job_id=5, lease_seconds=2)
        script.add("/api/v2/tasks/next/", 200, {"tasks": [claimed]})
        script.add("/api/v2/tasks/next/", 200, {"tasks": []})
        script.add("/api/v2/jobs/", 200, {"results": []})
        script.add("/api/v2/tasks/extend/", 200, {"extended": ["lease-1"], "lost": []})
        script.add("/api/v2/jobs/5/result/", 200, ACCEPTED)
        # The model runs until the runner has extended its lease (past half of its 2 s).
        runner = run(url, Fixed(hold=lambda: wait_until(lambda: extended(script), what="one")))
    extends = extended(script)
    assert extends
    assert extends[0] == {"reply_subjects": ["lease-1"], "seconds": 2}
    assert runner.leases.extended >= 1
    assert runner.leases.count == 0  # released once posted


def test_drain_finishes_what_is_in_hand_and_claims_no_more() -> None:
    script = Script()
    with scripted_server(script) as url:
        for n in (1, 2, 3, 4):
            script.add(f"/images/{n}.jpg", 200, jpeg(), {"Content-Type": "image/jpeg"})
        script.add(
            "/api/v2/tasks/next/", 200, {"tasks": [task(n, url, job_id=5) for n in (1, 2, 3, 4)]}
        )
        script.add("/api/v2/jobs/5/result/", 200, ACCEPTED)
        client = PlatformClient(url, "tl_x", info=client_info("t", ["fixed"]))
        # The model holds its batch until the runner is told to drain.
        drained = threading.Event()
        model = Fixed(hold=lambda: drained.wait(10))
        runner = WorkLoop(
            client, [model], httpx.Client(), RunnerOptions(batch_size=4, idle_min=0.01)
        )
        worker = threading.Thread(target=runner.run)
        worker.start()
        wait_until(lambda: runner.leases.count, timeout=10, what="the first leases")
        runner.drain()
        drained.set()
        worker.join(10)
        assert not worker.is_alive()
        assert runner.finish(10)
    claims = [s for s in script.seen if s.path == "/api/v2/tasks/next/"]
    assert len(posted_items(script, "/api/v2/jobs/5/result/")) == 4 * len(claims)
    assert runner.leases.count == 0


def test_a_rejected_result_is_logged_with_the_servers_reason(caplog: Any) -> None:
    """The worker says why the server refused a result, not only how many were refused."""
    reason = "detections[0].classifications[0]: label 'wasp' is not in the category map"
    answer = {
        "status": "accepted",
        "job_id": 5,
        "results_queued": 0,
        "tasks": [
            {"reply_subject": "lease-1", "status": "rejected", "task_id": "1", "detail": reason}
        ],
    }
    script = Script()
    with scripted_server(script) as url:
        script.add("/images/1.jpg", 200, jpeg(), {"Content-Type": "image/jpeg"})
        script.add("/api/v2/tasks/next/", 200, {"tasks": [task(1, url, job_id=5)]})
        script.add("/api/v2/tasks/next/", 200, {"tasks": []})
        script.add("/api/v2/jobs/", 200, {"results": []})
        script.add("/api/v2/jobs/5/result/", 200, answer)
        with caplog.at_level("WARNING", logger="trapline.worker.posting"):
            run(url, Fixed())
    assert f"job 5: 1 result rejected: {reason}" in caplog.text


class Labeller(Fixed):
    """Labels each box it is given ``moth``; detects like ``Fixed`` when given none."""

    slug = "labeller"

    @property
    def classifies_boxes(self) -> bool:
        return True

    def process(self, batch: Sequence[SourceImage]) -> list[Any]:
        started = time.perf_counter()
        label = classification("moth", AlgorithmReference(name="c", key="test-cls"))
        return [
            result(
                self.slug,
                i,
                [detection(i, g.box, g.algorithm, classifications=[label]) for g in i.given],
                started=started,
            )
            if i.given is not None
            else Fixed.process(self, [i])[0]
            for i in batch
        ]


def _given(url: str, image_id: str) -> list[dict[str, Any]]:
    return [
        {
            "source_image": {"id": image_id, "url": url},
            "bbox": {"x1": 2.0, "y1": 3.0, "x2": 9.0, "y2": 8.0},
            "algorithm": {"name": "MegaDetector", "key": "md-v5a"},
            "score": 0.6,
        }
    ]


def test_boxes_a_task_gives_reach_the_pipeline_and_come_back_classified() -> None:
    """A task of a job over another pipeline's boxes: the pipeline is given them (with the
    photo), and the posted result names the algorithm that drew each box."""
    script = Script()
    with scripted_server(script) as url:
        script.add("/images/1.jpg", 200, jpeg(), {"Content-Type": "image/jpeg"})
        script.add("/images/2.jpg", 200, jpeg(), {"Content-Type": "image/jpeg"})
        given = task(1, url, job_id=5, detections=_given(f"{url}/images/1.jpg", "101"))
        plain = task(2, url, job_id=5)
        script.add("/api/v2/tasks/next/", 200, {"tasks": [given, plain]})
        script.add("/api/v2/tasks/next/", 200, {"tasks": []})
        script.add("/api/v2/jobs/", 200, {"results": []})
        script.add("/api/v2/jobs/5/result/", 200, ACCEPTED)
        run(url, Labeller())
    items = {
        i["reply_subject"]: i["result"] for i in posted_items(script, "/api/v2/jobs/5/result/")
    }
    (classified,) = items["lease-1"]["detections"]
    assert classified["bbox"] == {"x1": 2.0, "y1": 3.0, "x2": 9.0, "y2": 8.0}
    assert classified["score"] == 0.6
    assert classified["algorithm"] == {"name": "MegaDetector", "key": "md-v5a"}
    assert [c["classification"] for c in classified["classifications"]] == ["moth"]
    (detected,) = items["lease-2"]["detections"]
    assert detected["algorithm"]["key"] == "test-det"


def test_a_pipeline_that_only_detects_fails_the_tasks_that_give_boxes() -> None:
    script = Script()
    with scripted_server(script) as url:
        script.add("/images/1.jpg", 200, jpeg(), {"Content-Type": "image/jpeg"})
        script.add("/images/2.jpg", 200, jpeg(), {"Content-Type": "image/jpeg"})
        given = task(1, url, job_id=5, detections=_given(f"{url}/images/1.jpg", "101"))
        script.add("/api/v2/tasks/next/", 200, {"tasks": [given, task(2, url, job_id=5)]})
        script.add("/api/v2/tasks/next/", 200, {"tasks": []})
        script.add("/api/v2/jobs/", 200, {"results": []})
        script.add("/api/v2/jobs/5/result/", 200, ACCEPTED)
        run(url, Fixed())
    items = {
        i["reply_subject"]: i["result"] for i in posted_items(script, "/api/v2/jobs/5/result/")
    }
    assert items["lease-1"] == {
        "error": "pipeline fixed does not classify boxes it is given; it only detects",
        "image_id": "101",
    }
    assert len(items["lease-2"]["detections"]) == 1
