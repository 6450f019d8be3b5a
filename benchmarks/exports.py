"""Exports: time and server memory of each format over a project of 1,000,000 images and
2,000,000 detections (each with a classification).

Images and results are bulk-loaded straight through the repositories (no files behind them);
then a real ``trapline serve`` writes each export in the background while the benchmark reads
its memory (RSS) every 50 ms and its CPU time. With ``--in-process`` the benchmark runs the
exports itself (an ``ExportRunner`` over the same database), so the CPU is the export's
alone. Run ``python benchmarks/exports.py --help``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import psutil
from common import BACKENDS, Server, machine_speed_ms, print_table, running_server
from listing import bulk_load

from trapline.background.exports import ExportRunner
from trapline.cli import tuning
from trapline.db.engine import Database
from trapline.db.repositories.exports.export_reads import ExportScope
from trapline.domain.exports.exports import ExportFilters, ExportFormat, ExportStatus
from trapline.domain.processing.results import AnalysisDraft, AnnotationDraft, AnnotationType, Box
from trapline.settings import ServerSettings
from trapline.storage.base import BlobStore
from trapline.storage.local import LocalBlobStore

#: Goal per format: seconds and RSS growth (MB) of the server.
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 150.0
#: Analyses stored per transaction while loading.
LOAD_BATCH = 5_000
#: Formats timed, in order.
FORMATS = ("csv", "coco", "megadetector", "camtrap-dp")
#: Columns of the printed table.
HEADERS = (
    "format", "median s", "max s", "s per 1M images", "CPU µs/image", "max RSS +MB",
    "file MB", "goal",
)  # fmt: skip
LABELS = ["Lepidoptera", "Coleoptera", "Diptera", "Hymenoptera"]


def register_pipeline(client: httpx.Client, project_id: int) -> None:
    """A detector and an order classifier whose category map names taxa."""
    body = {
        "processing_service_name": "bench",
        "pipelines": [
            {
                "name": "bench pipeline",
                "slug": "bench",
                "version": 1,
                "algorithms": [
                    {"name": "detector", "key": "bench-det", "task_type": "detection"},
                    {
                        "name": "order classifier",
                        "key": "bench-cls",
                        "task_type": "classification",
                        "category_map": {
                            "labels": LABELS,
                            "data": [
                                {"label": x, "taxon_rank": "ORDER", "gbif_key": 100 + n}
                                for n, x in enumerate(LABELS)
                            ],
                        },
                    },
                ],
            }
        ],
    }
    client.post(f"/api/v2/projects/{project_id}/pipelines/", json=body).raise_for_status()


def load_results(db: Database, project_id: int, per_image: int) -> float:
    """``per_image`` boxes with a classification on every image of the project."""
    started = time.perf_counter()
    with db.read() as repos:
        pipeline = repos.pipelines.pipelines.resolve(project_id, "bench")
    assert pipeline is not None
    detector, classifier = pipeline.algorithm("bench-det"), pipeline.algorithm("bench-cls")
    assert detector is not None
    assert classifier is not None
    with db.read() as repos:
        newest = repos.exports.export_reads.max_image_id(project_id)
    scope = ExportScope(
        project_id, ExportFilters(), pipeline_ids=None, collection_id=None,
        collection_filter=None, max_image_id=newest,
    )  # fmt: skip
    after, done = 0, 0
    while True:
        with db.read() as repos:
            images = repos.exports.export_reads.images_after(scope, after, LOAD_BATCH)
        if not images:
            break
        drafts = []
        for image in images:
            boxes = []
            for k in range(per_image):
                label = LABELS[(image.id + k) % len(LABELS)]
                x = 100.0 + 900 * k
                boxes.append(
                    AnnotationDraft(
                        AnnotationType.BOUNDING_BOX, None, 0.8, Box(x, 200.0, x + 300, 500.0),
                        detector.id, None,
                        (AnnotationDraft(
                            AnnotationType.CLASSIFICATION, label, 0.7, None, classifier.id,
                            {"labels": [label, LABELS[0]], "scores": [0.7, 0.1],
                             "terminal": True},
                        ),),
                    )
                )  # fmt: skip
            drafts.append(AnalysisDraft(None, image.id, 0.05, "bench", tuple(boxes)))
        with db.write() as repos:
            repos.processing.analyses.store(
                drafts, project_id=project_id, job_id=None, pipeline_id=pipeline.id,
                source="import", now=datetime.now(UTC),
            )  # fmt: skip
        after = images[-1].id
        done += len(images)
        if done % 200_000 == 0:
            print(f"  stored results of {done:,} images", file=sys.stderr, flush=True)
    return time.perf_counter() - started


class PeakRss:
    """The highest RSS of a process while the block runs, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.baseline = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 1e6


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds the process has used so far (all its threads)."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


#: One export: seconds, RSS growth (MB), file size (bytes), CPU seconds.
ExportRun = tuple[float, float, int, float]


def export_once(server: Server, client: httpx.Client, project_id: int, fmt: str) -> ExportRun:
    """Seconds the server took, its RSS growth (MB), the file's size (bytes) and the server's
    CPU seconds (load-independent, unlike the seconds; it includes the polls' requests)."""
    cpu = cpu_seconds(server.pid)
    with PeakRss(server.pid) as rss:
        made = client.post(f"/api/v2/projects/{project_id}/exports/", json={"format": fmt})
        made.raise_for_status()
        export_id = made.json()["id"]
        while True:
            got = client.get(f"/api/v2/exports/{export_id}").json()
            if got["status"] not in ("queued", "running"):
                break
            time.sleep(0.1)
    cpu = cpu_seconds(server.pid) - cpu
    if got["status"] != "succeeded":
        raise RuntimeError(f"export {export_id} {got['status']}: {got['error']}")
    started = datetime.fromisoformat(got["started_at"])
    finished = datetime.fromisoformat(got["finished_at"])
    client.delete(f"/api/v2/exports/{export_id}")
    return (finished - started).total_seconds(), rss.growth_mb, got["size_bytes"], cpu


def export_in_process(db: Database, store: BlobStore, project_id: int, fmt: str) -> ExportRun:
    """``export_once`` through an ``ExportRunner`` of this process (no HTTP, no server):
    the CPU is the export's own."""
    runner = ExportRunner(db, store, name="benchmark", ttl=timedelta(hours=1))
    try:
        with db.write() as repos:
            export_id = repos.exports.exports.create(
                project_id, ExportFormat(fmt), ExportFilters(), None
            ).id
        cpu = process_cpu_seconds()
        with PeakRss(os.getpid()) as rss:
            assert runner.run(export_id)
        cpu = process_cpu_seconds() - cpu
        with db.write() as repos:
            done = repos.exports.exports.get(export_id)
            assert done is not None
            repos.exports.exports.delete(export_id)
    finally:
        runner.close()
    if done.status is not ExportStatus.SUCCEEDED:
        raise RuntimeError(f"export {export_id} {done.status.value}: {done.error}")
    store.delete(str(done.blob_key))
    seconds = (done.finished_at or done.created_at) - (done.started_at or done.created_at)
    return seconds.total_seconds(), rss.growth_mb, done.size_bytes or 0, cpu


def process_cpu_seconds() -> float:
    """User and system CPU seconds this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(*, images: int, per_image: int, backend: str, repeats: int, in_process: bool) -> None:
    """Load, export each format ``repeats`` times and print the table."""
    # In process, the server only loads the data: its duties would take the exports.
    settings = {"DUTIES_ENABLED": "false"} if in_process else None
    with running_server(backend, settings=settings) as server, server.client(600) as client:
        project = client.post("/api/v2/projects/", json={"name": "export benchmark"})
        project.raise_for_status()
        project_id = project.json()["id"]
        deployments = []
        for number in range(10):
            made = client.post(
                f"/api/v2/projects/{project_id}/deployments/",
                json={"name": f"trap {number}", "latitude": 45 + number / 10, "longitude": -73.5},
            )
            made.raise_for_status()
            deployments.append(made.json()["id"])
        user_id = client.get("/api/v2/users/me").json()["id"]
        register_pipeline(client, project_id)
        db = Database.from_url(server.database_url)
        try:
            print(f"loading {images:,} images into {backend} ...", file=sys.stderr, flush=True)
            bulk_load(db, project_id, images, deployments, user_id)
            seconds = load_results(db, project_id, per_image)
            print(f"  results stored in {seconds:.0f}s", file=sys.stderr, flush=True)
            db.refresh_statistics("analyses")
            db.refresh_statistics("annotations")
            if in_process:
                tuning.apply(ServerSettings())  # as the server that runs exports is tuned
                store = LocalBlobStore(server.data_dir / "in-process", b"benchmark")
                rows = export_all(
                    lambda fmt: export_in_process(db, store, project_id, fmt), images, repeats
                )
        finally:
            db.dispose()
        if not in_process:
            rows = export_all(
                lambda fmt: export_once(server, client, project_id, fmt), images, repeats
            )
        speed = machine_speed_ms()
        where = "in process" if in_process else "server"
        print_table(
            f"exports (machine speed {speed:.0f} ms): {images:,} images, "
            f"{images * per_image:,} detections (each with a classification), {backend}, "
            f"{where}; {repeats} runs per format (seconds from start to file stored, {where} "
            f"RSS growth; goal <= {TARGET_SECONDS:.0f} s and <= {TARGET_RSS_MB:.0f} MB)",
            HEADERS,
            rows,
        )


def export_all(export: Callable[[str], ExportRun], images: int, repeats: int) -> list[list[object]]:
    """Each format exported ``repeats`` times: the table's rows."""
    rows: list[list[object]] = []
    for fmt in FORMATS:
        runs = [export(fmt) for _ in range(repeats)]
        median_s = statistics.median(r[0] for r in runs)
        growth = max(r[1] for r in runs)
        cpu_us = statistics.median(r[3] for r in runs) / images * 1e6
        # The goal is for 1,000,000 images: smaller runs are judged on a linear projection.
        projected = median_s * 1_000_000 / images
        met = projected <= TARGET_SECONDS and growth <= TARGET_RSS_MB
        rows.append(
            [fmt, median_s, max(r[0] for r in runs), projected, cpu_us, growth,
             runs[0][2] / 1e6, "met" if met else "MISSED"]
        )  # fmt: skip
        print(
            f"  {fmt}: {[round(r[0], 1) for r in runs]} s, "
            f"{[round(r[3] / images * 1e6) for r in runs]} CPU µs/image",
            file=sys.stderr, flush=True,
        )  # fmt: skip
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of this benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--images", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument("--per-image", type=int, default=2, help="detections per image")
    parser.add_argument("--repeats", type=int, default=3, help="runs per format (median)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 images")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="export through an ExportRunner of this process (its own CPU, no HTTP)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.images = 20_000
    if args.images < 1 or not 0 <= args.per_image <= 50:
        parser.error("--images must be positive and --per-image from 0 to 50")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    args = parse_args(argv)
    run(
        images=args.images,
        per_image=args.per_image,
        backend=args.backend,
        repeats=args.repeats,
        in_process=args.in_process,
    )


if __name__ == "__main__":
    main()
