"""Claiming tasks: POST /jobs/{id}/tasks/, /tasks/next/ and /tasks/extend/."""

from __future__ import annotations

from dataclasses import replace

from tests.support.app_client import AppClient
from tests.support.protocol import PIPELINE_SLUG, detection, pipeline_config, success
from tests.support.protocol_client import API, Protocol, statuses
from trapline.clock import FakeClock
from trapline.services.core.admission import ClaimGate

#: Bodies whose batch_size is missing or not an integer from 1 to 1000.
BAD_BATCH_SIZES = {
    "missing": {},
    "null": {"batch_size": None},
    "text": {"batch_size": "abc"},
    "numeric text": {"batch_size": "5"},
    "fraction": {"batch_size": 2.5},
    "zero": {"batch_size": 0},
    "negative": {"batch_size": -1},
    "too large": {"batch_size": 1001},
    "boolean": {"batch_size": True},
}


def test_every_bad_batch_size_is_400_naming_batch_size(registered: Protocol) -> None:
    registered.images(1)
    job_id = registered.job_that_runs()["id"]
    answers = {
        what: registered.claim_response(job_id, body) for what, body in BAD_BATCH_SIZES.items()
    }
    wrong = {
        what: (r.status_code, r.text)
        for what, r in answers.items()
        if r.status_code != 400 or "batch_size" not in r.json().get("detail", "")
    }
    assert wrong == {}
    assert registered.job(job_id)["counts"]["leased"] == 0
    assert len(registered.claim(job_id, 1000)) == 1


def test_claims_on_push_jobs_are_400_and_on_unknown_or_foreign_jobs_404(
    registered: Protocol, make_account
) -> None:
    registered.images(1)
    push = registered.job_that_runs(dispatch_mode="sync_api")["id"]
    response = registered.claim_response(push, {"batch_size": 1})
    assert response.status_code == 400, response.text

    job_id = registered.job_that_runs(params={"reprocess": True})["id"]
    assert registered.claim_response(999_999, {"batch_size": 1}).status_code == 404
    stranger = registered.as_(make_account("sam"))
    response = stranger.claim_response(job_id, {"batch_size": 1})
    assert response.status_code == 404, response.text
    assert registered.job(job_id)["counts"]["leased"] == 0


def test_a_job_that_is_not_running_hands_out_nothing(registered: Protocol) -> None:
    registered.images(1)
    not_started = registered.create_job(start_now=False).json()["id"]
    canceled = registered.job_that_runs()["id"]
    response = registered.client.post(f"{API}/jobs/{canceled}/cancel/", headers=registered.headers)
    assert response.status_code == 200, response.text
    finished = registered.job_that_runs()["id"]
    (task,) = registered.claim(finished, 1)
    registered.post(finished, success(task, detection(task)))
    assert registered.wait(finished, {"succeeded"})

    for job_id in (not_started, canceled, finished):
        response = registered.claim_response(job_id, {"batch_size": 10})
        assert response.status_code == 200, response.text
        assert response.json() == {"tasks": []}


def test_claimed_tasks_carry_string_ids_a_public_image_url_and_a_reply_subject(
    registered: Protocol,
) -> None:
    (image_id,) = registered.images(1)
    job_id = registered.job_that_runs()["id"]
    response = registered.client.post(
        f"{API}/jobs/{job_id}/tasks", json={"batch_size": 4}, headers=registered.headers
    )
    assert response.status_code == 200, response.text
    (task,) = response.json()["tasks"]
    assert set(task) >= {"id", "image_id", "image_url", "reply_subject"}
    assert isinstance(task["id"], str)
    assert task["id"].isdigit()
    assert task["image_id"] == str(image_id)
    assert isinstance(task["reply_subject"], str)
    assert len(task["reply_subject"]) >= 20
    assert task["reply_subject"] not in (task["id"], task["image_id"])

    fetched = registered.client.get(task["image_url"])  # no Authorization header
    assert fetched.status_code == 200, fetched.text
    original = registered.client.get(
        f"{API}/images/{image_id}/download", headers=registered.headers, follow_redirects=True
    )
    assert fetched.content == original.content
    assert fetched.content[:2] == b"\xff\xd8"


def test_two_claims_never_return_the_same_task(registered: Protocol) -> None:
    registered.images(6)
    job_id = registered.job_that_runs()["id"]
    first = registered.claim(job_id, 4)
    second = registered.claim(job_id, 4)
    assert len(first) == 4
    assert len(second) == 2
    assert not {t["id"] for t in first} & {t["id"] for t in second}
    assert registered.claim(job_id, 4) == []


def test_claims_past_the_limit_in_flight_are_refused_at_once_with_retry_after(
    registered: Protocol,
) -> None:
    registered.images(2)
    job_id = registered.job_that_runs()["id"]
    app = registered.client.app  # type: ignore[attr-defined]
    assert app.state.platform.claims.limit == 64  # the default, TRAPLINE_MAX_CLAIMS_IN_FLIGHT
    full = ClaimGate(1)
    app.state.platform = replace(app.state.platform, claims=full)
    with full.admit():  # a claim in flight, as another request would hold it
        for answer in (
            registered.claim_response(job_id, {"batch_size": 1}),
            registered.client.post(
                f"{API}/tasks/next/",
                json={"pipelines": [PIPELINE_SLUG], "batch_size": 1},
                headers=registered.headers,
            ),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "1"
            assert answer.json()["code"] == "overloaded"
    assert full.in_flight == 0
    assert len(registered.claim(job_id, 5)) == 2  # the place is free again
    assert full.in_flight == 0


def test_claim_next_shares_a_batch_fairly_across_running_jobs(registered: Protocol) -> None:
    assert registered.register(pipeline_config("other-pipe")).status_code == 201
    registered.images(10)
    registered.job_that_runs(pipeline="other-pipe")
    one = registered.job_that_runs()["id"]
    two = registered.job_that_runs(params={"reprocess": True})["id"]
    response = registered.client.post(
        f"{API}/tasks/next/",
        json={"pipelines": ["moth-test"], "batch_size": 10, "client_info": {"hostname": "h"}},
        headers=registered.headers,
    )
    assert response.status_code == 200, response.text
    tasks = response.json()["tasks"]
    assert len(tasks) == 10
    per_job = {job_id: sum(t["job_id"] == job_id for t in tasks) for job_id in (one, two)}
    assert sum(per_job.values()) == 10, "only jobs of the pipelines asked for"
    assert per_job[one] > 0, per_job
    assert per_job[two] > 0, per_job
    for job_id in (one, two):
        mine = [t for t in tasks if t["job_id"] == job_id]
        answers = registered.post(job_id, *(success(t, detection(t)) for t in mine))
        assert set(statuses(answers)) == {"saved"}

    nothing = registered.client.post(
        f"{API}/tasks/next",
        json={"pipelines": ["nobody-runs-this"], "batch_size": 10},
        headers=registered.headers,
    )
    assert nothing.status_code == 200, nothing.text
    assert nothing.json()["tasks"] == []


def test_extending_a_lease_keeps_the_task_and_forged_tokens_are_lost(
    registered: Protocol, fake_clock: FakeClock
) -> None:
    registered.images(1)
    job_id = registered.job_that_runs(params={"lease_seconds": 1})["id"]
    (task,) = registered.claim(job_id, 1)
    token = task["reply_subject"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    response = registered.client.post(
        f"{API}/tasks/extend/",
        json={"reply_subjects": [token, forged], "seconds": 60},
        headers=registered.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"extended": [token], "lost": [forged]}

    fake_clock.advance(1.2)  # past the original one-second lease
    registered.reap()
    assert registered.claim(job_id, 1) == []
    assert statuses(registered.post(job_id, success(task, detection(task)))) == ["saved"]


def test_malformed_claim_bodies_are_400(registered: Protocol) -> None:
    registered.images(1)
    job_id = registered.job_that_runs()["id"]
    client = AppClient(registered.client.app, raise_server_exceptions=False)
    calls = {
        "claim: client_info not an object": (
            f"{API}/jobs/{job_id}/tasks/",
            {"batch_size": 1, "client_info": "gpu-1"},
        ),
        "claim: client_info.pid not a number": (
            f"{API}/jobs/{job_id}/tasks/",
            {"batch_size": 1, "client_info": {"pid": "abc"}},
        ),
        "next: pipelines missing": (f"{API}/tasks/next/", {"batch_size": 1}),
        "next: pipelines empty": (f"{API}/tasks/next/", {"pipelines": [], "batch_size": 1}),
        "next: pipelines not a list": (
            f"{API}/tasks/next/",
            {"pipelines": "moth-test", "batch_size": 1},
        ),
        "next: bad batch_size": (f"{API}/tasks/next/", {"pipelines": ["moth-test"]}),
    }
    got = {
        what: client.post(url, json=body, headers=registered.headers).status_code
        for what, (url, body) in calls.items()
    }
    assert got == dict.fromkeys(calls, 400)
    assert registered.job(job_id)["counts"]["leased"] == 0


def test_claim_next_leases_each_task_for_its_own_jobs_lease_seconds(
    registered: Protocol, fake_clock: FakeClock
) -> None:
    registered.images(2)
    short = registered.job_that_runs(params={"lease_seconds": 1})["id"]
    long = registered.job_that_runs(params={"lease_seconds": 300, "reprocess": True})["id"]
    response = registered.client.post(
        f"{API}/tasks/next/",
        json={"pipelines": ["moth-test"], "batch_size": 4},
        headers=registered.headers,
    )
    assert sorted(t["job_id"] for t in response.json()["tasks"]) == [short, short, long, long]

    fake_clock.advance(1.2)  # past the short job's lease, well within the long job's
    registered.reap()
    assert registered.job(short)["counts"]["queued"] == 2
    assert registered.job(long)["counts"]["leased"] == 2
