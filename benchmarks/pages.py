"""Every page a person opens daily, and the API's listings, timed on the benchmark data set.

The data set (``dataset.py``) is made once per size and backend and reused. The app runs in
this process over it (no background duties); a person signs in through the form, a token calls
the API; the process is tuned as ``trapline serve`` tunes its own (``cli/tuning.py``: start-up
objects frozen out of the garbage collector's walks). What is opened (``page_targets.py``): the
daily pages, the busiest night's event and the biggest deployment, the first, a deep and the
last page of each deep listing (the image grid, and the API's images, annotations, occurrences
and events, all by cursor), each filter of the image grid alone and within a deployment or a
night (the web grid and the API listing), and the viewer opened from a filtered grid.

Each page is asked for ``--warmups`` times, then ``--repeats`` times timed (fewer, at least
three, once a page has taken ``--budget`` seconds in all). On PostgreSQL the warm-ups are 12 by
default: psycopg prepares a statement on its sixth run and the server may plan it generically
from the fifth run of that on, as it does every statement of a long-running server, so the
timed answers are a server's that has run a while (one filter's generic plan took 3.4 s where
its first runs took 3 ms); the time is the server's own, from
the app being called to the last byte of its answer (an ASGI wrapper around the app), so the
client's cost is not in it. Redirects are not followed: an answer other than 200 is shown in
the table in place of the times (its status; the start of its body is listed under the
table), and the run exits non-zero. Run ``python benchmarks/pages.py --help``.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import record_table
from common import machine_speed_ms, print_table
from dataset import OWNER, PASSWORD, Dataset, describe, ensure, opened, photo_count
from fastapi.testclient import TestClient
from page_targets import api_listings, filtered, pages, targets

from trapline.app import create_app
from trapline.cli import tuning
from trapline.services.core import users

#: Untimed requests of a page by default, per database (the module's docstring says why).
WARMUPS = {"sqlite": 2, "postgres": 12}

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


class Refused(Exception):
    """A page answered other than 200."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


def _time(
    client: TestClient, timer: ServerTime, path: str, plan: Plan,
    headers: dict[str, str] | None = None,
) -> tuple[list[float], int]:  # fmt: skip
    """Server seconds of the timed answers, and the answer's size; Refused for an answer other
    than 200 (a redirect too: to the sign-in form, it would time that form). The warm-ups stop
    once they have taken the budget."""
    warm = 0.0
    for _ in range(plan.warmups):
        _get(client, path, headers)
        warm += timer.last
        if warm > plan.budget:
            break
    samples: list[float] = []
    size = 0
    while len(samples) < plan.repeats:
        size = len(_get(client, path, headers))
        samples.append(timer.last)
        if sum(samples) > plan.budget and len(samples) >= plan.LEAST:
            break
    return samples, size


def _get(client: TestClient, path: str, headers: dict[str, str] | None) -> bytes:
    answer = client.get(path, headers=headers, follow_redirects=False)
    if answer.status_code != 200:
        raise Refused(answer.status_code, " ".join(answer.text.split())[:300])
    return answer.content


def _row(what: str, samples: list[float], size: int) -> list[object]:
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return [what, round(statistics.median(samples) * 1000, 1), round(p95 * 1000, 1),
            len(samples), round(size / 1024, 1)]  # fmt: skip


def run(dataset: Dataset, plan: Plan, only: str = "") -> tuple[list[list[object]], dict[str, str]]:
    """Time every page and listing on the data set: the table's rows (a page that answered
    other than 200 has its status in place of its times, and the run goes on), and those
    answers (what, the answer's status and the start of its body)."""
    rows: list[list[object]] = []
    refused: dict[str, str] = {}
    with opened(dataset) as platform:
        ids = targets(platform, dataset)
        grid = filtered(ids, dataset)
        web = [(f"page: {what}", path) for what, path in pages(ids)]
        web += [row for row in grid if row[0].startswith("page: ")]
        api = [(f"API: {what}", path) for what, path in api_listings(ids)]
        api += [row for row in grid if row[0].startswith("API: ")]
        token = users.create_token_for_email(platform.db, OWNER, "pages benchmark").secret
        timer = ServerTime(create_app(platform))
        # The process tuned as ``trapline serve`` tunes it: without its frozen start-up
        # objects, a full collection (~100 ms) landed in one request of a page in nine.
        tuning.apply(platform.settings.server)
        with TestClient(timer) as client:
            _signed_in(client)
            for what, path in [row for row in web if only in row[0]]:
                rows.append(_timed_row(what, client, timer, path, plan, refused))
            client.cookies.clear()
            headers = {"Authorization": f"Token {token}"}
            for what, path in [row for row in api if only in row[0]]:
                rows.append(_timed_row(what, client, timer, path, plan, refused, headers))
    return rows, refused


def _timed_row(
    what: str, client: TestClient, timer: ServerTime, path: str, plan: Plan,
    refused: dict[str, str], headers: dict[str, str] | None = None,
) -> list[object]:  # fmt: skip
    try:
        row = _row(what, *_time(client, timer, path, plan, headers))
    except Refused as answer:
        row = [what, f"HTTP {answer.status}", "-", 0, 0]
        refused[what] = str(answer)
    print(f"  {row}", file=sys.stderr, flush=True)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=photo_count, default=100_000, help="10k, 100k, 1m…")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument(
        "--warmups", type=int, help="untimed requests first (2; on PostgreSQL 12, see above)"
    )
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
        warmups = args.warmups if args.warmups is not None else WARMUPS[backend]
        dataset = ensure(backend, args.images, fresh=args.fresh)
        print(describe(dataset))
        print(f"machine speed now: {machine_speed_ms():.0f} ms", flush=True)
        if args.record_table:
            row = record_table.measure(dataset, repeats=min(args.repeats, 3))
            print_table("record table streamed as CSV", list(record_table.HEADERS), [row])
            continue
        rows, refused = run(dataset, Plan(warmups, args.repeats, args.budget), args.only)
        print_table(
            f"pages and API listings ({backend}, {args.images:,} photos; server ms over "
            f"{args.repeats} requests after {warmups} warm-ups)",
            ["what", "p50 ms", "p95 ms", "n", "KiB"],
            rows,
        )
        if refused:
            answers = "\n".join(f"  {what}: {answer[:200]}" for what, answer in refused.items())
            sys.exit(f"not answered 200:\n{answers}")


if __name__ == "__main__":
    main()
