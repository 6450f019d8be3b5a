"""A worker learns of a cancel within seconds and drops the rest of that job's work in hand,
against a real ``trapline serve``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.pipelines import QuarterPipeline
from tests.support.protocol import wait_for_status
from tests.support.workers import live_platform, project_with_images
from trapline.pipelines.base import SourceImage
from trapline.protocol.results import PipelineResultsResponse
from trapline.worker.client import PlatformClient, client_info
from trapline.worker.runner import RunnerOptions, WorkLoop

pytestmark = pytest.mark.slow

#: Seconds the test waits for anything to happen (not a measure of speed).
WAIT = 60.0


class Gated(QuarterPipeline):
    """Holds its first batch until the test lets it go."""

    def __init__(self) -> None:
        super().__init__("gated")
        self.running = threading.Event()
        self.gate = threading.Event()

    def process(self, batch: Sequence[SourceImage]) -> list[PipelineResultsResponse]:
        self.running.set()
        assert self.gate.wait(WAIT), "the test never let the batch go"
        return super().process(batch)


def until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition``, looking ten times a second, for at most WAIT seconds."""
    pause = threading.Event()
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "it did not happen"
        pause.wait(0.1)


def test_a_canceled_jobs_tasks_in_hand_are_dropped_not_posted(
    tmp_path: Path, postgres_databases: Any
) -> None:
    with (
        live_platform("sqlite", tmp_path, postgres_databases) as platform,
        platform.client() as api,
        httpx.Client() as images,
    ):
        project_id, _ = project_with_images(api, 12, name="cancel")
        pipeline = Gated()
        client = PlatformClient(
            platform.url, platform.token, info=client_info("w", [pipeline.slug])
        )
        client.register(project_id, "gated service", [pipeline.config])
        made = api.post("/api/v2/jobs/", json={"project_id": project_id, "pipeline": "gated"})
        assert made.status_code == 201, made.text
        job_id = made.json()["id"]
        # A burst runner stops at the first claim that finds nothing: the tasks first.
        wait_for_status(api.get, job_id, {"running"}, {}, timeout=WAIT)
        options = RunnerOptions(batch_size=4, burst=True, idle_min=0.05, lease_probe=0.5)
        runner = WorkLoop(client, [pipeline], images, options)
        worker = threading.Thread(target=runner.run)
        worker.start()
        try:
            assert pipeline.running.wait(WAIT), "the worker never ran a batch"
            until(lambda: runner.unposted() == 8)  # a batch in the model, one claimed behind it
            canceled = api.post(f"/api/v2/jobs/{job_id}/cancel")
            assert canceled.status_code == 200, canceled.text
            until(lambda: runner.leases.lost == 8)
        finally:
            pipeline.gate.set()
            worker.join(WAIT)
        assert not worker.is_alive()
        assert runner.finish(WAIT)
        client.close()
        assert runner.dropped == 8
        assert dict(runner.poster.statuses) == {}  # nothing posted to be refused
        assert api.get(f"/api/v2/jobs/{job_id}/").json()["status"] == "canceled"
