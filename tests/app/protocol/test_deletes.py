"""Deleting images, jobs and projects leaves no row and no blob of what was deleted.

Tasks, analyses and annotations go by the foreign keys' cascade (decision 017), on both
databases; blobs go once the rows are committed. The racing cases run on PostgreSQL only (on
SQLite one writer excludes every other): each shows a lock or an order the deletes still
keep, and fails without it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.support.accounts import Account
from tests.support.grouping import T0, add_photos, grouping_project
from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import API, Protocol, statuses
from trapline.background.events import STALE_AFTER
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.tables import Base
from trapline.db.types import utcnow
from trapline.domain.core.event_rules import EventRule, Grouping
from trapline.domain.core.records import Image, ImageFilter
from trapline.domain.processing.jobs import Job
from trapline.domain.processing.results import AnalysisDraft, AnnotationDraft, AnnotationType, Box
from trapline.imaging.probe import THUMBNAIL_SIZES
from trapline.services.photos.blob_keys import project_blob_prefixes, thumbnail_key
from trapline.services.processing.jobs import finish_if_done
from trapline.storage.local import LocalBlobStore

#: Seconds a delete is given to show it waits for the write it races.
WAITS = 0.5

#: Columns that repeat a parent's id without a key of their own: (table, column, parent).
#: They must not outlive that parent either.
UNKEYED = [
    ("analyses", "project_id", "projects"),
    ("annotations", "project_id", "projects"),
    ("annotations", "image_id", "images"),
]


def _count(db: Database, sql: str, **params: object) -> int:
    with db.engine.connect() as connection:
        count = connection.execute(text(f"SELECT count(*) FROM {sql}"), params)  # noqa: S608
        return int(count.scalar_one())


def _orphans(db: Database) -> dict[str, int]:
    """Rows naming a parent row that does not exist, by ``table.column``; empty when none.

    Every foreign key of the tables is checked, and the columns that have none (UNKEYED).
    """
    references = list(UNKEYED)
    for keyed in Base.metadata.sorted_tables:
        references += [(keyed.name, k.parent.name, k.column.table.name) for k in keyed.foreign_keys]
    orphans = {}
    for table, column, parent in references:
        count = _count(
            db,
            f"{table} child WHERE child.{column} IS NOT NULL AND NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {parent} parent WHERE parent.id = child.{column})",
        )
        if count:
            orphans[f"{table}.{column}"] = count
    return orphans


def _store(proto: Protocol) -> LocalBlobStore:
    store = proto.client.app.state.platform.store  # type: ignore[attr-defined]
    assert isinstance(store, LocalBlobStore)
    return store


def _blobs(proto: Protocol) -> set[str]:
    """Every key the app's blob store holds."""
    root = _store(proto).root
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _blobs_of_image(proto: Protocol, db: Database, image_id: int) -> set[str]:
    """The keys of an image and of all its thumbnails, each made first if it was not."""
    for size in THUMBNAIL_SIZES:
        made = proto.client.get(
            f"{API}/images/{image_id}/thumbnail", params={"size": size}, headers=proto.headers,
            follow_redirects=False,
        )  # fmt: skip
        assert made.status_code == 307, made.text
    with db.read() as repos:
        image = repos.core.images.get(image_id)
    assert image is not None
    keys = {image.storage_key, *(thumbnail_key(image.storage_key, s) for s in THUMBNAIL_SIZES)}
    assert keys <= _blobs(proto)
    return keys


def _rows_of_image(db: Database, image_id: int) -> tuple[int, int, int]:
    """(tasks, analyses, annotations) of an image."""
    return (
        _count(db, "tasks WHERE image_id = :i", i=image_id),
        _count(db, "analyses WHERE image_id = :i", i=image_id),
        _count(db, "annotations WHERE image_id = :i", i=image_id),
    )


def _done_job(proto: Protocol, count: int) -> tuple[int, list[dict[str, Any]]]:
    """A job over ``count`` new images whose results are all saved; (job id, its tasks)."""
    proto.images(count)
    job_id = proto.job_that_runs()["id"]
    tasks = proto.claim(job_id, count)
    assert (
        statuses(proto.post(job_id, *(success(t, detection(t)) for t in tasks)))
        == ["saved"] * count
    )
    return job_id, tasks


def test_the_orphan_check_sees_every_reference(registered: Protocol, app_db: Database) -> None:
    """The check itself: rows made to point at nothing (keys not enforced) are each found."""
    _done_job(registered, 1)
    # An engine of its own, with the keys off, so no connection of the app's is changed.
    engine = create_engine(app_db.engine.url)
    try:
        with engine.begin() as connection:
            if not app_db.is_sqlite:  # SQLite enforces no key on a plain engine's connections
                connection.exec_driver_sql("SET session_replication_role = replica")
            connection.execute(text("DELETE FROM images"))
    finally:
        engine.dispose()
    assert _orphans(app_db) == {"tasks.image_id": 1, "analyses.image_id": 1,
                                "annotations.image_id": 2, "photo_findings.image_id": 1,
                                "photo_labels.image_id": 1}  # fmt: skip


def test_deleting_an_image_takes_its_tasks_results_and_blobs_along(
    registered: Protocol, app_db: Database
) -> None:
    _, (gone, kept) = _done_job(registered, 2)
    gone_id, kept_id = int(gone["image_id"]), int(kept["image_id"])
    assert _rows_of_image(app_db, gone_id) == (1, 1, 2)  # a detection and its classification
    gone_blobs = _blobs_of_image(registered, app_db, gone_id)
    kept_blobs = _blobs_of_image(registered, app_db, kept_id)

    response = registered.client.delete(f"{API}/images/{gone_id}", headers=registered.headers)
    assert response.status_code == 204, response.text
    assert _rows_of_image(app_db, gone_id) == (0, 0, 0)
    assert _rows_of_image(app_db, kept_id) == (1, 1, 2)
    assert _orphans(app_db) == {}
    assert not gone_blobs & _blobs(registered)
    assert kept_blobs <= _blobs(registered)


def test_deleting_a_job_takes_its_tasks_and_detaches_its_results(
    registered: Protocol, app_db: Database
) -> None:
    job_id, tasks = _done_job(registered, 2)
    blobs = _blobs(registered)
    response = registered.client.delete(f"{API}/jobs/{job_id}/", headers=registered.headers)
    assert response.status_code == 204, response.text
    assert _count(app_db, "tasks WHERE job_id = :j", j=job_id) == 0
    assert _count(app_db, "job_events WHERE job_id = :j", j=job_id) == 0
    for task in tasks:
        image_id = int(task["image_id"])
        assert _rows_of_image(app_db, image_id) == (0, 1, 2)
        detached = "analyses WHERE image_id = :i AND job_id IS NULL AND task_id IS NULL"
        assert _count(app_db, detached, i=image_id) == 1
    assert _orphans(app_db) == {}
    # A job has no blobs of its own, and its images' stay with them.
    assert _blobs(registered) == blobs


def test_deleting_a_project_leaves_none_of_its_rows_or_blobs(
    registered: Protocol, app_db: Database
) -> None:
    job_id, tasks = _done_job(registered, 2)
    for task in tasks:
        _blobs_of_image(registered, app_db, int(task["image_id"]))
    made = registered.client.post(
        f"{API}/projects/", json={"name": "Other"}, headers=registered.headers
    )
    assert made.status_code == 201, made.text
    other = registered.in_project(int(made.json()["id"]))
    assert other.register(pipeline_config()).status_code == 201
    _, other_tasks = _done_job(other, 1)
    (other_task,) = other_tasks
    other_blobs = _blobs_of_image(other, app_db, int(other_task["image_id"]))

    response = registered.client.delete(
        f"{API}/projects/{registered.project_id}/", headers=registered.headers
    )
    assert response.status_code == 204, response.text
    assert _count(app_db, "tasks WHERE job_id = :j", j=job_id) == 0
    assert _count(app_db, "annotations WHERE project_id = :p", p=registered.project_id) == 0
    for task in tasks:
        assert _rows_of_image(app_db, int(task["image_id"])) == (0, 0, 0)
    assert _rows_of_image(app_db, int(other_task["image_id"])) == (1, 1, 2)
    assert _orphans(app_db) == {}
    left = _blobs(registered)
    assert not [k for k in left for p in project_blob_prefixes(registered.project_id)
                if k.startswith(p)]  # fmt: skip
    assert other_blobs <= left


# -- deletes racing writes (PostgreSQL) --


@pytest.fixture
def postgres_db(app_db: Database) -> Database:
    """The app's database, for tests marked to run on PostgreSQL only: on SQLite a writing
    transaction excludes every other, so there is nothing to race."""
    assert not app_db.is_sqlite, 'mark the test @pytest.mark.backend("postgres")'
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


def _in_thread(
    db: Database, work: Callable[[Repos], object]
) -> tuple[threading.Thread, list[BaseException]]:
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


def _finish(writer: Held, delete: threading.Thread, errors: list[BaseException]) -> None:
    """The delete waits for the held write; once that commits, both end without error."""
    delete.join(WAITS)
    assert delete.is_alive(), "the delete did not wait for the write it races"
    writer.release.set()
    writer.thread.join(30)
    delete.join(30)
    assert not writer.errors, writer.errors
    assert not errors, errors


def _job_and_image(proto: Protocol, db: Database, image_id: int) -> tuple[Job, Image]:
    """A job over the project that is not started yet, and one image's record."""
    response = proto.create_job(start_now=False)
    assert response.status_code == 201, response.text
    with db.read() as repos:
        job = repos.processing.jobs.get(response.json()["id"])
        image = repos.core.images.get(image_id)
    assert job is not None
    assert image is not None
    return job, image


def _enqueue(job: Job) -> Callable[[Repos], int]:
    return lambda repos: repos.processing.tasks.enqueue(
        job, ImageFilter(), collection_id=None, image_ids=None, now=utcnow()
    )


@pytest.mark.backend("postgres")
def test_an_image_deleted_during_an_enqueue_leaves_no_task_for_it(
    registered: Protocol, postgres_db: Database, held: list[Held]
) -> None:
    """The delete waits for the enqueue (the project's row) and uncounts the task it made:
    the key's cascade alone would take the task but leave it counted as open."""
    gone, kept = registered.images(2)
    job, image = _job_and_image(registered, postgres_db, gone)

    enqueue = Held(postgres_db, _enqueue(job))
    held.append(enqueue)
    delete, errors = _in_thread(postgres_db, lambda repos: repos.photos.images.delete(image))
    _finish(enqueue, delete, errors)

    assert _count(postgres_db, "tasks WHERE job_id = :j", j=job.id) == 1
    assert _rows_of_image(postgres_db, gone) == (0, 0, 0)
    assert _rows_of_image(postgres_db, kept)[0] == 1
    assert _count(postgres_db, "jobs WHERE id = :j AND open_tasks = 1", j=job.id) == 1


@pytest.mark.backend("postgres")
def test_an_enqueue_during_an_image_delete_waits_and_skips_the_image(
    registered: Protocol, postgres_db: Database, held: list[Held]
) -> None:
    """The enqueue waits for the delete (the project's row) and then no longer sees the
    image: the task's key alone would wait too, and then fail the whole enqueue."""
    gone, kept = registered.images(2)
    job, image = _job_and_image(registered, postgres_db, gone)

    deleting = Held(postgres_db, lambda repos: repos.photos.images.delete(image))
    held.append(deleting)
    enqueue, errors = _in_thread(postgres_db, _enqueue(job))
    _finish(deleting, enqueue, errors)

    assert _rows_of_image(postgres_db, gone) == (0, 0, 0)
    assert _rows_of_image(postgres_db, kept)[0] == 1
    assert _count(postgres_db, "jobs WHERE id = :j AND open_tasks = 1", j=job.id) == 1


@pytest.mark.backend("postgres")
@pytest.mark.parametrize("parent", ["job", "project"])
def test_an_enqueue_during_a_delete_of_its_job_makes_nothing(
    registered: Protocol, postgres_db: Database, held: list[Held], parent: str
) -> None:
    """The enqueue waits for the delete (the job's row, as the key would) and then finds no
    job: no task and no error, where the key alone would fail it."""
    (image_id,) = registered.images(1)
    job, _ = _job_and_image(registered, postgres_db, image_id)
    made: list[int] = []

    def delete(repos: Repos) -> None:
        if parent == "job":
            repos.processing.jobs.delete(job.id)
        else:
            repos.core.projects.delete(job.project_id)

    deleting = Held(postgres_db, delete)
    held.append(deleting)
    enqueue, errors = _in_thread(postgres_db, lambda repos: made.append(_enqueue(job)(repos)))
    _finish(deleting, enqueue, errors)

    assert made == [0]
    assert _count(postgres_db, "tasks") == 0
    assert _orphans(postgres_db) == {}


@pytest.mark.backend("postgres")
def test_an_image_deleted_while_its_result_is_stored_leaves_no_result(
    registered: Protocol, postgres_db: Database, held: list[Held]
) -> None:
    """The result has taken its task and then stores its analysis, whose key takes the
    image: the delete takes the image's tasks before the image, in that order, so it waits
    for the result instead of deadlocking with it."""
    registered.images(1)
    job_id = registered.job_that_runs()["id"]
    (task,) = registered.claim(job_id, 1)
    task_id, image_id = int(task["id"]), int(task["image_id"])
    with postgres_db.read() as repos:
        image = repos.core.images.get(image_id)
    assert image is not None
    box = AnnotationDraft(AnnotationType.BOUNDING_BOX, "moth", 0.9, Box(1, 2, 30, 40), None)
    draft = AnalysisDraft(task_id, image_id, 0.1, "w", (box,))

    def store(repos: Repos) -> None:
        repos.processing.analyses.store(
            [draft], project_id=registered.project_id, job_id=job_id, pipeline_id=None,
            source="job", now=utcnow(),
        )  # fmt: skip

    result = Held(
        postgres_db,
        lambda repos: repos.processing.tasks.complete(job_id, [task_id], now=utcnow()),
        then=store,
    )
    held.append(result)
    delete, errors = _in_thread(postgres_db, lambda repos: repos.photos.images.delete(image))
    _finish(result, delete, errors)

    assert _rows_of_image(postgres_db, image_id) == (0, 0, 0)
    assert _orphans(postgres_db) == {}


@pytest.mark.backend("postgres")
@pytest.mark.parametrize("parent", ["job", "project"])
def test_a_job_deleted_while_a_result_is_stored_waits_for_it_without_deadlock(
    registered: Protocol, postgres_db: Database, held: list[Held], parent: str
) -> None:
    """A result locks its tasks and then its job's row; the delete (of the job, or of its
    project) takes them in that order too, so it waits instead of deadlocking (PostgreSQL
    would abort one of them)."""
    registered.images(2)
    job_id = registered.job_that_runs()["id"]
    ids = [int(t["id"]) for t in registered.claim(job_id, 2)]

    # Holds the tasks; takes the job's row once released, after the delete has started.
    result = Held(
        postgres_db,
        lambda repos: repos.processing.tasks.complete(job_id, ids, now=utcnow()),
        then=lambda repos: finish_if_done(repos, job_id, settled=len(ids)),
    )
    held.append(result)

    def delete(repos: Repos) -> None:
        if parent == "job":
            repos.processing.jobs.delete(job_id)
        else:
            repos.core.projects.delete(registered.project_id)

    deleting, errors = _in_thread(postgres_db, delete)
    _finish(result, deleting, errors)

    assert _count(postgres_db, "jobs WHERE id = :j", j=job_id) == 0
    assert _count(postgres_db, "tasks WHERE job_id = :j", j=job_id) == 0
    assert _orphans(postgres_db) == {}


@pytest.mark.backend("postgres")
def test_a_result_whose_task_is_deleted_while_it_is_stored_is_rejected(
    registered: Protocol, postgres_db: Database, held: list[Held]
) -> None:
    """The post read the task before the job's delete committed, and stores after it."""
    registered.images(1)
    job_id = registered.job_that_runs()["id"]
    (task,) = registered.claim(job_id, 1)
    deleting = Held(postgres_db, lambda repos: repos.processing.jobs.delete(job_id))
    held.append(deleting)
    answers: list[list[dict[str, Any]]] = []
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


@pytest.mark.backend("postgres")
def test_a_regrouping_step_during_a_project_delete_waits_and_finds_it_gone(
    postgres_db: Database, owner: Account, held: list[Held]
) -> None:
    """A step takes the project's row before its regrouping's: it waits for the delete, then
    ends as no longer its runner's. It used to read its regrouping first and fail to save it
    once the delete had taken it (the server logged a traceback)."""
    project_id, deployment_id = grouping_project(postgres_db, owner, Grouping(EventRule.NIGHT))
    add_photos(postgres_db, project_id, deployment_id, T0)
    now = utcnow()
    with postgres_db.write() as repos:
        regrouping = repos.ecology.regroupings.start(project_id, None, now)
        assert repos.ecology.regroupings.claim(regrouping.id, "here", now, now - STALE_AFTER)

    deleting = Held(postgres_db, lambda repos: repos.core.projects.delete(project_id))
    held.append(deleting)
    stepped: list[bool | None] = []
    step, errors = _in_thread(
        postgres_db,
        lambda repos: stepped.append(repos.ecology.regroupings.step(regrouping.id, "here", now)),
    )
    _finish(deleting, step, errors)
    assert stepped == [None]
