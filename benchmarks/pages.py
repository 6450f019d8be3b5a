"""Every page a person opens daily, and the API's listings, timed on the benchmark data set.

The data set (``dataset.py``) is made once per size and backend and reused. The app runs in
this process over it (no background duties); a person signs in through the form, a token
calls the API. Each page is asked for ``--warmups`` times, then ``--repeats`` times timed
(fewer, at least three, for a page slower than ``--budget`` seconds in all); the time is the
server's own, from the app being called to the last byte of its answer (an ASGI
wrapper around the app), so the client's cost is not in it. Every answer must be 200.
Run ``python benchmarks/pages.py --help``.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any

import record_table
from common import machine_speed_ms, print_table
from dataset import (
    OWNER,
    PASSWORD,
    Dataset,
    counted_by,
    describe,
    ensure,
    opened,
    photo_count,
)
from fastapi.testclient import TestClient
from listing import deep_cursor
from sqlalchemy import text

from trapline.app import create_app
from trapline.domain.core.paging import ImageOrder
from trapline.http.pagination import encode_position
from trapline.platform import Platform
from trapline.services.core import users

API = "/api/v2"
#: How deep into the grid (a share of the project's photos) the deep page starts.
DEEP_SHARE = 0.9

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ServerTime:
    """The app, timed: each HTTP request's seconds from its call to the end of its body."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last = time.perf_counter() - started

        await self.app(scope, receive, timed_send)


def _ids(platform: Platform, dataset: Dataset) -> dict[str, Any]:
    """The objects the pages show: a busy event, a photo with results, an occurrence, a
    genus, and a cursor deep into the grid."""
    p = dataset.project_id
    with platform.db.read() as repos:
        one = repos.session.execute
        event = one(text(
            "SELECT event_id FROM occurrences WHERE project_id = :p GROUP BY event_id"
            " ORDER BY count(*) DESC, event_id LIMIT 1"), {"p": p}).scalar_one()  # fmt: skip
        image = one(text(
            "SELECT image_id FROM analyses WHERE project_id = :p GROUP BY image_id"
            " ORDER BY count(*) DESC, image_id DESC LIMIT 1"), {"p": p}).scalar_one()  # fmt: skip
        occurrence = one(text(
            "SELECT id FROM occurrences WHERE project_id = :p ORDER BY detection_count DESC, id"
            " LIMIT 1"), {"p": p}).scalar_one()  # fmt: skip
        genus = one(text(
            "SELECT t.parent_id FROM occurrences o JOIN taxa t ON t.id = o.taxon_id"
            " WHERE o.project_id = :p AND t.rank = 'species' GROUP BY t.parent_id"
            " ORDER BY count(*) DESC LIMIT 1"), {"p": p}).scalar_one()  # fmt: skip
        # The project's listing of occurrences, 90% deep into its counting pipeline's.
        counted = {"p": p, "pl": counted_by(repos, p)}
        deep_occurrence = one(text(
            "SELECT first_seen_at, id FROM occurrences WHERE project_id = :p AND pipeline = :pl"
            " ORDER BY first_seen_at, id LIMIT 1 OFFSET (SELECT count(*) * 9 / 10"
            " FROM occurrences WHERE project_id = :p AND pipeline = :pl)"),
            counted).one()  # fmt: skip
    seen = deep_occurrence[0]
    seen = datetime.fromisoformat(seen) if isinstance(seen, str) else seen
    position = int(dataset.images * DEEP_SHARE)
    cursor, _ = deep_cursor(platform.db, p, ImageOrder.CAPTURED_DESC, position)
    api_cursor, _ = deep_cursor(platform.db, p, ImageOrder.CAPTURED, position)
    return {"p": p, "d": dataset.deployment_ids[0], "e": event, "i": image, "o": occurrence,
            "t": genus, "cursor": cursor, "api_cursor": api_cursor, "deep": position,
            "o_cursor": encode_position(seen, int(deep_occurrence[1]))}  # fmt: skip


def pages(ids: dict[str, Any]) -> list[tuple[str, str]]:
    """(what, path) of each web page."""
    p, deep = ids["p"], f"{ids['deep']:,}"
    return [
        ("project", f"/projects/{p}"),
        ("deployment", f"/deployments/{ids['d']}"),
        ("event (the busiest night)", f"/events/{ids['e']}"),
        ("images grid, first page", f"/projects/{p}/images"),
        (f"images grid, {deep} deep", f"/projects/{p}/images?cursor={ids['cursor']}"),
        ("viewer (3 analyses)", f"/images/{ids['i']}"),
        ("species", f"/projects/{p}/species"),
        ("taxon (the commonest genus)", f"/projects/{p}/taxa/{ids['t']}"),
        ("labels", f"/projects/{p}/labels"),
        ("identify", f"/projects/{p}/identify"),
        ("review queue", f"/projects/{p}/review"),
        ("occurrence (the longest)", f"/occurrences/{ids['o']}"),
        ("jobs", f"/projects/{p}/jobs"),
    ]


def api_listings(ids: dict[str, Any]) -> list[tuple[str, str]]:
    """(what, path) of each API listing."""
    p, deep = ids["p"], f"{ids['deep']:,}"
    return [
        ("images, first page", f"{API}/projects/{p}/images?limit=50"),
        (f"images, {deep} deep", f"{API}/projects/{p}/images?limit=50&cursor={ids['api_cursor']}"),
        ("deployments", f"{API}/projects/{p}/deployments"),
        ("a deployment's events", f"{API}/deployments/{ids['d']}/events"),
        ("an event's occurrences", f"{API}/events/{ids['e']}/occurrences"),
        ("annotations, first page", f"{API}/projects/{p}/annotations?limit=50"),
        ("species", f"{API}/projects/{p}/species"),
        ("labels", f"{API}/projects/{p}/labels"),
        ("identification queue", f"{API}/projects/{p}/identification-queue"),
        ("taxa, first page", f"{API}/projects/{p}/taxa?limit=50"),
        ("jobs", f"{API}/jobs?project_id={p}"),
        ("an occurrence", f"{API}/occurrences/{ids['o']}"),
        ("occurrences, first page", f"{API}/projects/{p}/occurrences"),
        ("occurrences, 90% deep", f"{API}/projects/{p}/occurrences?cursor={ids['o_cursor']}"),
        ("occurrences of a genus", f"{API}/projects/{p}/occurrences?taxon={ids['t']}"),
        ("occurrences a person determined", f"{API}/projects/{p}/occurrences?determined_by=person"),
        (
            "occurrences of a deployment, sure ones",
            f"{API}/projects/{p}/occurrences?deployment={ids['d']}&min_score=0.9",
        ),
        (
            "occurrences, needing identification",
            f"{API}/projects/{p}/occurrences?needs_identification=true",
        ),
        ("occurrences of an event", f"{API}/projects/{p}/occurrences?event={ids['e']}"),
        ("events, first page", f"{API}/projects/{p}/events"),
        ("counts: species x night", f"{API}/projects/{p}/counts?by=night&rank=species"),
        (
            "counts: species x night x deployment",
            f"{API}/projects/{p}/counts?by=night,deployment&rank=species",
        ),
        (
            "counts: species x night x deployment, CSV",
            f"{API}/projects/{p}/counts?by=night,deployment&rank=species&format=csv",
        ),
        ("counts: species x hour", f"{API}/projects/{p}/counts?by=hour&rank=species"),
    ]


def _signed_in(client: TestClient) -> None:
    page = client.get("/signin").text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no sign-in form"
    answer = client.post(
        "/signin",
        data={"csrf": found.group(1), "email": OWNER, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


class Plan:
    """How often each page is asked for: ``warmups`` untimed, then ``repeats`` timed, fewer
    (never under ``LEAST``) once a page has taken ``budget`` seconds."""

    LEAST = 3

    def __init__(self, warmups: int, repeats: int, budget: float) -> None:
        self.warmups, self.repeats, self.budget = warmups, repeats, budget


def _time(
    client: TestClient, timer: ServerTime, path: str, plan: Plan,
    headers: dict[str, str] | None = None,
) -> tuple[list[float], int]:  # fmt: skip
    """Server seconds of the timed answers, and the answer's size."""
    samples: list[float] = []
    size, spent = 0, 0.0
    for n in range(plan.warmups + plan.repeats):
        answer = client.get(path, headers=headers)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:300]}")
        size, spent = len(answer.content), spent + timer.last
        if n >= plan.warmups:
            samples.append(timer.last)
            if spent > plan.budget and len(samples) >= plan.LEAST:
                break
    return samples, size


def _row(what: str, samples: list[float], size: int) -> list[object]:
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return [what, round(statistics.median(samples) * 1000, 1), round(p95 * 1000, 1),
            len(samples), round(size / 1024, 1)]  # fmt: skip


def run(dataset: Dataset, plan: Plan, only: str = "") -> list[list[object]]:
    """Time every page and listing on the data set; the table's rows (a page that answered
    other than 200 has its answer in place of its times, and the run goes on)."""
    rows: list[list[object]] = []
    with opened(dataset) as platform:
        ids = _ids(platform, dataset)
        token = users.create_token_for_email(platform.db, OWNER, "pages benchmark").secret
        timer = ServerTime(create_app(platform))
        with TestClient(timer) as client:
            _signed_in(client)
            for what, path in [p for p in pages(ids) if only in f"page: {p[0]}"]:
                rows.append(_timed_row(f"page: {what}", client, timer, path, plan))
            client.cookies.clear()
            headers = {"Authorization": f"Token {token}"}
            for what, path in [p for p in api_listings(ids) if only in f"API: {p[0]}"]:
                rows.append(_timed_row(f"API: {what}", client, timer, path, plan, headers))
    return rows


def _timed_row(
    what: str, client: TestClient, timer: ServerTime, path: str, plan: Plan,
    headers: dict[str, str] | None = None,
) -> list[object]:  # fmt: skip
    try:
        row = _row(what, *_time(client, timer, path, plan, headers))
    except RuntimeError as exc:
        row = [what, "FAILED", str(exc)[:60], 0, 0]
    print(f"  {row}", file=sys.stderr, flush=True)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=photo_count, default=100_000, help="10k, 100k, 1m…")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--warmups", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--budget", type=float, default=15.0, help="seconds a page may take before fewer repeats"
    )
    parser.add_argument("--fresh", action="store_true", help="make the data set again")
    parser.add_argument("--only", default="", help="only what is named so ('page: event', 'API:')")
    parser.add_argument(
        "--record-table",
        action="store_true",
        help="instead: stream the record table as CSV, time and RSS growth (record_table.py)",
    )
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        dataset = ensure(backend, args.images, fresh=args.fresh)
        print(describe(dataset))
        print(f"machine speed now: {machine_speed_ms():.0f} ms", flush=True)
        if args.record_table:
            row = record_table.measure(dataset, repeats=min(args.repeats, 3))
            print_table("record table streamed as CSV", list(record_table.HEADERS), [row])
            continue
        rows = run(dataset, Plan(args.warmups, args.repeats, args.budget), args.only)
        print_table(
            f"pages and API listings ({backend}, {args.images:,} photos; server ms over "
            f"{args.repeats} requests after {args.warmups} warm-ups)",
            ["what", "p50 ms", "p95 ms", "n", "KiB"],
            rows,
        )
        failed = [row[0] for row in rows if row[1] == "FAILED"]
        if failed:
            sys.exit(f"not answered 200: {', '.join(map(str, failed))}")


if __name__ == "__main__":
    main()
