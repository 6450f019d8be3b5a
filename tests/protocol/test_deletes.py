"""Deleting images, jobs and projects takes their tasks and results along.

Tasks, analyses and annotations have no foreign keys (decision 014), so the repositories
delete them, and locks keep a delete and a write that races it from leaving rows behind.
The racing cases run on PostgreSQL only: on SQLite one writer excludes every other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text

from tests.protocol.conftest import API, Protocol, statuses
from tests.support.protocol import detection, pipeline_config, success
from trapline.db.engine import Database, Repos
from trapline.db.types import utcnow
from trapline.domain.records import ImageFilter
from trapline.domain.results import AnalysisDraft, AnnotationDraft, AnnotationType, Box
from trapline.services.jobs import finish_if_done

#: Seconds a delete is given to show it waits for the write it races.
WAITS = 0.5


def _count(db: Database, sql: str, **params: object) -> int:
    with db.engine.connect() as connection:
        count = connection.execute(text(f"SELECT count(*) FROM {sql}"), params)  # noqa: S608
        return int(count.scalar_one())


def _rows_of_image(db: Database, image_id: int) -> tuple[int, int, int]:
    """(tasks, analyses, annotations) of an image."""
    return (
        _count(db, "tasks WHERE image_id = :i", i=image_id),
        _count(db, "analyses WHERE image_id = :i", i=image_id),
        _count(db, "annotations WHERE image_id = :i", i=image_id),
    )


def _done_job(proto: Protocol, count: int) -> tuple[int, list[dict]]:
    """A job over ``count`` new images whose results are all saved; (job id, its tasks)."""
    proto.images(count)
    job_id = proto.job_that_runs()["id"]
    tasks = proto.claim(job_id, count)
    assert (
        statuses(proto.post(job_id, *(success(t, detection(t)) for t in tasks)))
        == ["saved"] * count
    )
    return job_id, tasks


def test_deleting_an_image_takes_its_tasks_and_results_along(
    registered: Protocol, app_db: Database
) -> None:
    _, (gone, kept) = _done_job(registered, 2)
    gone_id, kept_id = int(gone["image_id"]), int(kept["image_id"])
    assert _rows_of_image(app_db, gone_id) == (1, 1, 2)  # a detection and its classification

    response = registered.client.delete(f"{API}/images/{gone_id}", headers=registered.headers)
    assert response.status_code == 204, response.text
    assert _rows_of_image(app_db, gone_id) == (0, 0, 0)
    assert _rows_of_image(app_db, kept_id) == (1, 1, 2)


def test_deleting_a_job_takes_its_tasks_and_detaches_its_results(
    registered: Protocol, app_db: Database
) -> None:
    job_id, tasks = _done_job(registered, 2)
    response = registered.client.delete(f"{API}/jobs/{job_id}/", headers=registered.headers)
    assert response.status_code == 204, response.text
    assert _count(app_db, "tasks WHERE job_id = :j", j=job_id) == 0
    for task in tasks:
        image_id = int(task["image_id"])
        assert _rows_of_image(app_db, image_id) == (0, 1, 2)
        assert _count(app_db, "analyses WHERE image_id = :i AND task_id IS NULL", i=image_id) == 1


def test_deleting_a_project_leaves_none_of_its_rows(registered: Protocol, app_db: Database) -> None:
    job_id, tasks = _done_job(registered, 2)
    made = registered.client.post(
        f"{API}/projects/", json={"name": "Other"}, headers=registered.headers
    )
    assert made.status_code == 201, made.text
    other = registered.in_project(int(made.json()["id"]))
    assert other.register(pipeline_config()).status_code == 201
    _, other_tasks = _done_job(other, 1)

    response = registered.client.delete(
        f"{API}/projects/{registered.project_id}/", headers=registered.headers
    )
    assert response.status_code == 204, response.text
    assert _count(app_db, "tasks WHERE job_id = :j", j=job_id) == 0
    assert _count(app_db, "annotations WHERE project_id = :p", p=registered.project_id) == 0
    for task in tasks:
        assert _rows_of_image(app_db, int(task["image_id"])) == (0, 0, 0)
    (other_task,) = other_tasks
    assert _rows_of_image(app_db, int(other_task["image_id"])) == (1, 1, 2)


# -- deletes racing writes (PostgreSQL) --


@pytest.fixture
def postgres_db(app_db: Database) -> Database:
    if app_db.is_sqlite:
        pytest.skip("PostgreSQL only: on SQLite a writing transaction excludes every other")
    return app_db


class Held:
    """A writing transaction run in a thread: ``work``, then held open until released, then
    ``then`` and the commit."""

    def __init__(
        self,
        db: Database,
        work: Callable[[Repos], object],
        then: Callable[[Repos], object] | None = None,
    ) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.errors: list[BaseException] = []

        def run() -> None:
            try:
                with db.write() as repos:
                    work(repos)
                    self.entered.set()
                    assert self.release.wait(30)
                    if then is not None:
                        then(repos)
            except BaseException as exc:
                self.errors.append(exc)
                self.entered.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.entered.wait(30)
        assert not self.errors, self.errors


@pytest.fixture
def held() -> Iterator[list[Held]]:
    started: list[Held] = []
    yield started
    for transaction in started:  # a failed test must not leave a thread holding locks
        transaction.release.set()
        transaction.thread.join(30)


def _in_thread(db: Database, work: Callable[[Repos], object]) -> tuple[threading.Thread, list]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with db.write() as repos:
                work(repos)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def _finish(writer: Held, delete: threading.Thread, errors: list) -> None:
    """The delete waits for the held write; once that commits, both end without error."""
    delete.join(WAITS)
    assert delete.is_alive(), "the delete did not wait for the write it races"
    writer.release.set()
    writer.thread.join(30)
    delete.join(30)
    assert not writer.errors, writer.errors
    assert not errors, errors


def test_an_image_deleted_during_an_enqueue_leaves_no_task_for_it(
    registered: Protocol, postgres_db: Database, held: list[Held]
) -> None:
    gone, kept = registered.images(2)
    response = registered.create_job(start_now=False)
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    with postgres_db.read() as repos:
        job = repos.jobs.get(job_id)
        image = repos.images.get(gone)
    assert job is not None
    assert image is not None

    enqueue = Held(
        postgres_db,
        lambda repos: repos.tasks.enqueue(
            job, ImageFilter(), collection_id=None, image_ids=None, now=utcnow()
        ),
    )
    held.append(enqueue)
    delete, errors = _in_thread(postgres_db, lambda repos: repos.images.delete(image))
    _finish(enqueue, delete, errors)

    assert _count(postgres_db, "tasks WHERE job_id = :j", j=job_id) == 1
    assert _rows_of_image(postgres_db, gone) == (0, 0, 0)
    assert _rows_of_image(postgres_db, kept)[0] == 1
    assert _count(postgres_db, "jobs WHERE id = :j AND open_tasks = 1", j=job_id) == 1


def test_an_image_deleted_while_its_result_is_stored_leaves_no_result(
    registered: Protocol, postgres_db: Database, held: list[Held]
) -> None:
    registered.images(1)
    job_id = registered.job_that_runs()["id"]
    (task,) = registered.claim(job_id, 1)
    task_id, image_id = int(task["id"]), int(task["image_id"])
    with postgres_db.read() as repos:
        image = repos.images.get(image_id)
    assert image is not None
    box = AnnotationDraft(AnnotationType.BOUNDING_BOX, "moth", 0.9, Box(1, 2, 30, 40), None)
    draft = AnalysisDraft(task_id, image_id, 0.1, "w", (box,))

    def store(repos: Repos) -> None:
        now = utcnow()
        assert repos.tasks.complete(job_id, [task_id], now=now) == {task_id}
        repos.analyses.store(
            [draft], project_id=registered.project_id, job_id=job_id, pipeline_id=None,
            source="job", now=now,
        )  # fmt: skip

    result = Held(postgres_db, store)
    held.append(result)
    delete, errors = _in_thread(postgres_db, lambda repos: repos.images.delete(image))
    _finish(result, delete, errors)

    assert _rows_of_image(postgres_db, image_id) == (0, 0, 0)


def test_a_job_deleted_while_a_result_is_stored_waits_for_it_without_deadlock(
    registered: Protocol, postgres_db: Database, held: list[Held]
) -> None:
    """A result locks its tasks and then its job's row; the delete takes them in that order
    too, so it waits instead of deadlocking (PostgreSQL would abort one of them)."""
    registered.images(2)
    job_id = registered.job_that_runs()["id"]
    ids = [int(t["id"]) for t in registered.claim(job_id, 2)]

    # Holds the tasks; takes the job's row once released, after the delete has started.
    result = Held(
        postgres_db,
        lambda repos: repos.tasks.complete(job_id, ids, now=utcnow()),
        then=lambda repos: finish_if_done(repos, job_id, settled=len(ids)),
    )
    held.append(result)
    delete, errors = _in_thread(postgres_db, lambda repos: repos.jobs.delete(job_id))
    _finish(result, delete, errors)

    assert _count(postgres_db, "jobs WHERE id = :j", j=job_id) == 0
    assert _count(postgres_db, "tasks WHERE job_id = :j", j=job_id) == 0


def test_a_result_whose_task_is_deleted_while_it_is_stored_is_rejected(
    registered: Protocol, postgres_db: Database, held: list[Held]
) -> None:
    """The post read the task before the job's delete committed, and stores after it."""
    registered.images(1)
    job_id = registered.job_that_runs()["id"]
    (task,) = registered.claim(job_id, 1)
    deleting = Held(postgres_db, lambda repos: repos.jobs.delete(job_id))
    held.append(deleting)
    answers: list[list[dict]] = []
    post = threading.Thread(
        target=lambda: answers.append(registered.post(job_id, success(task, detection(task)))),
        daemon=True,
    )
    post.start()
    post.join(WAITS)
    assert post.is_alive(), "the post did not wait for the delete"
    deleting.release.set()
    post.join(30)
    assert not deleting.errors, deleting.errors
    ((answer,),) = answers
    assert (answer["status"], answer["detail"]) == ("rejected", "this task no longer exists")
