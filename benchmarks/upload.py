"""Upload throughput: one keep-alive client sending 1-2 MB JPEGs to a fresh ``trapline serve``.

Each image costs the server a hash, a scaled-down decode, two thumbnails (256 and 1024 px),
three blob writes and one row. Run ``python benchmarks/upload.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from common import BACKENDS, Server, print_table, running_server

from trapline.imaging.synthetic import noisy_jpeg

#: Images per second one client should reach on SQLite.
TARGET_IMAGES_PER_SECOND = 50.0
#: Files sent per request in each mode.
#: (files per request, requests in flight) of each mode. One client process throughout; a
#: browser or an uploading script keeps several requests in flight, as the last modes do.
MODES = ((1, 1), (10, 1), (1, 4), (5, 4))
#: Byte sizes asked of noisy_jpeg; it lands within 30%, so the files stay within 1-2 MB.
TARGET_BYTES = (1_150_000, 1_700_000)


@dataclass(frozen=True)
class Photo:
    """One pre-generated upload."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class ModeResult:
    """Images per second of each run of one mode."""

    files_per_request: int
    in_flight: int
    rates: list[float]

    @property
    def median(self) -> float:
        """The median rate over the runs."""
        return statistics.median(self.rates)


def make_photos(count: int, seed: int = 1) -> list[Photo]:
    """``count`` different photo-like JPEGs of 1-2 MB, with a capture time in the file name."""
    rng = random.Random(seed)
    sizes = [rng.randint(*TARGET_BYTES) for _ in range(count)]
    seeds = [seed * 100_000 + i for i in range(count)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        blobs = list(pool.map(noisy_jpeg, seeds, sizes, chunksize=4))
    first_night = datetime(2024, 6, 1, 21, 0, 0)
    return [
        Photo(f"trap-{first_night + timedelta(minutes=2 * i):%Y%m%d%H%M%S}.jpg", data)
        for i, data in enumerate(blobs)
    ]


def upload_all(server: Server, photos: list[Photo], per_request: int, in_flight: int = 1) -> float:
    """Upload every photo into a new project; return images per second."""
    with server.client() as client:
        project = client.post("/api/v2/projects/", json={"name": "upload benchmark"})
        project.raise_for_status()
        project_id = project.json()["id"]
        url = f"/api/v2/projects/{project_id}/images/"

        def send(batch: list[Photo]) -> None:
            files = [("files", (p.filename, p.data, "image/jpeg")) for p in batch]
            response = client.post(url, files=files)
            if response.status_code != 201:
                raise RuntimeError(f"upload failed: {response.status_code} {response.text}")
            results = response.json()["results"]
            if len(results) != len(batch) or any(r["duplicate"] for r in results):
                raise RuntimeError(f"unexpected upload results: {results}")

        batches = [photos[i : i + per_request] for i in range(0, len(photos), per_request)]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=in_flight) as pool:
            list(pool.map(send, batches))
        elapsed = time.perf_counter() - started
        stored = client.get(f"/api/v2/projects/{project_id}").json()["image_count"]
    if stored != len(photos):
        raise RuntimeError(f"the project has {stored} images, expected {len(photos)}")
    return len(photos) / elapsed


def run(*, images: int, runs: int, backend: str = "sqlite") -> list[ModeResult]:
    """Measure every mode ``runs`` times, each on a fresh server, and print the table."""
    print(f"generating {images} JPEGs ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    photos = make_photos(images)
    sizes = [len(p.data) for p in photos]
    print(
        f"generated in {time.perf_counter() - started:.0f}s: {min(sizes) / 1e6:.2f}-"
        f"{max(sizes) / 1e6:.2f} MB, mean {statistics.mean(sizes) / 1e6:.2f} MB",
        file=sys.stderr,
        flush=True,
    )
    results = []
    for per_request, in_flight in MODES:
        rates = []
        for number in range(1, runs + 1):
            with running_server(backend) as server:
                rate = upload_all(server, photos, per_request, in_flight)
            print(
                f"  {per_request} file(s)/request, {in_flight} in flight, run {number}: "
                f"{rate:.1f} images/s",
                file=sys.stderr,
                flush=True,
            )
            rates.append(rate)
        results.append(ModeResult(per_request, in_flight, rates))
    mean_mb = statistics.mean(sizes) / 1e6
    print_table(
        f"upload: {images} JPEGs of {mean_mb:.2f} MB on average, one client, {backend}, "
        f"thumbnails made at upload (images/s; target >= {TARGET_IMAGES_PER_SECOND:.0f})",
        [
            "files/request",
            "in flight",
            *(f"run {i}" for i in range(1, runs + 1)),
            "median",
            "MB/s",
            "target",
        ],
        [
            [
                r.files_per_request,
                r.in_flight,
                *r.rates,
                r.median,
                r.median * mean_mb,
                "met" if r.median >= TARGET_IMAGES_PER_SECOND else "MISSED",
            ]
            for r in results
        ],
    )
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of this benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=150, help="images per run (default 150)")
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (default 3)")
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 images, 1 run")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.runs = 20, 1
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    args = parse_args(argv)
    run(images=args.images, runs=args.runs, backend=args.backend)


if __name__ == "__main__":
    main()
