"""Worker benchmarks: how busy it keeps the model, and how much memory it takes.

- efficiency: a pipeline costing ``--cost-ms`` per image (default 50), or ``megadetector``
  (``--megadetector DIR``, its weights folder), over generated 1-2 MB
  light-trap photos that a real ``trapline serve`` hands out over loopback HTTP; the worker's
  images/s end to end divided by the same pipeline's images/s on the same images already
  decoded in memory. ``sleep`` cost stands for a model on an accelerator (the CPU is free
  meanwhile); ``cpu`` cost keeps one core busy in numpy, as a model on the CPU does.
- memory: a ``trapline worker --max-memory`` process over photos of about 24 MB (24 MP); its
  resident memory is sampled every 50 ms, and its growth over the idle worker is reported.

    python benchmarks/worker.py [--quick] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Server, print_table, running_server

from trapline.imaging.synthetic import light_trap_jpeg
from trapline.pipelines.base import Box, Pipeline, SourceImage, detection, result
from trapline.pipelines.megadetector import MegaDetectorPipeline
from trapline.protocol.pipelines import AlgorithmConfig, PipelineConfig
from trapline.protocol.results import AlgorithmReference
from trapline.worker.client import PlatformClient, client_info, image_client
from trapline.worker.images import decode
from trapline.worker.runner import RunnerOptions, WorkLoop

SLUG = "bench-costly"
ALGORITHM = AlgorithmReference(name="Costly detector", key="bench-costly-det")


class Costly(Pipeline):
    """One fixed detection per image after ``cost`` seconds of work per image."""

    slug = SLUG

    def __init__(self, cost: float, mode: str) -> None:
        self.cost = cost
        self.mode = mode

    @property
    def config(self) -> PipelineConfig:
        algorithm = AlgorithmConfig(name=ALGORITHM.name, key=ALGORITHM.key, task_type="detection")
        return PipelineConfig(name="Costly", slug=SLUG, version=1, algorithms=[algorithm])

    def process(self, batch: Sequence[SourceImage]) -> list[Any]:
        started = time.perf_counter()
        if self.mode == "sleep":
            time.sleep(self.cost * len(batch))
        else:
            _busy(self.cost * len(batch))
        out = []
        for image in batch:
            width, height = image.size
            box = Box(width * 0.25, height * 0.25, width * 0.75, height * 0.75, 0.9)
            out.append(result(SLUG, image, [detection(image, box, ALGORITHM)], started=started))
        return out


def _busy(seconds: float) -> None:
    # numpy work on one core, in small steps like a model's layers
    deadline = time.perf_counter() + seconds
    a = np.random.default_rng(0).random((96, 96))
    while time.perf_counter() < deadline:
        a = np.tanh(a @ a.T / 96.0)


def upload(client: httpx.Client, project: int, photos: list[bytes], per_request: int = 8) -> None:
    for start in range(0, len(photos), per_request):
        files = [
            ("files", (f"bench-{start + n:05d}.jpg", io.BytesIO(data), "image/jpeg"))
            for n, data in enumerate(photos[start : start + per_request])
        ]
        client.post(f"/api/v2/projects/{project}/images/", files=files).raise_for_status()


def new_project(client: httpx.Client, name: str, pipeline: Pipeline) -> int:
    project = int(client.post("/api/v2/projects/", json={"name": name}).json()["id"])
    body = {
        "processing_service_name": "bench worker",
        "pipelines": [pipeline.config.model_dump(mode="json")],
    }
    client.post(f"/api/v2/projects/{project}/pipelines/", json=body).raise_for_status()
    return project


def start_job(client: httpx.Client, project: int, slug: str) -> int:
    body = {"project_id": project, "pipeline": slug, "params": {"reprocess": True}}
    answer = client.post("/api/v2/jobs/", json=body)
    answer.raise_for_status()
    return int(answer.json()["id"])


def wait_done(
    client: httpx.Client, job_id: int, timeout: float = 1800, poll: float = 0.1
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v2/jobs/{job_id}/").json()
        if job["status"] in ("succeeded", "completed_with_errors", "failed", "canceled"):
            return dict(job)
        time.sleep(poll)
    raise RuntimeError(f"job {job_id} not done in {timeout} s")


# -- efficiency ---------------------------------------------------------------------------------


def in_memory_rate(pipeline: Pipeline, photos: list[bytes], batch_size: int) -> float:
    images = [decode(data, str(n)) for n, data in enumerate(photos)]
    started = time.perf_counter()
    for start in range(0, len(images), batch_size):
        pipeline.process(images[start : start + batch_size])
    return len(images) / (time.perf_counter() - started)


def end_to_end_rate(
    server: Server,
    client: httpx.Client,
    project: int,
    pipeline: Pipeline,
    batch_size: int,
    poll: float,
) -> float:
    job_id = start_job(client, project, pipeline.slug)
    wait_running(client, job_id)
    api = PlatformClient(server.base_url, server.token, info=client_info("bench", [pipeline.slug]))
    images = image_client(60, 8)
    runner = WorkLoop(api, [pipeline], images, RunnerOptions(batch_size=batch_size, burst=True))
    worker = threading.Thread(target=runner.run)
    started = time.perf_counter()
    worker.start()
    # Until the job is done, not until the burst worker noticed and exited.
    job = wait_done(client, job_id, poll=poll)
    elapsed = time.perf_counter() - started
    worker.join()
    runner.finish(60)
    api.close()
    images.close()
    assert job["status"] == "succeeded", job
    return int(job["counts"]["succeeded"]) / elapsed


def wait_running(client: httpx.Client, job_id: int) -> None:
    while client.get(f"/api/v2/jobs/{job_id}/").json()["status"] != "running":
        time.sleep(0.05)


def efficiency(
    server: Server,
    client: httpx.Client,
    count: int,
    runs: int,
    pipelines: dict[str, Pipeline],
    batch_size: int,
    poll: float = 0.01,
) -> list[list[object]]:
    """Per pipeline: images/s in memory and end to end, and their ratio. ``poll`` is how
    often the end of a job is looked for: the server the polls load shares the cores, so a
    slow pipeline is polled less often (its runs are long, the error as small)."""
    photos = [light_trap_jpeg(seed=n, width=1600, height=1200) for n in range(count)]
    rows = []
    for mode, pipeline in pipelines.items():
        project = new_project(client, f"efficiency {mode}", pipeline)
        upload(client, project, photos)
        memory = [in_memory_rate(pipeline, photos, batch_size) for _ in range(runs)]
        e2e = [
            end_to_end_rate(server, client, project, pipeline, batch_size, poll)
            for _ in range(runs)
        ]
        ratios = [e / m for e, m in zip(e2e, memory, strict=True)]
        rows.append(
            [
                mode,
                statistics.median(memory),
                statistics.median(e2e),
                f"{statistics.median(ratios):.2f}",
                f"{min(ratios):.2f}",
            ]
        )
    return rows


# -- memory -------------------------------------------------------------------------------------


def huge_photo(seed: int, base: np.ndarray) -> bytes:
    """A ~24 MB, 24 MP JPEG: grain is what makes camera JPEGs big."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 180, base.shape, dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(base - noise).save(out, "JPEG", quality=95)
    return out.getvalue()


def memory(
    server: Server, client: httpx.Client, count: int, max_memory: str, batch_size: int
) -> list[list[object]]:
    base = np.full((4000, 6000, 3), 240, np.uint8)
    project = int(client.post("/api/v2/projects/", json={"name": "memory"}).json()["id"])
    sizes = []
    for n in range(count):
        photo = huge_photo(n, base)
        sizes.append(len(photo))
        upload(client, project, [photo], per_request=1)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRAPLINE_")},
        "TRAPLINE_API_URL": server.base_url,
        "TRAPLINE_TOKEN": server.token,
    }
    command = [
        sys.executable, "-m", "trapline.cli", "worker", "--pipeline", "trapline-constant",
        "--batch-size", str(batch_size), "--max-memory", max_memory, "--name", "bench-memory",
    ]  # fmt: skip
    log = server.data_dir / "memory-worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        body = {
            "processing_service_name": "bench",
            "pipelines": [_constant_config()],
        }
        client.post(f"/api/v2/projects/{project}/pipelines/", json=body).raise_for_status()
        process = psutil.Process(worker.pid)
        time.sleep(4)  # started, pipelines loaded, polling for work
        idle = process.memory_info().rss
        peak = [idle]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.05):
                peak[0] = max(peak[0], process.memory_info().rss)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        job = wait_done(client, start_job(client, project, "trapline-constant"))
        elapsed = time.perf_counter() - started
        stop.set()
        sampler.join()
        assert job["counts"]["succeeded"] == count, job
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    mib = 1024 * 1024
    return [
        [
            count,
            statistics.median(sizes) / mib,
            max_memory,
            idle / mib,
            peak[0] / mib,
            (peak[0] - idle) / mib,
            count / elapsed,
        ]
    ]


def _constant_config() -> dict[str, Any]:
    from trapline.pipelines import resolve_pipelines

    return resolve_pipelines(["trapline-constant"])[0].config.model_dump(mode="json")


def main(argv: list[str] | None = None) -> None:
    """Run the worker benchmarks from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--runs", type=int, default=3, help="runs per efficiency measure")
    parser.add_argument("--cost-ms", type=float, default=50.0, help="pipeline cost per image")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-memory", default="512M", help="the memory run's --max-memory")
    parser.add_argument(
        "--megadetector",
        type=Path,
        metavar="DIR",
        help="measure efficiency with the megadetector pipeline whose weights are in DIR "
        "(24 photos, batches of 1), instead of a pipeline of --cost-ms",
    )
    options = parser.parse_args(argv)
    runs = 1 if options.quick else options.runs
    with running_server("sqlite") as server, server.client() as client:
        if options.megadetector is not None:
            detector = MegaDetectorPipeline(options.megadetector)
            detector.load()
            rows = efficiency(server, client, 24, runs, {"megadetector": detector}, 1, poll=0.25)
            print_table(
                f"worker efficiency, megadetector on CPU, batches of 1, median of {runs} runs",
                ["pipeline", "in memory img/s", "end to end img/s", "ratio", "worst ratio"],
                rows,
            )
            return
        cost = options.cost_ms / 1000
        rows = efficiency(
            server,
            client,
            40 if options.quick else 200,
            runs,
            {mode: Costly(cost, mode) for mode in ("sleep", "cpu")},
            options.batch_size,
        )
        print_table(
            f"worker efficiency ({options.cost_ms:g} ms per image, batches of "
            f"{options.batch_size}, median of {runs} runs)",
            ["cost", "in memory img/s", "end to end img/s", "ratio", "worst ratio"],
            rows,
        )
        rows = memory(
            server, client, 12 if options.quick else 200, options.max_memory, options.batch_size
        )
        print_table(
            "worker memory on ~24 MB photos",
            ["images", "median MiB", "--max-memory", "idle RSS MiB", "peak RSS MiB",
             "growth MiB", "img/s"],
            rows,
        )  # fmt: skip


if __name__ == "__main__":
    main()
