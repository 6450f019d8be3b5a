"""200 clients hammer ``POST /api/v2/tasks/next/`` at once, with no pause between calls.

The server must answer every call in bounded time (200, or 503 with Retry-After for the claims
past those it works on at once) instead of letting calls time out, and its resident memory must
stay bounded.
"""

from __future__ import annotations

import asyncio
import ssl
import statistics
import threading
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.databases import PostgresDatabases
from tests.support.faults import check_job_integrity, wait_for_final
from tests.system.faults.harness import (
    PIPELINE,
    QUEUES,
    RssSampler,
    new_job,
    new_project,
    queue_for,
    report,
    running_job,
    site,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(60)]

#: Concurrent clients, and seconds they keep calling.
CLIENTS = 200
HAMMER_SECONDS = 8.0
#: Seconds a client waits for an answer; a call that takes longer counts as timed out.
CLIENT_TIMEOUT = 15.0
#: Most the server's resident memory may grow under the hammering, in MiB.
RSS_GROWTH_LIMIT = 150.0


@dataclass
class Tally:
    """What the clients saw."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    refused_latencies: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    without_retry_after: int = 0
    tasks: int = 0


async def _client(client: httpx.AsyncClient, deadline: float, tally: Tally) -> None:
    body = {"pipelines": [PIPELINE], "batch_size": 1}
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            answer = await client.post("/api/v2/tasks/next/", json=body)
        except httpx.TransportError as exc:
            tally.failures[type(exc).__name__] += 1
            continue
        took = time.monotonic() - started
        tally.latencies.append(took)
        if answer.status_code != 200:
            tally.refused_latencies.append(took)
        tally.statuses[answer.status_code] += 1
        if answer.status_code == 200:
            tally.tasks += len(answer.json()["tasks"])
        elif answer.status_code in (429, 503):
            if "retry-after" not in answer.headers:
                tally.without_retry_after += 1
            # A well-behaved client waits as told; the others keep hammering meanwhile.
            await asyncio.sleep(float(answer.headers.get("retry-after", "1")))


async def _hammer(url: str, token: str) -> Tally:
    """Every client is made before the clock starts: making one loads the certificate store
    (~20 ms each, 4.5 s for all on a quiet machine), and made as they start, on a busy machine
    the last ones began after the hammering was over, so few claims were ever in flight."""
    tally = Tally()
    headers = {"Authorization": f"Token {token}"}
    tls = ssl.create_default_context()  # one for all (the server is plain HTTP)
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, headers=headers, timeout=CLIENT_TIMEOUT, verify=tls)
            )
            for _ in range(CLIENTS)
        ]
        deadline = time.monotonic() + HAMMER_SECONDS
        await asyncio.gather(*(_client(client, deadline, tally) for client in clients))
    return tally


@pytest.mark.parametrize("queue", QUEUES)
def test_two_hundred_clients_claiming_at_once(
    queue: str, tmp_path: Path, postgres_databases: PostgresDatabases
) -> None:
    with (
        queue_for(queue, tmp_path / "nats") as (queue_url, _),
        site(tmp_path, postgres_databases, queue_url) as live,
    ):
        project = new_project(live.api, 100, "overload")
        # One-second leases nobody answers: the reaper keeps putting tasks back, so claims
        # keep writing instead of finding the queue empty.
        job_id = new_job(live.api, project.id, lease_seconds=1, max_attempts=100)
        running_job(live.api, job_id)
        rss = RssSampler(live.platform.server.process.pid)
        rss.sample()
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                rss.sample()

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        try:
            tally = asyncio.run(_hammer(live.platform.url, project.token))
        finally:
            stop.set()
            sampler.join()
        took = time.monotonic() - started

        # Afterwards the server answers at once, and the job is whole.
        assert httpx.get(f"{live.platform.url}/readyz", timeout=5).status_code == 200
        cancel = live.api.post(f"/api/v2/jobs/{job_id}/cancel/")
        assert cancel.status_code == 200, cancel.text
        wait_for_final(live.api, job_id, 10)
        check_job_integrity(
            live.database_url, job_id, project.image_ids, api=live.api, status="canceled"
        )
    answered = sum(tally.statuses.values())
    latencies = sorted(tally.latencies)
    figures = {
        "clients": CLIENTS,
        "calls": answered,
        "statuses": dict(tally.statuses),
        "tasks_handed_out": tally.tasks,
        "transport_failures": dict(tally.failures),
        "p50_s": statistics.median(latencies),
        "p99_s": latencies[int(len(latencies) * 0.99)],
        "max_s": latencies[-1],
        "refused_p50_s": statistics.median(tally.refused_latencies or [0.0]),
        "rss_start_mib": rss.first_mib,
        "rss_peak_mib": rss.peak_mib,
        "wall_s": took,
    }
    report(f"overload ({queue})", **figures)
    assert not tally.failures, figures
    assert set(tally.statuses) <= {200, 503}, figures
    assert tally.statuses[200] > 0, figures
    # 200 clients are more than the 64 claims a server works on at once (the default of
    # TRAPLINE_MAX_CLAIMS_IN_FLIGHT): the rest are refused at once, each told when to return.
    assert tally.statuses[503] > 0, figures
    assert tally.without_retry_after == 0, figures
    assert rss.peak_mib - rss.first_mib < RSS_GROWTH_LIMIT, figures
