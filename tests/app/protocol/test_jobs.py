"""Jobs: creation and image selection, listing with Antenna's filters, detail, actions."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tests.support.protocol import PIPELINE_SLUG, detection, failure, pipeline_config, success
from tests.support.protocol_client import API, PAST_LEASE, Protocol, statuses
from tests.support.waiting import wait_until
from trapline.background.jobs import JobStarter
from trapline.clock import FakeClock
from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.processing.jobs import DispatchMode, JobParams
from trapline.services.processing import jobs as job_service

FINAL = {"succeeded", "completed_with_errors", "failed", "canceled"}


def _finish(proto: Protocol, job_id: int, count: int) -> dict:
    """Claim and save every task of a running job; returns its final detail."""
    tasks = proto.claim(job_id, count)
    assert len(tasks) == count
    answers = proto.post(job_id, *(success(t, detection(t)) for t in tasks))
    assert set(statuses(answers)) == {"saved"}
    return proto.wait(job_id, FINAL)


def test_creating_a_job_answers_201_and_it_runs_over_every_image(registered: Protocol) -> None:
    registered.images(3)
    response = registered.create_job(name="night run")
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] in {"created", "queued", "running"}
    assert created["name"] == "night run"
    assert created["pipeline_slug"] == PIPELINE_SLUG

    job = registered.wait(created["id"], {"running"})
    assert job["counts"]["total"] == 3
    assert job["counts"]["queued"] == 3
    assert job["progress"] == 0

    # A job whose tasks are not made yet has not made progress either.
    waiting = registered.create_job(start_now=False).json()
    assert waiting["status"] == "created"
    assert waiting["progress"] == 0


def test_jobs_select_images_by_ids_collection_filter_deployment_or_all(
    registered: Protocol,
) -> None:
    deployment = registered.deployment()
    at_trap = registered.images(2, deployment_id=str(deployment))
    elsewhere = registered.images(3)
    base = f"{API}/projects/{registered.project_id}/collections"
    explicit = registered.client.post(
        base, json={"name": "picked", "image_ids": [elsewhere[0]]}, headers=registered.headers
    ).json()["id"]
    by_filter = registered.client.post(
        base,
        json={"name": "at trap", "filter": {"deployment_id": deployment}},
        headers=registered.headers,
    ).json()["id"]

    selections = {
        "image_ids": ({"image_ids": [at_trap[0], elsewhere[1]]}, {at_trap[0], elsewhere[1]}),
        "explicit collection": ({"collection_id": explicit}, {elsewhere[0]}),
        "filter collection": ({"collection_id": by_filter}, set(at_trap)),
        "deployment": ({"deployment_id": deployment}, set(at_trap)),
        "whole project": ({}, set(at_trap + elsewhere)),
    }
    for what, (selection, expected) in selections.items():
        job = registered.job_that_runs(**selection)
        images = {t["image_id"] for t in registered.tasks(job["id"])["results"]}
        assert images == expected, what
        assert job["counts"]["total"] == len(expected), what


def test_bad_job_requests_are_400(registered: Protocol, make_account) -> None:
    mine = registered.images(1)
    stranger = make_account("sam")
    theirs_project = registered.client.post(
        f"{API}/projects/", json={"name": "Theirs"}, headers=stranger.headers
    ).json()["id"]
    theirs = registered.as_(stranger).in_project(theirs_project).images(1)

    two = registered.create_job(image_ids=mine, deployment_id=registered.deployment())
    assert two.status_code == 400, two.text
    assert "image_ids" in two.json()["detail"]
    assert "deployment_id" in two.json()["detail"]

    unknown = registered.create_job(pipeline="no-such-pipeline")
    assert unknown.status_code == 400, unknown.text
    assert "no-such-pipeline" in unknown.json()["detail"]

    foreign = registered.create_job(image_ids=[mine[0], theirs[0]])
    assert foreign.status_code == 400, foreign.text
    assert str(theirs[0]) in foreign.json()["detail"]

    # A selection of no images is refused rather than "succeeding" with nothing done.
    empty_station = registered.create_job(deployment_id=registered.deployment())
    assert empty_station.status_code == 400, empty_station.text
    assert "the selection has no images" in empty_station.json()["detail"]
    nothing = registered.create_job(image_ids=[])
    assert nothing.status_code == 400, nothing.text


def test_reprocess_false_skips_images_this_pipeline_version_analysed(
    registered: Protocol,
) -> None:
    registered.images(2)
    first = registered.job_that_runs()
    assert _finish(registered, first["id"], 2)["status"] == "succeeded"

    skipping = registered.create_job(params={"reprocess": False})
    assert skipping.status_code == 201, skipping.text
    skipped = registered.wait(skipping.json()["id"], {"succeeded"})
    assert skipped["counts"]["total"] == 0
    assert skipped["progress"] == 1
    # The job says why it did nothing, and what to do about it.
    said = " ".join(e["message"] for e in skipped["events"])
    assert "2 images skipped: already analysed by" in said
    assert "reprocess: true" in said

    again = registered.job_that_runs(params={"reprocess": True})
    assert again["counts"]["total"] == 2

    # Another version of the pipeline has analysed nothing yet.
    assert registered.register(pipeline_config(version=2)).status_code == 201
    newer = registered.job_that_runs(params={"reprocess": False})
    assert newer["pipeline_version"] == 2
    assert newer["counts"]["total"] == 2


def test_job_list_filters_as_ami_workers_send_them(registered: Protocol) -> None:
    assert registered.register(pipeline_config("other-pipe")).status_code == 201
    registered.images(1)
    running = registered.job_that_runs()["id"]
    created = registered.create_job(start_now=False).json()["id"]
    other = registered.job_that_runs(pipeline="other-pipe")["id"]
    canceled = registered.job_that_runs()["id"]
    registered.client.post(f"{API}/jobs/{canceled}/cancel/", headers=registered.headers)
    push = registered.create_job(dispatch_mode="sync_api", start_now=False).json()["id"]
    finished = registered.job_that_runs(params={"reprocess": True})["id"]
    assert _finish(registered, finished, 1)["status"] == "succeeded"

    def ids(**params: object) -> set[int]:
        response = registered.client.get(
            f"{API}/jobs", params={"limit": 100, **params}, headers=registered.headers
        )
        assert response.status_code == 200, response.text
        return {j["id"] for j in response.json()["results"]}

    everything = {running, created, other, canceled, push, finished}
    assert ids(project=registered.project_id) == everything
    assert ids(status="running") == {running, other}
    assert ids(status="created,canceled") == {created, canceled, push}
    assert ids(pipeline__slug__in="other-pipe") == {other}
    assert ids(pipeline__slug__in=f"other-pipe,{PIPELINE_SLUG}") == everything
    assert ids(incomplete_only=1) == {running, created, other, push}
    assert ids(dispatch_mode="sync_api") == {push}
    assert ids(dispatch_mode="async_api") == everything - {push}

    poll = registered.client.get(
        f"{API}/jobs",
        params={
            "pipeline__slug__in": f"{PIPELINE_SLUG},other-pipe",
            "ids_only": "1",
            "incomplete_only": "1",
            "dispatch_mode": "async_api",
        },
        headers=registered.headers,
    )
    assert poll.status_code == 200, poll.text
    items = poll.json()["results"]
    assert all(set(item) == {"id", "pipeline_slug"} for item in items), items
    assert {(i["id"], i["pipeline_slug"]) for i in items} <= {
        (running, PIPELINE_SLUG),
        (created, PIPELINE_SLUG),
        (other, "other-pipe"),
    }
    assert running in {i["id"] for i in items} or other in {i["id"] for i in items}


def test_job_list_is_paginated(registered: Protocol) -> None:
    registered.images(1)
    made = {registered.create_job(start_now=False).json()["id"] for _ in range(3)}
    first = registered.client.get(
        f"{API}/jobs/", params={"limit": 2}, headers=registered.headers
    ).json()
    assert first["count"] == 3
    assert first["previous"] is None
    assert len(first["results"]) == 2
    assert first["next"]
    second = registered.client.get(first["next"], headers=registered.headers).json()
    assert second["next"] is None
    assert second["previous"]
    assert {j["id"] for j in first["results"] + second["results"]} == made


def test_job_detail_has_counters_speed_and_history(registered: Protocol) -> None:
    registered.images(2)
    job_id = registered.job_that_runs()["id"]
    one, two = registered.claim(job_id, 2)
    assert statuses(registered.post(job_id, success(one, detection(one)))) == ["saved"]

    midway = registered.job(job_id)
    assert midway["counts"] == {
        "total": 2,
        "queued": 0,
        "leased": 1,
        "succeeded": 1,
        "failed": 0,
        "canceled": 0,
    }
    assert midway["progress"] == 0.5
    # One image over the job's own running time so far.
    started = datetime.fromisoformat(midway["started_at"])
    running = (datetime.now(UTC) - started).total_seconds() / 60
    assert 0 < midway["throughput_per_minute"] <= 1 / running * 1.01 + 0.01
    assert midway["eta_seconds"] is not None
    assert midway["eta_seconds"] > 0
    assert midway["params"]["max_attempts"] == 3
    assert midway["params"]["lease_seconds"] == 300

    assert statuses(registered.post(job_id, success(two, detection(two)))) == ["saved"]
    done = registered.wait(job_id, {"succeeded"})
    assert done["progress"] == 1
    assert done["eta_seconds"] is None
    # A finished job's rate stays what it was: its images over its running time.
    took = datetime.fromisoformat(done["finished_at"]) - datetime.fromisoformat(done["started_at"])
    expected = 2 / max(took.total_seconds(), 1) * 60
    assert done["throughput_per_minute"] == pytest.approx(expected, rel=0.01, abs=0.01)

    assert done["started_at"]
    assert done["finished_at"]
    history = [e["status"] for e in done["events"] if e["status"]]
    assert history == ["created", "queued", "running", "succeeded"]
    assert all(e["created_at"] and isinstance(e["message"], str) for e in done["events"])


def test_failed_tasks_are_listed_with_error_and_retry_requeues_them(
    registered: Protocol,
) -> None:
    registered.images(1)
    job_id = registered.job_that_runs(params={"max_attempts": 1})["id"]
    (task,) = registered.claim(job_id, 1)
    assert statuses(registered.post(job_id, failure(task, "CUDA out of memory"))) == ["failed"]
    assert registered.wait(job_id, FINAL)["status"] == "failed"

    failed = registered.tasks(job_id, "failed")
    assert failed["count"] == 1
    (info,) = failed["results"]
    assert str(info["image_id"]) == task["image_id"]
    assert info["last_error"] == "CUDA out of memory"
    assert info["attempts"] == 1
    assert registered.tasks(job_id, "succeeded")["count"] == 0

    retried = registered.client.post(f"{API}/jobs/{job_id}/retry/", headers=registered.headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "running"
    (again,) = registered.claim(job_id, 1)
    assert again["id"] == task["id"]
    assert statuses(registered.post(job_id, success(again, detection(again)))) == ["saved"]
    assert registered.wait(job_id, FINAL)["status"] == "succeeded"


def test_a_jobs_tasks_page_by_cursor_both_ways(registered: Protocol) -> None:
    """A job's task listing hands out cursor links (an id range: as fast at the millionth task
    as at the first): forwards to the end, then back to the start, each task once; offset
    still works and is bounded."""
    registered.images(5)
    job_id = registered.job_that_runs()["id"]

    def page(url: str) -> dict[str, Any]:
        answer = registered.client.get(url, headers=registered.headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    first = page(f"{API}/jobs/{job_id}/tasks?limit=2")
    seen, pages, current = [], [], first
    while True:
        pages.append([t["id"] for t in current["results"]])
        seen += pages[-1]
        assert current["count"] == 5
        if not current["next"]:
            break
        assert "cursor=" in current["next"]
        current = page(current["next"])
    assert seen == sorted(seen, key=int)
    assert len(set(seen)) == 5
    assert [len(p) for p in pages] == [2, 2, 1]
    back = page(current["previous"])
    assert [t["id"] for t in back["results"]] == pages[1]
    assert [t["id"] for t in page(back["previous"])["results"]] == pages[0]
    offset = page(f"{API}/jobs/{job_id}/tasks?limit=2&offset=2")
    assert [t["id"] for t in offset["results"]] == pages[1]
    deep = registered.client.get(
        f"{API}/jobs/{job_id}/tasks?offset=10001", headers=registered.headers
    )
    assert deep.status_code == 400


def test_cancel_stops_claims_and_refuses_results_of_earlier_leases(
    registered: Protocol,
) -> None:
    registered.images(3)
    job_id = registered.job_that_runs()["id"]
    (held,) = registered.claim(job_id, 1)

    response = registered.client.post(f"{API}/jobs/{job_id}/cancel/", headers=registered.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "canceled"
    assert registered.claim(job_id, 10) == []
    (answer,) = registered.post(job_id, success(held, detection(held)))
    assert answer["status"] == "rejected"
    assert "cancel" in answer["detail"]
    job = registered.job(job_id)
    assert job["counts"]["canceled"] == 3
    assert registered.image(int(held["image_id"]))["analyses"] == []
    assert job["events"][-1]["created_at"]


def test_deleting_a_job_needs_a_manager(registered: Protocol, make_account) -> None:
    registered.images(1)
    member, manager = make_account("mel"), make_account("max")
    registered.add_member(member, "member")
    registered.add_member(manager, "manager")
    job_id = registered.job_that_runs()["id"]

    refused = registered.client.delete(f"{API}/jobs/{job_id}/", headers=member.headers)
    assert refused.status_code == 403, refused.text
    deleted = registered.client.delete(f"{API}/jobs/{job_id}/", headers=manager.headers)
    assert deleted.status_code == 204, deleted.text
    gone = registered.client.get(f"{API}/jobs/{job_id}/", headers=registered.headers)
    assert gone.status_code == 404, gone.text


def test_a_deleted_jobs_results_stay_with_their_images_detached(
    registered: Protocol, app_db: Database
) -> None:
    """analyses.job_id has no foreign key (migration 0007): the delete detaches them itself."""
    registered.images(2)
    job_id = registered.job_that_runs()["id"]
    done = _finish(registered, job_id, 2)
    assert done["status"] == "succeeded"
    with app_db.read() as repos:
        rows = repos.session.execute(
            text("SELECT id, image_id FROM analyses WHERE job_id = :job"), {"job": job_id}
        ).all()
    assert len(rows) == 2

    deleted = registered.client.delete(f"{API}/jobs/{job_id}/", headers=registered.headers)
    assert deleted.status_code == 204, deleted.text
    for _, image_id in rows:
        (analysis,) = registered.image(image_id)["analyses"]
        assert analysis["job_id"] is None
        assert analysis["pipeline_slug"] == PIPELINE_SLUG
        assert [a["type"] for a in analysis["annotations"]] == ["bounding_box", "classification"]
    with app_db.read() as repos:
        dangling = repos.session.execute(
            text("SELECT count(*) FROM analyses WHERE job_id = :job"), {"job": job_id}
        ).scalar()
    assert dangling == 0


def test_a_job_not_started_now_waits_until_started(registered: Protocol) -> None:
    registered.images(2)
    response = registered.create_job(start_now=False)
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    assert registered.platform.starter.wait_idle(10)  # a start wrongly submitted has ended
    assert registered.job(job_id)["status"] == "created"
    assert registered.claim(job_id, 5) == []

    started = registered.client.post(f"{API}/jobs/{job_id}/start/", headers=registered.headers)
    assert started.status_code == 200, started.text
    assert registered.wait(job_id, {"running"})["counts"]["total"] == 2
    assert len(registered.claim(job_id, 5)) == 2


def test_two_starts_of_one_job_at_once_leave_it_running_with_its_tasks(
    registered: Protocol, app_db: Database
) -> None:
    """A start request and a replica's recovery duty may start the same job together: the
    one that opens it second must leave the first one's tasks alone."""
    registered.images(3)
    response = registered.create_job(start_now=False)
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    queue = registered.client.app.state.platform.queue  # type: ignore[attr-defined]
    both_read_created = threading.Barrier(2, timeout=10)

    class Racing:
        """The app's queue, whose enqueue waits until both starts have read the job."""

        def __getattr__(self, name: str) -> object:
            return getattr(queue, name)

        def enqueue(self, *args: object, **kwargs: object) -> int:
            both_read_created.wait()
            return int(queue.enqueue(*args, **kwargs))

    errors: list[BaseException] = []

    def start() -> None:
        try:
            job_service.start_job(app_db, Racing(), job_id)  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    starts = [threading.Thread(target=start) for _ in range(2)]
    for thread in starts:
        thread.start()
    for thread in starts:
        thread.join(30)
    # On PostgreSQL the second insert waits for the first; were they to deadlock instead,
    # one start would fail and the other still open the job.
    assert len(errors) <= 1, errors
    job = registered.job(job_id)
    assert job["status"] == "running"
    assert job["counts"]["total"] == 3
    assert len(registered.claim(job_id, 5)) == 3


def _task_analyses(db: Database) -> int:
    with db.engine.connect() as connection:
        count = connection.execute(
            text("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'tasks'")
        ).scalar()
    return int(count or 0)


@pytest.mark.backend("postgres")  # SQLite plans without statistics
def test_a_large_job_has_its_tasks_sampled_for_the_planner(
    registered: Protocol, app_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without fresh statistics PostgreSQL takes a new job for a few rows and stores its
    results by scanning the whole job; a large job's start samples the tasks at once."""
    monkeypatch.setattr(job_service, "FRESH_STATISTICS_AT", 3)
    registered.images(3)
    before = _task_analyses(app_db)
    registered.job_that_runs()
    # PostgreSQL's statistics reach pg_stat_user_tables a moment after the ANALYZE.
    wait_until(lambda: _task_analyses(app_db) != before, timeout=10, what="the ANALYZE")
    assert _task_analyses(app_db) == before + 1


def _open_counts(db: Database, job_id: int) -> tuple[int, int]:
    """(the job row's count of open tasks, open tasks in the tasks table)."""
    with db.engine.connect() as connection:
        counted = connection.execute(
            text("SELECT open_tasks FROM jobs WHERE id = :job"), {"job": job_id}
        ).scalar_one()
        rows = connection.execute(
            text(
                "SELECT count(*) FROM tasks WHERE job_id = :job AND status IN ('queued', 'leased')"
            ),
            {"job": job_id},
        ).scalar_one()
    return int(counted), int(rows)


def test_the_job_counts_its_open_tasks_through_every_change(
    registered: Protocol, app_db: Database, fake_clock: FakeClock
) -> None:
    """Results decide whether their job is done from the job's count of open tasks: every
    way a task enters or leaves the queued and leased states keeps it equal to the rows."""
    registered.images(6)
    job_id = registered.job_that_runs(params={"lease_seconds": 1, "max_attempts": 2})["id"]
    assert _open_counts(app_db, job_id) == (6, 6)

    saved, backing_off, expiring = registered.claim(job_id, 3)
    answers = registered.post(
        job_id,
        success(saved, detection(saved)),
        failure(backing_off, "flaky"),  # back to the queue after a backoff: still open
        success(saved, detection(saved)),  # a duplicate settles nothing
    )
    assert statuses(answers) == ["saved", "failed", "duplicate"]
    assert _open_counts(app_db, job_id) == (5, 5)
    fake_clock.advance(PAST_LEASE)
    registered.reap()  # the expired lease goes back to the queue: still open
    assert _open_counts(app_db, job_id) == (5, 5)

    claimed = registered.claim(job_id, 6)  # all but the one backing off
    assert len(claimed) == 4
    (again,) = [t for t in claimed if t["id"] == expiring["id"]]
    last_tries = [t for t in claimed if t is not again]
    assert statuses(registered.post(job_id, failure(again, "broken"))) == ["failed"]
    assert _open_counts(app_db, job_id) == (4, 4)  # out of tries
    fake_clock.advance(PAST_LEASE)
    registered.reap()
    second_tries = registered.claim(job_id, 3)
    assert {t["id"] for t in second_tries} == {t["id"] for t in last_tries}
    doomed = second_tries[0]
    deleted = registered.client.delete(
        f"{API}/images/{doomed['image_id']}", headers=registered.headers
    )
    assert deleted.status_code == 204, deleted.text
    assert _open_counts(app_db, job_id) == (3, 3)  # its task went with the image
    fake_clock.advance(PAST_LEASE)
    registered.reap()  # two leases expire on their last try: dead-lettered
    assert _open_counts(app_db, job_id) == (1, 1)

    canceled = registered.client.post(f"{API}/jobs/{job_id}/cancel/", headers=registered.headers)
    assert canceled.status_code == 200, canceled.text
    assert _open_counts(app_db, job_id) == (0, 0)


def test_a_retried_job_counts_its_requeued_tasks_and_ends_again(
    registered: Protocol, app_db: Database
) -> None:
    registered.images(1)
    job_id = registered.job_that_runs(params={"max_attempts": 1})["id"]
    (task,) = registered.claim(job_id, 1)
    registered.post(job_id, failure(task, "broken"))
    assert registered.wait(job_id, FINAL)["status"] == "failed"
    assert _open_counts(app_db, job_id) == (0, 0)

    retried = registered.client.post(f"{API}/jobs/{job_id}/retry/", headers=registered.headers)
    assert retried.status_code == 200, retried.text
    assert _open_counts(app_db, job_id) == (1, 1)
    (again,) = registered.claim(job_id, 1)
    assert statuses(registered.post(job_id, success(again, detection(again)))) == ["saved"]
    assert registered.wait(job_id, FINAL)["status"] == "succeeded"
    assert _open_counts(app_db, job_id) == (0, 0)


def test_a_job_over_too_many_image_ids_is_refused_and_nothing_is_created(
    registered: Protocol,
) -> None:
    response = registered.create_job(image_ids=list(range(1, 10_002)))
    assert response.status_code == 400, response.text
    assert "image_ids" in response.json()["detail"]
    assert "10000" in response.json()["detail"]
    listed = registered.client.get(f"{API}/jobs", headers=registered.headers).json()
    assert listed["count"] == 0


def test_repeats_are_merged_before_the_image_id_cap_applies(registered: Protocol) -> None:
    first, second, third = registered.images(3)
    job = registered.create_job(image_ids=[first, second] * 5000 + [third], start_now=False)
    assert job.status_code == 201, job.text
    assert job.json()["selection"] == {"image_ids": [first, second, third]}
    # A list of repeats past ten times the cap is refused before any merging.
    flood = registered.create_job(image_ids=[first] * (10 * 10_000 + 1))
    assert flood.status_code == 400, flood.text
    assert "image_ids" in flood.json()["detail"]


def test_repeated_image_ids_make_one_task_each(registered: Protocol) -> None:
    first, second = registered.images(2)
    job = registered.job_that_runs(image_ids=[first, second, first, first])
    assert job["selection"] == {"image_ids": [first, second]}
    assert job["counts"]["total"] == 2


def test_a_job_that_cannot_start_fails_saying_why_instead_of_being_retried(
    registered: Protocol,
) -> None:
    # A job stored before job sizes were checked: it names more images than one statement
    # takes, so every start would fail the same way.
    state = registered.client.app.state.platform  # type: ignore[attr-defined]
    db: Database = state.db
    with db.write() as repos:
        pipeline = repos.pipelines.pipelines.resolve(registered.project_id, PIPELINE_SLUG)
        assert pipeline is not None
        job = repos.processing.jobs.create(
            project_id=registered.project_id,
            pipeline_id=pipeline.id,
            name="huge",
            dispatch_mode=DispatchMode.ASYNC_API,
            params=JobParams(),
            selection={"image_ids": list(range(1, 70_001))},
            start_now=True,
            created_by=registered.account.id,
        )
    JobStarter(db, state.queue).start(job.id)
    failed = registered.job(job.id)
    assert failed["status"] == "failed"
    assert "70000 images" in failed["events"][-1]["message"]
    assert "collection" in failed["events"][-1]["message"]
    with db.read() as repos:
        assert repos.processing.jobs.pending_dispatch(utcnow() + timedelta(days=1)) == []


def test_a_job_whose_start_keeps_failing_fails_after_its_tries(registered: Protocol) -> None:
    registered.images(1)
    job_id = registered.create_job(start_now=False).json()["id"]
    state = registered.client.app.state.platform  # type: ignore[attr-defined]
    for _ in range(2):
        assert not job_service.record_start_failure(
            state.db, state.queue, job_id, "the queue is away", retry=True, max_tries=3
        )
    assert job_service.record_start_failure(
        state.db, state.queue, job_id, "the queue is away", retry=True, max_tries=3
    )
    job = registered.job(job_id)
    assert job["status"] == "failed"
    messages = [e["message"] for e in job["events"]]
    assert messages[-3:] == [
        "could not start: the queue is away (try 1 of 3; trying again)",
        "could not start: the queue is away (try 2 of 3; trying again)",
        "could not start: the queue is away",
    ]


def _kept_counts(proto: Protocol, job_id: int) -> dict[str, int] | None:
    with proto.platform.db.read() as repos:
        row = repos.session.execute(
            text("SELECT status, task_counts FROM jobs WHERE id = :id"), {"id": job_id}
        ).one()
    kept = row[1]
    return json.loads(kept) if isinstance(kept, str) else kept


def test_a_finished_jobs_task_counts_are_kept_until_it_runs_again(registered: Protocol) -> None:
    """A job keeps its tasks' counts when it finishes (its pages read them, not its tasks),
    forgets them when a retry runs it again, and keeps the new ones when it ends again; a
    canceled job keeps the tasks its cancel closed."""
    registered.images(2)
    job_id = registered.job_that_runs(params={"max_attempts": 1})["id"]
    first, second = registered.claim(job_id, 2)
    assert _kept_counts(registered, job_id) is None
    registered.post(job_id, failure(first, "CUDA out of memory"), success(second))
    assert registered.wait(job_id, FINAL)["status"] == "completed_with_errors"
    kept = _kept_counts(registered, job_id)
    assert kept == {"queued": 0, "leased": 0, "succeeded": 1, "failed": 1, "canceled": 0}
    assert {k: registered.job(job_id)["counts"][k] for k in kept} == kept

    retried = registered.client.post(f"{API}/jobs/{job_id}/retry/", headers=registered.headers)
    assert retried.status_code == 200, retried.text
    assert _kept_counts(registered, job_id) is None
    assert registered.job(job_id)["counts"]["queued"] == 1
    (again,) = registered.claim(job_id, 1)
    registered.post(job_id, success(again, detection(again)))
    assert registered.wait(job_id, FINAL)["status"] == "succeeded"
    assert _kept_counts(registered, job_id) == {
        "queued": 0, "leased": 0, "succeeded": 2, "failed": 0, "canceled": 0,
    }  # fmt: skip

    registered.images(3)
    canceled = registered.job_that_runs()["id"]
    registered.claim(canceled, 1)
    answer = registered.client.post(f"{API}/jobs/{canceled}/cancel/", headers=registered.headers)
    assert answer.status_code == 200, answer.text
    with registered.platform.db.read() as repos:
        tasks = repos.session.scalar(
            text("SELECT count(*) FROM tasks WHERE job_id = :id"), {"id": canceled}
        )
    assert tasks == 3
    assert _kept_counts(registered, canceled) == {
        "queued": 0, "leased": 0, "succeeded": 0, "failed": 0, "canceled": 3,
    }  # fmt: skip
