"""The worker's platform client: retries, backoff, Retry-After, final errors, fallbacks."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from tests.support.scripted import Script, scripted_server
from trapline.worker.client import ApiError, Backoff, PlatformClient, Stopped, api_base, client_info

FAST = Backoff(first=0.01, cap=0.05)
TASK = {"id": "7", "image_id": "3", "image_url": "http://images/3.jpg", "reply_subject": "r7"}


def client_for(url: str, **kwargs: object) -> PlatformClient:
    return PlatformClient(
        url,
        "tl_secret",
        info=client_info("w1", ["trapline-constant"]),
        backoff=FAST,
        timeout=5,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://h:8000", "http://h:8000/api/v2"),
        ("http://h:8000/", "http://h:8000/api/v2"),
        ("http://h:8000/api/v2/", "http://h:8000/api/v2"),
        ("https://antenna.example.org/api/v2", "https://antenna.example.org/api/v2"),
    ],
)
def test_api_base_accepts_urls_with_or_without_the_api_path(given: str, expected: str) -> None:
    assert api_base(given) == expected


def test_server_errors_and_429_are_retried_until_success() -> None:
    script = Script()
    script.add("/api/v2/tasks/next/", 503, {"detail": "busy"}, {"Retry-After": "0"})
    script.add("/api/v2/tasks/next/", 429, {"detail": "slow down"}, {"Retry-After": "0"})
    script.add("/api/v2/tasks/next/", 500, {"detail": "boom"})
    script.add("/api/v2/tasks/next/", 200, {"tasks": [{**TASK, "job_id": 4, "lease_seconds": 60}]})
    with scripted_server(script) as url:
        tasks = client_for(url).next_tasks("trapline-constant", 8)
    assert [(t.id, t.job_id, t.pipeline, t.lease_seconds) for t in tasks] == [
        ("7", 4, "trapline-constant", 60)
    ]
    assert len(script.seen) == 4
    sent = json.loads(script.seen[-1].body)
    assert sent["pipelines"] == ["trapline-constant"]
    assert sent["batch_size"] == 8
    assert sent["client_info"]["name"] == "w1"
    assert all(s.headers["Authorization"] == "Token tl_secret" for s in script.seen)


def test_retry_after_is_honoured() -> None:
    script = Script()
    script.add("/api/v2/jobs/1/result/", 503, {"detail": "busy"}, {"Retry-After": "1"})
    script.add(
        "/api/v2/jobs/1/result/",
        200,
        {"status": "accepted", "job_id": 1, "results_queued": 0, "tasks": []},
    )
    with scripted_server(script) as url:
        started = time.monotonic()
        client_for(url).post_results(1, [])
        waited = time.monotonic() - started
    assert waited >= 0.9  # FAST backoff alone would have waited ~0.01 s


def test_other_client_errors_are_final_and_carry_the_servers_message() -> None:
    script = Script()
    script.add("/api/v2/jobs/9/tasks/", 400, {"detail": "job 9 is a sync_api (push) job"})
    with scripted_server(script) as url, pytest.raises(ApiError) as caught:
        client_for(url).claim(9, "trapline-constant", 4)
    assert caught.value.status == 400
    assert "push" in caught.value.detail
    assert len(script.seen) == 1


def test_connection_errors_are_retried_until_the_server_comes_up() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = PlatformClient(
        f"http://127.0.0.1:{port}",
        "t",
        info=client_info(None, []),
        backoff=Backoff(attempts=3, first=0.01, cap=0.02),
        timeout=2,
    )
    with pytest.raises(ApiError, match="gave up after 3 attempts"):
        client.call("GET", "/jobs/")


def test_stopping_interrupts_retries() -> None:
    script = Script()
    script.add("/api/v2/jobs/", 503, {"detail": "down"}, {"Retry-After": "30"})
    stop = threading.Event()
    with scripted_server(script) as url:
        client = client_for(url, stopping=stop.is_set)
        threading.Timer(0.5, stop.set).start()
        started = time.monotonic()
        with pytest.raises(Stopped):
            client.incomplete_jobs(["trapline-constant"])
    assert time.monotonic() - started < 5
    assert len(script.seen) == 1


def test_a_platform_without_tasks_next_switches_to_list_then_claim() -> None:
    script = Script()  # /tasks/next/ is unknown: 404, as on Antenna
    script.add("/api/v2/jobs/", 200, {"count": 1, "results": [{"id": 5, "pipeline_slug": "c"}]})
    script.add("/api/v2/jobs/5/tasks/", 200, {"tasks": [TASK]})
    with scripted_server(script) as url:
        client = client_for(url)
        assert client.next_tasks("c", 2) == []
        assert client.has_next is False
        assert client.incomplete_jobs(["c", "d"]) == [(5, "c")]
        tasks = client.claim(5, "c", 2)
    assert [(t.id, t.job_id, t.lease_seconds) for t in tasks] == [("7", 5, None)]
    listing = next(s for s in script.seen if s.path.startswith("/api/v2/jobs/?"))
    for part in (
        "pipeline__slug__in=c%2Cd",
        "ids_only=1",
        "incomplete_only=1",
        "dispatch_mode=async_api",
    ):
        assert part in listing.path


def test_a_platform_without_lease_extension_is_left_alone() -> None:
    with scripted_server(Script()) as url:
        client = client_for(url)
        assert client.extend(["r1"], 60) == []
        assert client.has_extend is False


@pytest.mark.parametrize(
    ("answer", "statuses"),
    [
        (  # Antenna stores results in the background: every item is queued
            {
                "status": "accepted",
                "job_id": 5,
                "results_queued": 2,
                "tasks": [
                    {"reply_subject": "r1", "status": "queued", "task_id": "c0ffee-1"},
                    {"reply_subject": "r2", "status": "queued", "task_id": "c0ffee-2"},
                ],
            },
            {"queued": 2},
        ),
        ({"status": "accepted", "job_id": 5, "results_queued": 2}, {"queued": 2}),
        (
            {
                "status": "accepted",
                "job_id": 5,
                "results_queued": 1,
                "tasks": [
                    {"reply_subject": "r1", "status": "saved", "task_id": "1"},
                    {"reply_subject": "r2", "status": "rejected", "detail": "not yours"},
                ],
            },
            {"saved": 1, "rejected": 1},
        ),
    ],
)
def test_every_result_answer_of_either_platform_is_read(
    answer: dict[str, object], statuses: dict[str, int]
) -> None:
    script = Script()
    script.add("/api/v2/jobs/5/result/", 200, answer)
    with scripted_server(script) as url:
        posted = client_for(url).post_results(5, [{"reply_subject": "r1"}, {"reply_subject": "r2"}])
    assert posted.statuses(2) == statuses


def test_on_antenna_the_job_listing_sends_only_filters_it_accepts() -> None:
    script = Script()  # no /tasks/next/: Antenna
    script.add("/api/v2/jobs/", 200, {"count": 0, "results": []})
    with scripted_server(script) as url:
        client = client_for(url)
        client.next_tasks("c", 2)
        assert client.antenna
        client.incomplete_jobs(["c"], started_only=True)
    (listing,) = [s.path for s in script.seen if s.path.startswith("/api/v2/jobs/?")]
    assert "status=" not in listing
    assert "limit=100" in listing  # Antenna answers one random job without a limit
