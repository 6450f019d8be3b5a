"""Listing latency: pages of one project of 1,000,000 images over HTTP, first and deep.

The images are bulk-loaded straight through the repository (no files behind them), then a
keep-alive client times each kind of page. Run ``python benchmarks/listing.py --help``.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from common import BACKENDS, Server, Timings, print_table, running_server, timed
from plans import explain
from sqlalchemy import text

from trapline.db.engine import Database
from trapline.domain.core.paging import ImageOrder
from trapline.domain.core.records import ImageFilter
from trapline.http.pagination import decode_cursor, encode_cursor

#: Median a first or deep page should stay under.
TARGET_MS = 30.0
#: Rows per bulk insert transaction.
BATCH_SIZE = 20_000
#: Camera stations the images are spread over.
DEPLOYMENTS = 10
#: Default share of images without a capture time (no EXIF, no time in the name).
UNKNOWN_TIME_SHARE = 0.05
#: How far into the list (as a share of it) the deep pages start.
DEEP_SHARE = 0.9
#: Page size of every request.
PAGE = 50
#: The year the capture times fall in, and the month the filtered page asks for.
YEAR_START = datetime(2024, 1, 1)
FILTER_MONTH = (datetime(2024, 6, 1), datetime(2024, 7, 1))


@dataclass(frozen=True)
class Case:
    """One kind of listing request."""

    name: str
    params: dict[str, Any]
    #: The order, filter and cursor the repository gets for this request (for plans).
    order: ImageOrder
    flt: ImageFilter
    #: Id the page must start with, when known.
    first_id: int | None = None
    #: Whether the median target applies.
    has_target: bool = True


@dataclass(frozen=True)
class CaseResult:
    """Timings of one case."""

    case: Case
    timings: Timings


def image_rows(
    start: int,
    count: int,
    project_id: int,
    deployments: list[int],
    user_id: int,
    *,
    unknown_share: float,
    seed: int,
) -> list[dict[str, Any]]:
    """``count`` plausible image rows: night-time captures over a year, in upload order."""
    rng = random.Random(seed)
    rows = []
    for number in range(start, start + count):
        sha = hashlib.sha256(number.to_bytes(8, "big")).hexdigest()
        if rng.random() < unknown_share:
            captured_at, offset, filename = None, None, f"IMG_{number:07d}.JPG"
        else:
            # Moth traps run from dusk to dawn: 19:00 to 06:00.
            night = YEAR_START + timedelta(days=rng.randrange(366), hours=19)
            captured_at = night + timedelta(seconds=rng.randrange(11 * 3600))
            offset, filename = 120, f"{captured_at:%Y%m%d%H%M%S}-{number}.jpg"
        rows.append(
            {
                "deployment_id": rng.choice(deployments),
                "storage_key": f"images/{project_id}/{sha[:2]}/{sha[2:4]}/{sha}-bench.jpg",
                "filename": filename,
                "sha256": sha,
                "size_bytes": rng.randint(1_000_000, 2_000_000),
                "width": 4000,
                "height": 3000,
                "content_type": "image/jpeg",
                "captured_at": captured_at,
                "captured_offset_minutes": offset,
                "source": "import",
                "uploaded_by": user_id,
            }
        )
    return rows


def bulk_load(
    db: Database,
    project_id: int,
    images: int,
    deployments: list[int],
    user_id: int,
    *,
    unknown_share: float = UNKNOWN_TIME_SHARE,
) -> float:
    """Insert ``images`` rows in batches; return the seconds it took."""
    started = time.perf_counter()
    for start in range(0, images, BATCH_SIZE):
        count = min(BATCH_SIZE, images - start)
        rows = image_rows(
            start,
            count,
            project_id,
            deployments,
            user_id,
            unknown_share=unknown_share,
            seed=start,
        )
        with db.write() as repos:
            repos.photos.images.bulk_insert(project_id, rows)
        done = start + count
        if done % 200_000 == 0 or done == images:
            print(f"  loaded {done:,} images", file=sys.stderr, flush=True)
    if not db.is_sqlite:
        # Autovacuum would vacuum and analyze the table within a minute or so of the load;
        # do it now so the plans measured are the ones a settled server uses.
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE images")
            )
    return time.perf_counter() - started


def deep_cursor(db: Database, project_id: int, order: ImageOrder, position: int) -> tuple[str, int]:
    """A ``next`` cursor whose page starts at ``position`` (0-based), and the id there."""
    with db.read() as repos:
        # A deep OFFSET is slow, but it runs once, outside the timings.
        images, _ = repos.photos.images.page(
            project_id, ImageFilter(), order=order, limit=2, offset=position - 1
        )
    return encode_cursor(images[0], backwards=False), images[1].id


def make_cases(
    db: Database, project_id: int, images: int, deployment: int, unknown_share: float
) -> list[Case]:
    """The requests to time."""
    position = int(images * DEEP_SHARE)
    by_capture, by_capture_first = deep_cursor(db, project_id, ImageOrder.CAPTURED, position)
    by_id, by_id_first = deep_cursor(db, project_id, ImageOrder.ID, position)
    after, before = FILTER_MONTH
    everything = ImageFilter()
    cases = [
        Case("first page, captured_at", {}, ImageOrder.CAPTURED, everything),
        Case(
            f"deep page ({position:,} in), captured_at",
            {"cursor": by_capture},
            ImageOrder.CAPTURED,
            everything,
            first_id=by_capture_first,
        ),
        Case("first page, id", {"ordering": "id"}, ImageOrder.ID, everything),
        Case(
            f"deep page ({position:,} in), id",
            {"ordering": "id", "cursor": by_id},
            ImageOrder.ID,
            everything,
            first_id=by_id_first,
        ),
        Case(
            f"filtered: deployment + {after:%B}",
            {
                "deployment": deployment,
                "captured_after": after.isoformat(),
                "captured_before": before.isoformat(),
            },
            ImageOrder.CAPTURED,
            ImageFilter(deployment_id=deployment, captured_after=after, captured_before=before),
            has_target=False,
        ),
    ]
    # Images of unknown capture time sort last and share one sort key, so only their ids
    # tell them apart: a page in the middle of them tests the cursor's tie-break.
    unknown = int(images * (1 - unknown_share / 2))
    if 0 < unknown_share < 1 and images - unknown > 2 * PAGE:
        cursor, first_id = deep_cursor(db, project_id, ImageOrder.CAPTURED, unknown)
        name = f"deep page ({unknown:,} in, no capture time)"
        cases.insert(2, Case(name, {"cursor": cursor}, ImageOrder.CAPTURED, everything, first_id))
    if unknown_share == 1:
        # Nothing has a capture time, so a month holds nothing: filter by deployment only.
        cases[-1] = Case(
            "filtered: deployment",
            {"deployment": deployment},
            ImageOrder.CAPTURED,
            ImageFilter(deployment_id=deployment),
            has_target=False,
        )
    return cases


def check_page(page: dict[str, Any], case: Case, images: int) -> None:
    """Fail loudly when a page is not what the case asked for."""
    results = page["results"]
    if len(results) != PAGE or not page["next"]:
        raise RuntimeError(f"{case.name}: {len(results)} results, next={page['next']!r}")
    if case.flt == ImageFilter() and page["count"] != images:
        raise RuntimeError(f"{case.name}: count is {page['count']}, expected {images}")
    if case.first_id is not None and results[0]["id"] != case.first_id:
        raise RuntimeError(f"{case.name}: starts at {results[0]['id']}, not {case.first_id}")
    if case.flt.deployment_id is not None and any(
        r["deployment_id"] != case.flt.deployment_id for r in results
    ):
        raise RuntimeError(f"{case.name}: an image of another deployment came back")
    after, before = case.flt.captured_after, case.flt.captured_before
    if after and before:
        # Wall-clock time is the first 19 characters, before any UTC offset.
        times = [(r["captured_at"] or "")[:19] for r in results]
        if not all(after.isoformat() <= t < before.isoformat() for t in times):
            raise RuntimeError(f"{case.name}: an image from outside the time range came back")


def measure(
    client: httpx.Client, url: str, case: Case, images: int, *, warmups: int, repeats: int
) -> Timings:
    """Check the page once, then time it."""
    params = {"limit": PAGE, **case.params}
    first = client.get(url, params=params)
    first.raise_for_status()
    check_page(first.json(), case, images)

    def request() -> None:
        client.get(url, params=params).raise_for_status()

    return timed(request, warmups=warmups, repeats=repeats)


def plan_lines(db: Database, project_id: int, case: Case) -> Iterator[str]:
    """The query plans of the repository's queries for one case."""
    cursor = decode_cursor(case.params.get("cursor"))

    def listing() -> None:
        with db.read() as repos:
            repos.photos.images.page(
                project_id, case.flt, order=case.order, limit=PAGE, cursor=cursor
            )
            repos.photos.images.count(project_id, case.flt)

    yield f"\n{case.name}:"
    yield from explain(db, listing)


def setup_project(server: Server, client: httpx.Client) -> tuple[int, list[int], int]:
    """A new project with its deployments; returns their ids and the admin's user id."""
    project = client.post("/api/v2/projects/", json={"name": "listing benchmark"})
    project.raise_for_status()
    project_id = project.json()["id"]
    deployments = []
    for number in range(1, DEPLOYMENTS + 1):
        made = client.post(
            f"/api/v2/projects/{project_id}/deployments/", json={"name": f"trap {number}"}
        )
        made.raise_for_status()
        deployments.append(made.json()["id"])
    user_id = client.get("/api/v2/users/me").json()["id"]
    return project_id, deployments, user_id


def run(
    *,
    images: int,
    backend: str,
    unknown_share: float = UNKNOWN_TIME_SHARE,
    warmups: int = 3,
    repeats: int = 30,
    show_plans: bool = False,
) -> list[CaseResult]:
    """Load, time every case and print the table (and plans of slow cases, or all)."""
    with running_server(backend) as server, server.client() as client:
        project_id, deployments, user_id = setup_project(server, client)
        db = Database.from_url(server.database_url)
        try:
            print(f"loading {images:,} images into {backend} ...", file=sys.stderr, flush=True)
            seconds = bulk_load(
                db, project_id, images, deployments, user_id, unknown_share=unknown_share
            )
            cases = make_cases(db, project_id, images, deployments[3], unknown_share)
            url = f"/api/v2/projects/{project_id}/images/"
            results = []
            for case in cases:
                timings = measure(client, url, case, images, warmups=warmups, repeats=repeats)
                results.append(CaseResult(case, timings))
            print_table(
                f"listing: {images:,} images in one project ({unknown_share:.0%} without "
                f"capture time), {backend}, limit={PAGE}, "
                f"{repeats} requests after {warmups} warm-ups (ms; target: median <= "
                f"{TARGET_MS:.0f} for first and deep pages). Loaded at "
                f"{images / seconds:,.0f} rows/s.",
                ["request", "median", "p95", "target"],
                [
                    [r.case.name, r.timings.median_ms, r.timings.p95_ms, _verdict(r)]
                    for r in results
                ],
            )
            slow = [r.case for r in results if show_plans or _verdict(r) == "MISSED"]
            if slow:
                print(f"\nquery plans ({backend}):")
                for case in slow:
                    for line in plan_lines(db, project_id, case):
                        print(line)
        finally:
            db.dispose()
    return results


def _verdict(result: CaseResult) -> str:
    if not result.case.has_target:
        return "-"
    return "met" if result.timings.median_ms <= TARGET_MS else "MISSED"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of this benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--images", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument(
        "--unknown-share",
        type=float,
        default=UNKNOWN_TIME_SHARE,
        help=f"share of images without capture time, 0 to 1 (default {UNKNOWN_TIME_SHARE})",
    )
    parser.add_argument("--requests", type=int, default=30, help="timed requests per case")
    parser.add_argument("--warmups", type=int, default=3, help="untimed requests first")
    parser.add_argument("--plans", action="store_true", help="print every case's query plan")
    parser.add_argument("--quick", action="store_true", help="smoke run: 50,000 images")
    args = parser.parse_args(argv)
    if args.quick:
        args.images = 50_000
    if args.images < 2 * PAGE:
        parser.error(f"--images must be at least {2 * PAGE} (got {args.images})")
    if not 0 <= args.unknown_share <= 1:
        parser.error(f"--unknown-share must be from 0 to 1 (got {args.unknown_share})")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    args = parse_args(argv)
    run(
        images=args.images,
        backend=args.backend,
        unknown_share=args.unknown_share,
        warmups=args.warmups,
        repeats=args.requests,
        show_plans=args.plans,
    )


if __name__ == "__main__":
    main()
