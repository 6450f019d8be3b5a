"""Callback API benchmarks: bulk annotations and a simulated external pipeline's throughput.

- bulk: one signed ``annotations:bulk`` post of 5,000 boxes (about 1.2 MB); the request's
  wall time as the client sees it, from sending the signed body to the whole answer read
  (target ≤ 1 s), median of ``--runs`` posts, each to a fresh analysis;
- throughput: ``--clients`` processes (default 4) each loop create → bulk of 20 boxes →
  finalize over HTTP with HMAC for ``--seconds``; analyses/s over all of them.

    python benchmarks/callback.py [--backend sqlite|postgres] [--runs 5] [--clients 4]
                                  [--seconds 20]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from common import Server, machine_speed_ms, print_table, running_server

from trapline.client.simulation import sign
from trapline.imaging.synthetic import light_trap_jpeg

SECRET = "bench-callback-secret"
WIDTH, HEIGHT = 640, 480


def boxes(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` distinct boxes inside the image."""
    items = []
    for n in range(count):
        x, y = (n * 7 + seed) % (WIDTH - 20), (n * 13 + seed) % (HEIGHT - 20)
        items.append(
            {
                "annotation_type": "bounding_box",
                "class_name": "moth",
                "confidence": 0.5 + (n % 50) / 100,
                "data": {"x_min": x, "y_min": y, "x_max": x + 10 + n % 9, "y_max": y + 12,
                         "image_width": WIDTH, "image_height": HEIGHT},
            }
        )  # fmt: skip
    return items


def setup(server: Server) -> list[int]:
    """A project with a few images; their ids."""
    with server.client() as client:
        project = client.post("/api/v2/projects/", json={"name": "callback bench"}).json()["id"]
        files = [
            ("files", (f"b{n}.jpg", io.BytesIO(light_trap_jpeg(n, width=WIDTH, height=HEIGHT))))
            for n in range(8)
        ]
        answer = client.post(f"/api/v2/projects/{project}/images/", files=files)
        answer.raise_for_status()
        return [int(r["id"]) for r in answer.json()["results"]]


def signed(client: httpx.Client, path: str, payload: dict[str, Any]) -> httpx.Response:
    body = json.dumps(payload).encode()
    answer = client.post(path, content=body, headers=sign(SECRET, body))
    answer.raise_for_status()
    return answer


def create(client: httpx.Client, image_id: int) -> int:
    answer = client.post(
        f"/api/images/{image_id}/analyses", json={"model_name": "bench", "model_version": "1"}
    )
    answer.raise_for_status()
    return int(answer.json()["id"])


def bulk_times(server: Server, images: list[int], runs: int) -> list[float]:
    seconds = []
    with server.client() as client:
        for run in range(runs):
            aid = create(client, images[run % len(images)])
            # The body is made and signed before the clock starts: the request is measured.
            body = json.dumps({"annotations": boxes(5000, run), "mode": "append"}).encode()
            headers = sign(SECRET, body)
            started = time.perf_counter()
            answer = client.post(
                f"/api/analyses/{aid}/annotations:bulk", content=body, headers=headers
            )
            seconds.append(time.perf_counter() - started)
            answer.raise_for_status()
            assert answer.json()["total"] == 5000
    return seconds


def _loop(url: str, token: str, images: list[int], until: float, out: Any) -> None:
    done = 0
    client = httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=60)
    n = os.getpid()
    while time.time() < until:
        aid = create(client, images[(n + done) % len(images)])
        # A signature is good for one call: a body naming its analysis (the server ignores
        # the field) is never the same signature as another client's in the same second.
        posted = {"annotations": boxes(20, n + done), "mode": "append", "analysis_id": aid}
        signed(client, f"/api/analyses/{aid}/annotations:bulk", posted)
        signed(client, f"/api/analyses/{aid}/finalize", {"status": "completed", "analysis_id": aid})
        done += 1
    out.put(done)


def throughput(server: Server, images: list[int], clients: int, seconds: float) -> float:
    queue: Any = multiprocessing.Queue()
    started = time.time()
    until = started + seconds
    work = (server.base_url, server.token, images, until, queue)
    procs = [multiprocessing.Process(target=_loop, args=work) for _ in range(clients)]
    for p in procs:
        p.start()
    total = sum(queue.get(timeout=seconds + 120) for _ in procs)
    for p in procs:
        p.join()
    return total / (time.time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgres"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    os.environ["ML_CALLBACK_HMAC_SECRET"] = SECRET
    # Every analysis of the throughput loop lands on a few images.
    os.environ["ML_MAX_ANALYSES_PER_IMAGE"] = "1000000"
    speed = machine_speed_ms()
    with running_server(args.backend) as server:
        images = setup(server)
        times = bulk_times(server, images, args.runs)
        rate = throughput(server, images, args.clients, args.seconds)
    runs = ", ".join(f"{t:.2f}" for t in times)
    median = statistics.median(times)
    print_table(
        f"Callback API, {args.backend} (machine speed {speed:.1f} ms)",
        ["measure", "runs", "median", "target"],
        [
            ["5,000 boxes in one bulk post (s)", runs, round(median, 3),
             "≤ 1 s: " + ("met" if median <= 1 else "missed")],
            [f"{args.clients} clients: create → bulk 20 → finalize (analyses/s)", "1",
             round(rate, 1), "(reported)"],
        ],
    )  # fmt: skip


if __name__ == "__main__":
    main()
