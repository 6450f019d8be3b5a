"""Dispatch benchmarks of the worker protocol: enqueue speed, throughput and latency.

- enqueue: POST /jobs/ answer time, and how long until a 100,000-image job is fully queued;
- throughput: N no-op worker loops (separate processes) claim 64 tasks and post 64 results,
  each with one detection and two classifications, until the job is done; images/s, and the
  CPU per image of the server process, of all PostgreSQL processes (on PostgreSQL), of
  nats-server (with the NATS queue) and of the loops themselves;
- latency: 32 loops at once that each spend ``--infer-seconds`` (default 2 s, ±50% at
  random) per batch, as workers running a model do; p50/p99 of the claim and result calls.
  (32 no-op loops would only measure queueing: by Little's law their latency is 32 divided
  by the server's request rate.)

    python benchmarks/dispatch.py [--backend sqlite|postgres] [--queue sql|nats] [--quick]
                                  [--part enqueue|throughput|latency ...] [--images N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil
from common import Server, machine_speed_ms, print_table, running_server

from trapline.db.engine import Database

PIPELINE = "bench-pipeline"
LABELS = ["moth", "beetle", "fly", "wasp", "other"]


def registration() -> dict[str, Any]:
    """The benchmark's pipeline: a detector and two classifiers."""
    algorithms = [{"name": "Detector", "key": "bench-det", "task_type": "detection"}]
    for key in ("bench-binary", "bench-species"):
        algorithms.append(
            {
                "name": key,
                "key": key,
                "task_type": "classification",
                "category_map": {"labels": LABELS},
            }
        )
    return {
        "processing_service_name": "bench (localhost)",
        "pipelines": [{"name": "Bench", "slug": PIPELINE, "version": 1, "algorithms": algorithms}],
    }


def load_images(server: Server, project_id: int, count: int) -> None:
    """Insert image rows straight into the database (workers here never download them)."""
    db = Database.from_url(server.database_url)
    start = datetime(2024, 6, 1, 20, 0)
    done = 0
    while done < count:
        batch = min(20_000, count - done)
        rows = [
            {
                "storage_key": f"images/{project_id}/bench/{done + i:08d}.jpg",
                "filename": f"bench-{done + i:08d}.jpg",
                "sha256": f"{project_id:08x}{done + i:056x}",
                "size_bytes": 1_000_000,
                "width": 4000,
                "height": 3000,
                "content_type": "image/jpeg",
                "captured_at": start + timedelta(seconds=done + i),
                "captured_offset_minutes": None,
                "source": "import",
                "uploaded_by": None,
            }
            for i in range(batch)
        ]
        with db.write() as repos:
            repos.photos.images.bulk_insert(project_id, rows)
        done += batch
    db.dispose()


def result_for(task: dict[str, Any]) -> dict[str, Any]:
    """One detection with two classifications."""
    classification = {
        "labels": LABELS,
        "scores": [0.6, 0.2, 0.1, 0.05, 0.05],
        "terminal": True,
        "timestamp": "2024-06-01T22:00:00",
    }
    return {
        "reply_subject": task["reply_subject"],
        "result": {
            "pipeline": PIPELINE,
            "total_time": 0.01,
            "source_images": [{"id": task["image_id"], "url": task["image_url"]}],
            "detections": [
                {
                    "source_image_id": task["image_id"],
                    "bbox": {"x1": 100, "y1": 120, "x2": 300, "y2": 340},
                    "algorithm": {"name": "Detector", "key": "bench-det"},
                    "timestamp": "2024-06-01T22:00:00",
                    "classifications": [
                        {
                            **classification,
                            "classification": "moth",
                            "algorithm": {"name": "b", "key": "bench-binary"},
                        },
                        {
                            **classification,
                            "classification": "moth",
                            "algorithm": {"name": "s", "key": "bench-species"},
                        },
                    ],
                }
            ],
        },
    }


def worker_loop(
    args: tuple[str, str, int, int, float, float],
) -> tuple[int, float, list[tuple[float, float]], list[float], float]:
    """Claim and answer until the job is empty, starting at a common instant.

    Returns (images, finish time, claim times, post times, CPU seconds spent after the start).
    The loop speaks HTTP/1.1 through the standard library's client on one kept-alive
    connection: it shares the machine's two cores with the server, and httpx took ~2.5 ms
    more CPU per claim and post pair (a third of the loop's). It writes JSON with
    pydantic-core, as workers built on pydantic models do (0.4 ms per 64 results; the json
    module took 1.35 ms).
    """
    import http.client
    import json
    from urllib.parse import urlsplit

    from pydantic_core import to_json

    base_url, token, job_id, batch, start_at, infer_seconds = args
    where = urlsplit(base_url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=120)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def post(path: str, body: dict[str, Any]) -> Any:
        connection.request("POST", path, to_json(body), headers)
        answer = connection.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"POST {path}: {answer.status} {data[:500]!r}")
        return json.loads(data)

    claims: list[tuple[float, float]] = []  # (wall-clock start, seconds)
    posts: list[float] = []
    done = 0
    connection.request("GET", "/livez")  # connect before the clock starts
    connection.getresponse().read()
    # Workers with a model are out of step with each other: each starts a little apart.
    time.sleep(max(0.0, start_at - time.time()) + random.uniform(0, infer_seconds))
    cpu = time.process_time()
    while True:
        started, wall = time.perf_counter(), time.time()
        tasks = post(f"/api/v2/jobs/{job_id}/tasks/", {"batch_size": batch})["tasks"]
        claims.append((wall, time.perf_counter() - started))
        if not tasks:
            connection.close()
            return done, time.time(), claims, posts, time.process_time() - cpu
        time.sleep(random.uniform(0.5, 1.5) * infer_seconds)
        started = time.perf_counter()
        answered = post(
            f"/api/v2/jobs/{job_id}/result/", {"results": [result_for(t) for t in tasks]}
        )
        posts.append(time.perf_counter() - started)
        done += sum(1 for t in answered["tasks"] if t["status"] == "saved")


def start_job(client: Any, project_id: int, count: int) -> tuple[int, float, float]:
    """Create a job over the project; returns (id, POST seconds, seconds until running)."""
    started = time.perf_counter()
    answer = client.post(
        "/api/v2/jobs/",
        json={"project_id": project_id, "pipeline": PIPELINE, "params": {"reprocess": True}},
    )
    answer.raise_for_status()
    posted = time.perf_counter() - started
    job_id = answer.json()["id"]
    while True:
        job = client.get(f"/api/v2/jobs/{job_id}/").json()
        if job["status"] == "running" and job["counts"]["total"] == count:
            return job_id, posted, time.perf_counter() - started
        if time.perf_counter() - started > 120:
            raise RuntimeError(f"job {job_id} not running after 120 s: {job['status']}")
        time.sleep(0.02)


def cpu_seconds(pid: int) -> tuple[float, float, float]:
    """CPU seconds used so far by the process ``pid``, by all PostgreSQL processes and by all
    nats-server processes."""
    own = psutil.Process(pid).cpu_times()
    postgres = nats = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        name, times = process.info["name"] or "", process.info["cpu_times"]
        if times and name.startswith("postgres"):
            # Backends that exited are counted in the postmaster's children times.
            postgres += times.user + times.system + times.children_user + times.children_system
        elif times and name.startswith("nats-server"):
            nats += times.user + times.system
    return own.user + own.system, postgres, nats


def run_loops(
    server: Server, job_id: int, loops: int, batch: int, infer_seconds: float = 0.0
) -> tuple[int, float, list[tuple[float, float]], list[float], float]:
    """Run worker loops in separate processes.

    Returns (images, seconds, claims as (wall-clock start, seconds), post times, the loops'
    CPU seconds).
    """
    context = multiprocessing.get_context("spawn")
    with context.Pool(loops) as pool:
        # Every loop starts at the same instant, after all have started up and connected.
        start_at = time.time() + 5 + loops * 0.3
        work = [(server.base_url, server.token, job_id, batch, start_at, infer_seconds)] * loops
        outcomes = pool.map(worker_loop, work)
    images = sum(o[0] for o in outcomes)
    elapsed = max(o[1] for o in outcomes) - start_at
    claims = [t for o in outcomes for t in o[2]]
    posts = [t for o in outcomes for t in o[3]]
    return images, elapsed, claims, posts, sum(o[4] for o in outcomes)


def percentile(samples: list[float], share: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))] * 1000


PARTS = ("enqueue", "throughput", "latency")


def main(argv: list[str] | None = None) -> None:
    """Run the dispatch benchmarks from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--queue", choices=("sql", "nats"), default="sql")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--runs", type=int, default=3, help="throughput runs (median reported)")
    parser.add_argument(
        "--infer-seconds", type=float, default=2.0, help="model time per batch in the latency run"
    )
    parser.add_argument(
        "--images", type=int, help="images per throughput/latency job (default 30,000)"
    )
    parser.add_argument(
        "--slowest", type=int, default=0, help="also list the N slowest claims and when"
    )
    parser.add_argument(
        "--part",
        choices=PARTS,
        action="append",
        help="run only this part (repeatable; default: all three)",
    )
    options = parser.parse_args(argv)
    parts = options.part or list(PARTS)
    enqueue_size = 5_000 if options.quick else 100_000
    job_size = options.images or (5_000 if options.quick else 30_000)
    runs = 1 if options.quick else options.runs
    print(f"machine speed: {machine_speed_ms():.0f} ms for the reference loop (lower is faster)")
    with running_server(options.backend, options.queue) as server, server.client() as client:
        if "enqueue" in parts:
            project = make_project(client, "bench")
            load_images(server, project, enqueue_size)
            creations, queued = [], []
            for _ in range(runs):
                _, posted, ready = start_job(client, project, enqueue_size)
                creations.append(posted)
                queued.append(ready)
            print_table(
                f"enqueue ({options.backend}, {options.queue} queue, {enqueue_size:,} images)",
                ["measure", "median", "runs"],
                [
                    ["POST /jobs/ answer (ms)", statistics.median(creations) * 1000, runs],
                    ["until fully queued and running (s)", statistics.median(queued), runs],
                ],
            )
        loop_parts = [(4, "throughput", 0.0, runs), (32, "latency", options.infer_seconds, 1)]
        loop_parts = [part for part in loop_parts if part[1] in parts]
        if not loop_parts:
            return
        small = make_project(client, "bench-run")
        load_images(server, small, job_size)
        rows = []
        for loops, label, infer, repeats in loop_parts:
            rates, claims, posts = [], [], []
            timed: list[tuple[float, float]] = []
            server_cpu, database_cpu, nats_cpu, client_cpu = [], [], [], []
            for _ in range(repeats):
                job_id, _, _ = start_job(client, small, job_size)
                before = cpu_seconds(server.pid)
                images, elapsed, c, p, loops_cpu = run_loops(server, job_id, loops, 64, infer)
                after = cpu_seconds(server.pid)
                assert images == job_size, f"{images} saved of {job_size}"
                rates.append(images / elapsed)
                server_cpu.append((after[0] - before[0]) / images * 1e6)
                database_cpu.append((after[1] - before[1]) / images * 1e6)
                nats_cpu.append((after[2] - before[2]) / images * 1e6)
                client_cpu.append(loops_cpu / images * 1e6)
                claims += [seconds for _, seconds in c]
                timed += c
                posts += p
            if options.slowest:
                first = min(wall for wall, _ in timed)
                print(f"{label}: slowest claims (s after the first claim, ms):")
                for wall, seconds in sorted(timed, key=lambda t: -t[1])[: options.slowest]:
                    print(f"  {wall - first:8.2f}  {seconds * 1000:8.1f}  (at {wall:.3f})")
            rows.append(
                [
                    label,
                    loops,
                    statistics.median(rates),
                    percentile(claims, 0.5),
                    percentile(claims, 0.99),
                    percentile(claims, 0.999),
                    max(claims) * 1000,
                    percentile(posts, 0.5),
                    percentile(posts, 0.99),
                    statistics.median(server_cpu),
                    statistics.median(database_cpu) if options.backend == "postgres" else "-",
                    statistics.median(nats_cpu) if options.queue == "nats" else "-",
                    statistics.median(client_cpu),
                ]
            )
        print_table(
            f"dispatch ({options.backend}, {options.queue} queue, {job_size:,} images, "
            f"batches of 64, median of {runs} throughput runs)",
            [
                "run",
                "loops",
                "images/s",
                "claim p50 ms",
                "claim p99 ms",
                "claim p99.9 ms",
                "claim max ms",
                "result p50 ms",
                "result p99 ms",
                "server CPU µs/img",
                "PostgreSQL CPU µs/img",
                "NATS CPU µs/img",
                "loops CPU µs/img",
            ],
            rows,
        )


def make_project(client: Any, name: str) -> int:
    """A new project with the benchmark's pipeline registered."""
    project = client.post("/api/v2/projects/", json={"name": name}).json()["id"]
    client.post(f"/api/v2/projects/{project}/pipelines/", json=registration()).raise_for_status()
    return int(project)


if __name__ == "__main__":
    main()
