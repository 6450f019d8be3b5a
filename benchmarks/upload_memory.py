"""Upload memory: how much a fresh ``trapline serve`` grows while it takes small, huge PNGs.

A PNG of one flat colour compresses about 1,000 to 1: 9,400 x 9,400 RGBA pixels (353 MB
decoded) fit in ~350 KB. One request carries four such files (a few different shapes each, so
none is a duplicate of another); the server's resident memory is sampled while it answers.
The target (issue 16): the increase over the server's settled size stays under 300 MB, and the
answer, whatever it is, is never a 5xx. A second case sends files just small enough to be
decoded (5,700 x 5,700 RGBA, 124 MiB each, under the default 128 MiB per image), the most one
request can make the server hold. Run ``python benchmarks/upload_memory.py --help``.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import threading
import time
from dataclasses import dataclass

import psutil
from common import BACKENDS, Server, print_table, running_server
from PIL import Image, ImageDraw

#: Largest increase of the server's RSS, in MB, that one request may cause (issue 16).
TARGET_INCREASE_MB = 300.0
#: Seconds between two readings of the server's RSS while it works.
SAMPLE_INTERVAL = 0.005
_MB = 1024 * 1024


@dataclass(frozen=True)
class Run:
    """The server's resident memory around one upload request, in MB, and its answer."""

    baseline_mb: float
    peak_mb: float
    status: int
    seconds: float
    detail: str

    @property
    def increase_mb(self) -> float:
        """How far the peak rose above the settled size."""
        return self.peak_mb - self.baseline_mb


def huge_png(seed: int, side: int) -> bytes:
    """An RGBA PNG of side x side pixels that compresses to ~350-400 KB: one flat colour,
    a few translucent discs and a small patch of noise (so each seed is a different file)."""
    rng = random.Random(seed)
    colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256), 255)
    image = Image.new("RGBA", (side, side), colour)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        diameter = rng.randrange(side // 200 + 1, side // 20 + 2)
        x, y = rng.randrange(side - diameter + 1), rng.randrange(side - diameter + 1)
        fill = tuple(rng.randrange(256) for _ in range(4))
        draw.ellipse((x, y, x + diameter, y + diameter), fill=fill)
    patch = min(60, side // 2)
    image.paste(Image.effect_noise((patch, patch), 40).convert("RGBA"), (side // 4, side // 4))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=9)
    return buffer.getvalue()


class RssSampler:
    """Reads a process's RSS in a thread until stopped; keeps the highest reading."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._stop = threading.Event()
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(SAMPLE_INTERVAL)


def settled_rss(pid: int, *, readings: int = 10) -> int:
    """The server's RSS once idle: the median of a few readings 50 ms apart."""
    process = psutil.Process(pid)
    values = []
    for _ in range(readings):
        values.append(process.memory_info().rss)
        time.sleep(0.05)
    return int(statistics.median(values))


def measure(server: Server, pngs: list[bytes]) -> Run:
    """Warm the server up with a small upload, then send every PNG in one request."""
    with server.client(timeout=600) as client:
        project = client.post("/api/v2/projects/", json={"name": "upload memory"})
        project.raise_for_status()
        url = f"/api/v2/projects/{project.json()['id']}/images/"
        # Loads the upload path (multipart parsing, Pillow's PNG plugin, the thread pool) so
        # that the baseline already holds what any first upload would.
        warm = huge_png(0, 64)
        client.post(url, files=[("files", ("warm.png", warm, "image/png"))]).raise_for_status()
        baseline = settled_rss(server.pid)
        files = [("files", (f"huge-{i}.png", data, "image/png")) for i, data in enumerate(pngs)]
        started = time.perf_counter()
        with RssSampler(server.pid) as sampler:
            response = client.post(url, files=files)
        seconds = time.perf_counter() - started
    body = response.json()
    detail = body.get("detail") or ", ".join(
        f"{r['width']}x{r['height']}" for r in body.get("results", [])
    )
    return Run(baseline / _MB, sampler.peak / _MB, response.status_code, seconds, str(detail))


def run_all(*, files: int, sides: list[int], runs: int, backend: str) -> None:
    """One table per image side."""
    for side in sides:
        run(files=files, side=side, runs=runs, backend=backend)


def run(*, files: int, side: int, runs: int, backend: str) -> list[Run]:
    """Measure ``runs`` times, each on a fresh server, and print the table."""
    print(f"generating {files} PNGs of {side} x {side} RGBA ...", file=sys.stderr, flush=True)
    pngs = [huge_png(seed, side) for seed in range(1, files + 1)]
    sizes = ", ".join(f"{len(p) / 1000:.0f}" for p in pngs)
    results = []
    for number in range(1, runs + 1):
        with running_server(backend) as server:
            result = measure(server, pngs)
        print(
            f"  run {number}: +{result.increase_mb:.0f} MB, answer {result.status}"
            f" in {result.seconds:.1f}s: {result.detail[:200]}",
            file=sys.stderr,
            flush=True,
        )
        results.append(result)
    median_increase = statistics.median(r.increase_mb for r in results)
    rows: list[list[object]] = [
        [f"run {i}", r.baseline_mb, r.peak_mb, r.increase_mb, r.seconds, str(r.status)]
        for i, r in enumerate(results, start=1)
    ]
    rows.append(
        [
            "median",
            statistics.median(r.baseline_mb for r in results),
            statistics.median(r.peak_mb for r in results),
            median_increase,
            statistics.median(r.seconds for r in results),
            "",
        ]
    )
    server_errors = [r.status for r in results if r.status >= 500]
    verdict = "met" if median_increase < TARGET_INCREASE_MB and not server_errors else "MISSED"
    print_table(
        f"upload memory: one request of {files} PNGs of {side} x {side} RGBA ({sizes} KB),"
        f" {backend}; server RSS in MB (target: increase < {TARGET_INCREASE_MB:.0f}, no 5xx:"
        f" {verdict})",
        ["", "baseline", "peak", "increase", "seconds", "status"],
        rows,
    )
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of this benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4, help="PNGs per request (default 4)")
    parser.add_argument(
        "--side",
        type=int,
        action="append",
        help="pixels per side, repeatable (default: 9400, then 5700)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs, each on a fresh server")
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 run")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 1
    args.side = args.side or [9400, 5700]
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    args = parse_args(argv)
    run_all(files=args.files, sides=args.side, runs=args.runs, backend=args.backend)


if __name__ == "__main__":
    main()
