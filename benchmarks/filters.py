"""The image grid's result filters on a saved data set: kept findings against reading the
current results themselves.

Each filter (a common and a rare label, a minimum confidence, with and without detections;
alone, within the biggest deployment and within the busiest night) is asked as the grid asks
it: the count, the first page of 50 and the page before the last (by cursor from the end). The
same data answers both ways: read from ``photo_findings``/``photo_labels`` (the project's
findings kept), and read from the current results (the project marked as being worked out
again, as the filters read before findings were kept). Both must give the same count and pages.
Opening a set saved before findings were kept works them out first (``trapline admin
rebuild-findings``'s own function), and that is timed too. ``--plans`` prints each kept filter's
query plan.

    python benchmarks/filters.py --images 100k [--backend postgres] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from common import print_table
from dataset import opened, photo_count, saved
from sqlalchemy import func, select, text, update

from trapline.db.image_filters import filtered
from trapline.db.photo_findings import findings_kept
from trapline.db.tables import ProjectRow
from trapline.domain.core.paging import Cursor, ImageOrder
from trapline.domain.core.records import ImageFilter
from trapline.platform import Platform
from trapline.services.photos.findings import rebuild_findings

ORDER = ImageOrder.CAPTURED_DESC
PAGE = 50


def filters(manifest: dict[str, Any]) -> dict[str, ImageFilter]:
    """The filters measured, by name."""
    night = manifest["busiest_night"]
    evening = datetime.fromisoformat(night["night"]) + timedelta(hours=12)
    scopes = {
        "": ImageFilter(),
        " in the biggest deployment": ImageFilter(deployment_id=manifest["biggest_deployment_id"]),
        " on the busiest night": ImageFilter(
            deployment_id=night["deployment_id"],
            captured_after=evening,
            captured_before=evening + timedelta(days=1),
        ),
    }
    asked = {
        "label (common)": {"label": manifest["common_label"]},
        "label (rare)": {"label": manifest["rare_label"]},
        "min_confidence 0.9": {"min_confidence": 0.9},
        "with detections": {"has_detections": True},
        "without detections": {"has_detections": False},
    }
    return {
        name + where: replace(scope, **fields)
        for name, fields in asked.items()
        for where, scope in scopes.items()
    }


def ask(platform: Platform, project_id: int, flt: ImageFilter) -> tuple[int, list[int], list[int]]:
    """What the grid asks: the count, the first page, and the page before the last."""
    with platform.db.read() as repos:
        count = repos.photos.images.count(project_id, flt)
        first, _ = repos.photos.images.page(project_id, flt, order=ORDER, limit=PAGE)
        flipped = ImageOrder.CAPTURED
        last, _ = repos.photos.images.page(project_id, flt, order=flipped, limit=1)
        deep: list[int] = []
        if last:
            cursor = Cursor(last[0].captured_at, last[0].id, backwards=True)
            before, _ = repos.photos.images.page(
                project_id, flt, order=ORDER, limit=PAGE, cursor=cursor
            )
            deep = [i.id for i in before]
    return count, [i.id for i in first], deep


def timed(platform: Platform, project_id: int, flt: ImageFilter, repeats: int) -> tuple[Any, float]:
    """The answer and the median milliseconds of ``repeats`` askings (after one untimed)."""
    answer = ask(platform, project_id, flt)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        ask(platform, project_id, flt)
        samples.append((time.perf_counter() - start) * 1000)
    return answer, statistics.median(samples)


def keeping(platform: Platform, project_id: int, kept: bool) -> None:
    """Make the project's filters read the kept findings, or the current results."""
    with platform.db.write() as repos:
        repos.session.execute(
            update(ProjectRow)
            .where(ProjectRow.id == project_id)
            .values(findings_rebuilt_to=None if kept else 0)
        )


def plans(platform: Platform, project_id: int, flt: ImageFilter) -> str:
    with platform.db.read() as repos:
        walked = repos.photos.images._walk(project_id, flt)
        query = filtered(select(func.count()), project_id, flt, None, walked)
        dialect = repos.session.get_bind().dialect
        sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN " if dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        return "\n".join(str(r[-1]) for r in repos.session.execute(text(explain + sql)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", default="100k", help="saved set size (10k, 100k, 1m)")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeats", type=int, default=5, help="timed askings of each filter")
    parser.add_argument(
        "--live-repeats", type=int, default=3, help="the same, read live (0: not read live)"
    )
    parser.add_argument("--plans", action="store_true", help="print the kept filters' plans")
    parser.add_argument(
        "--rebuild", action="store_true", help="work every project's findings out again first"
    )
    args = parser.parse_args()
    dataset = saved(args.backend, photo_count(args.images))
    if dataset is None:
        raise SystemExit(f"no saved {args.backend} set of {args.images}: run dataset.py first")
    manifest = dataset.__dict__
    project_id = dataset.project_id
    with opened(dataset) as platform:
        if args.rebuild:
            with platform.db.write() as repos:
                repos.session.execute(update(ProjectRow).values(findings_rebuilt_to=0))
        with platform.db.read() as repos:
            kept = findings_kept(repos.session, project_id)
        if not kept:
            start = time.perf_counter()
            rebuild_findings(platform.db)
            print(f"findings worked out for every project in {time.perf_counter() - start:.1f} s")
        rows = []
        for name, flt in filters(manifest).items():
            keeping(platform, project_id, True)
            fast, fast_ms = timed(platform, project_id, flt, args.repeats)
            if args.plans:
                print(f"-- {name}\n{plans(platform, project_id, flt)}")
            if not args.live_repeats:
                rows.append([name, f"{fast[0]:,}", f"{fast_ms:.1f}", "-", "-"])
                continue
            keeping(platform, project_id, False)
            slow, slow_ms = timed(platform, project_id, flt, args.live_repeats)
            keeping(platform, project_id, True)
            if fast != slow:
                raise SystemExit(f"{name}: kept findings answer {fast[0]}, the results {slow[0]}")
            rows.append([name, f"{fast[0]:,}", f"{fast_ms:.1f}", f"{slow_ms:.1f}",
                         f"{slow_ms / fast_ms:.0f}"])  # fmt: skip
    title = (
        f"result filters, {args.backend}, {dataset.images:,}-photo set (count + first page + "
        f"page before the last), medians of {args.repeats} kept and {args.live_repeats} live"
    )
    print_table(title, ["filter", "matches", "kept ms", "live ms", "live / kept"], rows)


if __name__ == "__main__":
    main()
