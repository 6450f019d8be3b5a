"""The record table streamed as CSV: time and memory of one project's whole table.

On the benchmark data set (``dataset.py``, made once per size and backend), the app runs in
this process and ``GET /projects/{id}/record-table?format=csv&min_delta_minutes=…`` is read to
its last byte, ``--repeats`` times; a thread reads the process's RSS every 20 ms. The goal
(docs/benchmarks.md): a 1,000,000-photo project's table in at most 60 s with RSS growth of at
most 150 MB; smaller data sets are projected linearly to a million photos. Run
``python benchmarks/record_table.py --help`` (or ``pages.py --record-table``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

from common import machine_speed_ms, print_table
from dataset import OWNER, Dataset, describe, ensure, opened, photo_count
from exports import PeakRss
from fastapi.testclient import TestClient

from trapline.app import create_app
from trapline.services.core import users

#: The goal: seconds per 1,000,000 photos and RSS growth (MB).
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 150.0
HEADERS = ("backend", "photos", "records", "median s", "s per 1M photos", "max RSS +MB",
           "CSV MB", "goal")  # fmt: skip


def measure(dataset: Dataset, *, repeats: int = 3, minutes: float = 30) -> list[object]:
    """Stream the data set's record table ``repeats`` times; the printed table's row."""
    runs: list[tuple[float, float, int, int]] = []
    with opened(dataset) as platform:
        token = users.create_token_for_email(platform.db, OWNER, "record table benchmark").secret
        headers = {"Authorization": f"Token {token}"}
        path = f"/api/v2/projects/{dataset.project_id}/record-table"
        params: dict[str, Any] = {"format": "csv", "min_delta_minutes": minutes}
        with TestClient(create_app(platform)) as client:
            for _ in range(repeats):
                size = lines = 0
                began = time.perf_counter()
                with PeakRss(os.getpid()) as rss, client.stream("GET", path, params=params,
                                                     headers=headers) as answer:  # fmt: skip
                    assert answer.status_code == 200, answer.read()
                    for piece in answer.iter_bytes():
                        size += len(piece)
                        lines += piece.count(b"\n")
                seconds = time.perf_counter() - began
                runs.append((seconds, rss.growth_mb, size, lines - 1))
                print(f"  {seconds:.2f} s, RSS +{rss.growth_mb:.0f} MB, {lines - 1:,} records",
                      file=sys.stderr, flush=True)  # fmt: skip
    median = statistics.median(r[0] for r in runs)
    projected = median * 1_000_000 / dataset.images
    growth = max(r[1] for r in runs)
    met = projected <= TARGET_SECONDS and growth <= TARGET_RSS_MB
    return [dataset.backend, dataset.images, runs[0][3], round(median, 2), round(projected, 1),
            round(growth), round(runs[0][2] / 1e6, 1), "met" if met else "MISSED"]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=photo_count, default=1_000_000, help="10k, 100k, 1m…")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=30, help="min_delta_minutes")
    parser.add_argument("--fresh", action="store_true", help="make the data set again")
    args = parser.parse_args(argv)
    rows = []
    for backend in ["sqlite", "postgres"] if args.backend == "both" else [args.backend]:
        dataset = ensure(backend, args.images, fresh=args.fresh)
        print(describe(dataset))
        print(f"machine speed now: {machine_speed_ms():.0f} ms", flush=True)
        rows.append(measure(dataset, repeats=args.repeats, minutes=args.minutes))
    print_table("record table streamed as CSV", list(HEADERS), rows)


if __name__ == "__main__":
    main()
