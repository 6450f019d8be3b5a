"""Web page speed: the image grid and the viewer with 500 boxes, in a project of N images.

The images are bulk-loaded behind a real ``trapline serve`` (no files behind them); one image
gets an analysis of 500 detections through the worker protocol. A person signs in through the
sign-in form and a keep-alive client times each page (round trips on loopback: server time
plus a fraction of a millisecond). ``--browser`` also times Chromium (``/usr/bin/chromium``)
building the viewer page with its 500 SVG boxes. Run ``python benchmarks/web_pages.py --help``.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path
from typing import Any

import httpx
from common import BACKENDS, Server, print_table, running_server, timed
from listing import DEEP_SHARE, bulk_load, deep_cursor, setup_project

from trapline.db.engine import Database
from trapline.domain.core.paging import ImageOrder
from trapline.services.core import accounts

#: Median server time a grid page or the viewer should stay under.
TARGET_MS = 100.0
#: Detections drawn on the viewer's image.
BOXES = 500
PASSWORD = "benchmark password"
SLUG = "bench-boxes"
CHROMIUM = Path("/usr/bin/chromium")


def _pipeline() -> dict[str, Any]:
    return {
        "processing_service_name": "benchmark",
        "pipelines": [
            {
                "name": "Benchmark boxes",
                "slug": SLUG,
                "version": 1,
                "algorithms": [
                    {"name": "det", "key": "bench-det", "task_type": "detection", "version": 1},
                    {
                        "name": "cls",
                        "key": "bench-cls",
                        "task_type": "classification",
                        "version": 1,
                        "category_map": {
                            "labels": ["moth", "beetle", "fly"],
                            "data": [
                                {"label": x, "index": i}
                                for i, x in enumerate(["moth", "beetle", "fly"])
                            ],
                        },
                    },
                ],
                "stages": [],
            }
        ],
    }


def boxes_on(client: httpx.Client, project_id: int, image_id: int, width: int, height: int) -> None:
    """Store an analysis of ``BOXES`` detections on one image, as a worker would."""
    client.post(f"/api/v2/projects/{project_id}/pipelines/", json=_pipeline()).raise_for_status()
    job = client.post(
        "/api/v2/jobs/", json={"project_id": project_id, "pipeline": SLUG, "image_ids": [image_id]}
    )
    job.raise_for_status()
    job_id = job.json()["id"]
    tasks: list[dict[str, Any]] = []
    for _ in range(200):
        tasks = client.post(f"/api/v2/jobs/{job_id}/tasks/", json={"batch_size": 1}).json()["tasks"]
        if tasks:
            break
    if not tasks:
        raise RuntimeError("the benchmark job handed out no task")
    rng = random.Random(7)
    detections = []
    for _ in range(BOXES):
        x, y = rng.uniform(0, width - 60), rng.uniform(0, height - 60)
        score = rng.random()
        detections.append(
            {
                "source_image_id": str(image_id),
                "bbox": {
                    "x1": x,
                    "y1": y,
                    "x2": x + rng.uniform(10, 60),
                    "y2": y + rng.uniform(10, 60),
                },
                "inference_time": 0.01,
                "algorithm": {"name": "det", "key": "bench-det"},
                "timestamp": "2024-06-21T22:00:00",
                "classifications": [
                    {
                        "classification": "moth",
                        "labels": ["moth", "beetle", "fly"],
                        "scores": [score, (1 - score) / 2, (1 - score) / 2],
                        "algorithm": {"name": "cls", "key": "bench-cls"},
                        "terminal": True,
                        "timestamp": "2024-06-21T22:00:00",
                    }
                ],
            }
        )
    result = {
        "pipeline": SLUG,
        "total_time": 1.0,
        "source_images": [{"id": str(image_id), "url": tasks[0]["image_url"]}],
        "detections": detections,
    }
    posted = client.post(
        f"/api/v2/jobs/{job_id}/result/",
        json={"results": [{"reply_subject": tasks[0]["reply_subject"], "result": result}]},
    )
    posted.raise_for_status()
    if posted.json()["tasks"][0]["status"] != "saved":
        raise RuntimeError(f"the 500 boxes were not stored: {posted.text}")


def signed_in(server: Server, db: Database, user_id: int) -> httpx.Client:
    """A browser-like client with a session, signed in through the form."""
    accounts.set_password(db, None, user_id, PASSWORD)
    browser = httpx.Client(base_url=server.base_url, timeout=120)
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', browser.get("/signin").text)
    assert token
    answer = browser.post(
        "/signin",
        data={"csrf": token.group(1), "email": "bench@example.org", "password": PASSWORD},
    )
    if "trapline_session" not in browser.cookies:
        raise RuntimeError(f"could not sign in: {answer.status_code}")
    return browser


def chromium_build_ms(
    server: Server, browser: httpx.Client, path: str, repeats: int
) -> list[float]:
    """Milliseconds from the first byte of the viewer page to its load event, in Chromium."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = chrome.new_context(viewport={"width": 1280, "height": 860})
        context.add_cookies(
            [
                {
                    "name": "trapline_session",
                    "value": browser.cookies["trapline_session"],
                    "url": server.base_url,
                }
            ]
        )
        page = context.new_page()
        for _ in range(repeats + 2):
            page.goto(f"{server.base_url}{path}")
            drawn = page.eval_on_selector_all("#overlay .det", "gs => gs.length")
            if drawn != BOXES:
                raise RuntimeError(f"the viewer drew {drawn} boxes, not {BOXES}")
            times.append(
                page.evaluate(
                    "() => { const n = performance.getEntriesByType('navigation')[0];"
                    " return n.loadEventEnd - n.responseStart; }"
                )
            )
        chrome.close()
    return sorted(times[2:])


def run(*, images: int, backend: str, warmups: int, repeats: int, browser_too: bool) -> None:
    """Load, time the pages and print the table."""
    with running_server(backend) as server, server.client() as client:
        project_id, deployments, user_id = setup_project(server, client)
        db = Database.from_url(server.database_url)
        try:
            print(f"loading {images:,} images into {backend} ...", file=sys.stderr, flush=True)
            bulk_load(db, project_id, images, deployments, user_id)
            newest = client.get(
                f"/api/v2/projects/{project_id}/images/",
                params={"ordering": "-captured_at", "limit": 3},
            ).json()["results"][1]
            boxes_on(client, project_id, newest["id"], newest["width"], newest["height"])
            cursor, _ = deep_cursor(
                db, project_id, ImageOrder.CAPTURED_DESC, int(images * DEEP_SHARE)
            )
            browser = signed_in(server, db, user_id)
            pages = {
                "grid, first page": f"/projects/{project_id}/images",
                f"grid, {int(images * DEEP_SHARE):,} in (cursor)": (
                    f"/projects/{project_id}/images?cursor={cursor}"
                ),
                "grid, filtered by deployment": (
                    f"/projects/{project_id}/images?deployment={deployments[3]}"
                ),
                f"viewer, {BOXES} boxes": f"/images/{newest['id']}",
            }
            rows = []
            for name, path in pages.items():
                answer = browser.get(path)
                answer.raise_for_status()
                if "viewer" in name and answer.text.count('class="det') != BOXES:
                    raise RuntimeError("the viewer page does not hold every box")
                timings = timed(
                    lambda p=path: browser.get(p).raise_for_status(),
                    warmups=warmups,
                    repeats=repeats,
                )
                verdict = "met" if timings.median_ms <= TARGET_MS else "MISSED"
                rows.append([name, timings.median_ms, timings.p95_ms, verdict])
            if browser_too and CHROMIUM.exists():
                drawn = chromium_build_ms(
                    server, browser, pages[f"viewer, {BOXES} boxes"], repeats=10
                )
                rows.append(
                    [
                        f"Chromium: viewer page with {BOXES} boxes, first byte to load",
                        drawn[len(drawn) // 2],
                        drawn[-1],
                        "-",
                    ]
                )
            print_table(
                f"web pages: {images:,} images in one project, {backend}, {repeats} requests after "
                f"{warmups} warm-ups (ms; target: median <= {TARGET_MS:.0f})",
                ["page", "median", "p95 (max for Chromium)", "target"],
                rows,
            )
        finally:
            db.dispose()


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="10,000 images, fewer repeats")
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--browser", action="store_true", help="also time Chromium drawing")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    images = 10_000 if args.quick else args.images
    repeats = 10 if args.quick else args.repeats
    run(images=images, backend=args.backend, warmups=3, repeats=repeats, browser_too=args.browser)


if __name__ == "__main__":
    main()
