"""Migrations build the schema the models describe, on both databases."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine

from tests.support.databases import (
    scratch_postgres,
)
from trapline.db import migrate
from trapline.db.tables import Base


def _check_fresh(url: str) -> None:
    engine = create_engine(url)
    try:
        assert inspect(engine).get_table_names() == []
        migrate.upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        migrate.check(engine)  # raises when models and migrations disagree
        migrate.upgrade(engine)  # a second run is a no-op
    finally:
        engine.dispose()


def test_upgrade_head_on_empty_sqlite(tmp_path: Path) -> None:
    _check_fresh(f"sqlite:///{tmp_path / 'empty.db'}")


@pytest.mark.postgres
def test_upgrade_head_on_empty_postgres() -> None:
    with scratch_postgres() as url:
        _check_fresh(url)


@pytest.mark.postgres
def test_replicas_migrating_at_once_do_not_collide(tmp_path: Path) -> None:
    """Three `trapline migrate` processes at once: the advisory lock serialises them."""
    with scratch_postgres() as url:
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "trapline.cli", "migrate", "--database-url", url],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        outputs = [p.communicate(timeout=60)[0].decode() for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], outputs
        engine = create_engine(url)
        migrate.check(engine)
        engine.dispose()


def test_sqlite_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    """Concurrent writing transactions on SQLite wait for the lock (BEGIN IMMEDIATE)."""
    from trapline.db.engine import Database
    from trapline.services.core.users import create_user
    from trapline.services.photos.projects import create_project

    url = f"sqlite:///{tmp_path / 'busy.db'}"
    db = Database.from_url(url)
    migrate.upgrade(db.engine)
    user = create_user(db, None, "w@example.org", "W", is_admin=False)
    errors: list[BaseException] = []

    def write_many(n: int) -> None:
        try:
            for i in range(25):
                with db.write() as repos:
                    project = repos.core.projects.get(1) if i % 2 else None
                    repos.core.projects.create(f"p{n}-{i}", str(project), user.id)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    create_project(db, user, "first", "")
    threads = [threading.Thread(target=write_many, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with db.read() as repos:
        total, _ = repos.core.projects.list_visible(user.id, everything=True, limit=1, offset=0)
    assert total == 1 + 6 * 25
    db.dispose()


def _round_trip_0008(url: str) -> None:
    """Down to 0007 and up again, with rows whose parents are gone as 0008 allows."""
    from alembic import command
    from sqlalchemy import text

    engine = create_engine(url)
    try:
        migrate.upgrade(engine, _before("0012"))  # 0012 puts the keys back
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO tasks (id, job_id, image_id, status, attempt, max_attempts, "
                "available_at, updated_at) VALUES (7, 70, 700, 'queued', 0, 3, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ))  # fmt: skip
            connection.execute(text(
                "INSERT INTO analyses (id, project_id, image_id, task_id, source, status, "
                "created_at) VALUES (8, 1, 800, 7, 'job', 'completed', CURRENT_TIMESTAMP)"
            ))  # fmt: skip
            connection.execute(text(
                "INSERT INTO annotations (id, analysis_id, project_id, image_id, type, ordering) "
                "VALUES (9, 8, 1, 800, 'custom', 0)"
            ))  # fmt: skip
        config, connection = migrate.alembic_config(engine)
        try:
            command.downgrade(config, "0007")
        finally:
            connection.close()  # type: ignore[attr-defined]
        with engine.connect() as connection:
            # The orphans went as the keys would have taken them: all three, by cascade.
            for table in ("tasks", "analyses", "annotations"):
                count = connection.execute(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
                assert count.scalar() == 0
        keys = {fk["name"] for fk in inspect(engine).get_foreign_keys("analyses")}
        assert {"fk_analyses_image_id_images", "fk_analyses_task_id_tasks"} <= keys
        migrate.upgrade(engine)
        migrate.check(engine)
        keys = {fk["name"] for fk in inspect(engine).get_foreign_keys("tasks")}
        assert keys == {"fk_tasks_job_id_jobs", "fk_tasks_image_id_images"}
    finally:
        engine.dispose()


def test_migration_0008_goes_down_and_up_on_sqlite(tmp_path: Path) -> None:
    _round_trip_0008(f"sqlite:///{tmp_path / 'trip.db'}")


@pytest.mark.postgres
def test_migration_0008_goes_down_and_up_on_postgres() -> None:
    with scratch_postgres() as url:
        _round_trip_0008(url)


def _schema(engine: Engine) -> dict[str, str]:
    """What a rebuild must keep of each table: columns, keys, indexes, checks, uniques."""
    found = inspect(engine)
    described = {
        table: (
            found.get_columns(table),
            # By name: a rebuilt SQLite table lists its keys in no set order (Alembic's batch).
            sorted(found.get_foreign_keys(table), key=lambda k: str(k["name"])),
            sorted(found.get_indexes(table), key=lambda i: str(i["name"])),
            found.get_check_constraints(table),
            found.get_unique_constraints(table),
        )
        for table in found.get_table_names()
    }
    # As text: types and index conditions are objects that compare by identity.
    return {
        table: json.dumps(parts, default=str, sort_keys=True) for table, parts in described.items()
    }


def _before(revision: str) -> str:
    """The revision ``revision`` follows (the chain may grow in between)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(migrate.MIGRATIONS_DIR))
    down = scripts.get_revision(revision).down_revision
    assert isinstance(down, str)
    return down


def test_migration_0011_keeps_every_row_and_key_and_ids_go_on_from_the_highest(
    tmp_path: Path,
) -> None:
    """0011 rebuilds SQLite's tables with AUTOINCREMENT: rows, indexes and keys stay."""
    from sqlalchemy import text

    from trapline.db.engine import make_engine
    from trapline.db.tables.base import has_serial_id

    # The server's own engine: foreign keys are enforced on its connections, so a rebuild
    # that dropped a parent table with enforcement on would empty the child tables.
    engine = make_engine(f"sqlite:///{tmp_path / 'full.db'}")
    try:
        migrate.upgrade(engine, _before("0011"))
        with engine.begin() as connection:
            for sql in (
                "INSERT INTO users (id, email, name, is_admin, is_service, is_active, created_at) "
                "VALUES (4, 'a@example.org', 'A', 0, 0, 1, CURRENT_TIMESTAMP), "
                "(9, 'b@example.org', 'B', 0, 0, 1, CURRENT_TIMESTAMP)",
                "INSERT INTO projects (id, name, description, image_count, "
                "classification_top_k, keep_full_scores, created_by, created_at) "
                "VALUES (7, 'P', '', 0, 5, 0, 4, CURRENT_TIMESTAMP)",
                "INSERT INTO memberships (project_id, user_id, role, created_at) "
                "VALUES (7, 4, 'owner', CURRENT_TIMESTAMP), (7, 9, 'viewer', CURRENT_TIMESTAMP)",
                "INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, created_at) "
                "VALUES (3, 9, 't', 'tl_x', 'h', CURRENT_TIMESTAMP)",
                "INSERT INTO deployments (id, project_id, name, description, created_at) "
                "VALUES (12, 7, 'Trap', '', CURRENT_TIMESTAMP)",
            ):
                connection.execute(text(sql))
        before = _schema(engine)
        with engine.connect() as connection:
            rows_before = {
                table: connection.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()  # noqa: S608
                for table in before
                if table != "alembic_version"
            }
            # Later migrations may add columns: the rows are compared on the columns of 0011.
            columns = {
                table: ", ".join(c["name"] for c in inspect(connection).get_columns(table))
                for table in rows_before
            }

        migrate.upgrade(engine, "0011")

        assert _schema(engine) == before
        migrate.upgrade(engine)
        migrate.check(engine)
        with engine.connect() as connection:
            for table, rows in rows_before.items():
                now = connection.execute(
                    text(f"SELECT {columns[table]} FROM {table} ORDER BY 1")  # noqa: S608
                ).all()
                assert now == rows, table
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            schemas = {
                name: sql
                for name, sql in connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
                )
            }
            numbered = [t for t in Base.metadata.sorted_tables if has_serial_id(t)]
            assert len(numbered) >= 16
            for table in numbered:
                assert "AUTOINCREMENT" in schemas[table.name], table.name
            # A deleted user's id is not handed out again.
            connection.execute(text("DELETE FROM users WHERE id = 9"))
            connection.execute(text(
                "INSERT INTO users (email, name, is_admin, is_service, is_active, created_at) "
                "VALUES ('c@example.org', 'C', 0, 0, 1, CURRENT_TIMESTAMP)"
            ))  # fmt: skip
            newest = connection.execute(text("SELECT max(id) FROM users")).scalar()
            assert newest == 10
            # The viewer's membership and token went with the user, by the kept keys.
            assert connection.execute(text("SELECT count(*) FROM memberships")).scalar() == 1
            assert connection.execute(text("SELECT count(*) FROM api_tokens")).scalar() == 0
    finally:
        engine.dispose()


def test_every_numbered_table_uses_autoincrement_on_a_fresh_sqlite(tmp_path: Path) -> None:
    """Later migrations that rebuild a table must keep AUTOINCREMENT (ids never reused)."""
    from sqlalchemy import text

    from trapline.db.tables.base import has_serial_id

    engine = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection:
            schemas = {
                name: sql
                for name, sql in connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
                )
            }
        for table in Base.metadata.sorted_tables:
            if has_serial_id(table):
                assert "AUTOINCREMENT" in schemas[table.name], table.name
    finally:
        engine.dispose()


#: Rows as the keyless years may have left them (migration 0011), parents first. Kept: image
#: 20 with its task 30, analysis 40 and annotations 50 (a detection) and 51 (its child).
#: The rest point at things that are gone: they go, or lose the name of what is gone.
_BEFORE_0012 = [
    "INSERT INTO users (id, email, name, is_admin, is_service, is_active, created_at) "
    "VALUES (1, 'a@example.org', 'A', false, false, true, CURRENT_TIMESTAMP)",
    "INSERT INTO projects (id, name, description, image_count, classification_top_k, "
    "keep_full_scores, created_by, created_at) VALUES (2, 'P', '', 1, 5, false, 1, "
    "CURRENT_TIMESTAMP)",
    "INSERT INTO images (id, project_id, storage_key, filename, sha256, size_bytes, width, "
    "height, content_type, captured_sort, source, created_at) VALUES (20, 2, 'images/2/a.jpg', "
    "'a.jpg', 'aa', 1, 1, 1, 'image/jpeg', CURRENT_TIMESTAMP, 'upload', CURRENT_TIMESTAMP)",
    "INSERT INTO pipelines (id, project_id, slug, version, name, stages, created_at) "
    "VALUES (3, 2, 'p', 1, 'P', '[]', CURRENT_TIMESTAMP)",
    "INSERT INTO algorithms (id, project_id, key, version, name, created_at) "
    "VALUES (4, 2, 'det', 1, 'Det', CURRENT_TIMESTAMP)",
    "INSERT INTO jobs (id, project_id, pipeline_id, name, status, dispatch_mode, params, "
    "selection, start_now, open_tasks, created_at) VALUES (10, 2, 3, 'J', 'running', "
    "'async_api', '{}', '{}', true, 1, CURRENT_TIMESTAMP)",
    # tasks: 30 kept; 31 of a job that is gone; 32 of an image that is gone
    "INSERT INTO tasks (id, job_id, image_id, status, attempt, max_attempts, available_at, "
    "updated_at) VALUES (30, 10, 20, 'succeeded', 1, 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
    "(31, 99, 20, 'queued', 0, 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), "
    "(32, 10, 99, 'queued', 0, 3, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    # analyses: 40 kept; 41 of task 31 (goes above) with a job and pipeline that are gone,
    # kept detached; 42 of an image that is gone
    "INSERT INTO analyses (id, project_id, image_id, job_id, task_id, pipeline_id, source, "
    "status, created_at) VALUES (40, 2, 20, 10, 30, 3, 'job', 'completed', CURRENT_TIMESTAMP), "
    "(41, 2, 20, 99, 31, 99, 'job', 'completed', CURRENT_TIMESTAMP), "
    "(42, 2, 99, 10, NULL, 3, 'job', 'completed', CURRENT_TIMESTAMP)",
    # annotations: 50 and 51 kept (51 loses an algorithm that is gone); 52 and its child 53
    # of analysis 42 (goes above); 54 of an analysis that is gone, and 55, 56 its
    # descendants (which must go too, generation by generation)
    "INSERT INTO annotations (id, analysis_id, project_id, image_id, type, ordering, "
    "parent_id, algorithm_id) VALUES (50, 40, 2, 20, 'bounding_box', 0, NULL, 4), "
    "(51, 40, 2, 20, 'classification', 0, 50, 99), "
    "(52, 42, 2, 99, 'bounding_box', 0, NULL, 4), (53, 42, 2, 99, 'classification', 0, 52, 4), "
    "(54, 98, 2, 20, 'bounding_box', 0, NULL, 4), (55, 40, 2, 20, 'custom', 0, 54, 4), "
    "(56, 40, 2, 20, 'custom', 0, 55, 4)",
]


def _migrate_0012(url: str) -> None:
    """0012 on a database with orphans: they go (or are detached), the rest stay; down, up."""
    from sqlalchemy import text

    from trapline.db.engine import make_engine

    engine = make_engine(url)  # the server's own: keys enforced on SQLite too
    sqlite = url.startswith("sqlite")
    try:
        migrate.upgrade(engine, _before("0012"))
        with engine.begin() as connection:
            for sql in _BEFORE_0012:
                connection.execute(text(sql))
            if sqlite:  # ids up to 80 were handed out once (reserved, or their rows deleted)
                connection.execute(text("UPDATE sqlite_sequence SET seq = 80 WHERE name = 'tasks'"))

        migrate.upgrade(engine)

        migrate.check(engine)
        with engine.connect() as connection:

            def rows(sql: str) -> list[tuple[object, ...]]:
                return [tuple(r) for r in connection.execute(text(sql))]

            assert rows("SELECT id FROM tasks ORDER BY id") == [(30,)]
            assert rows("SELECT id, job_id, task_id, pipeline_id FROM analyses ORDER BY id") == [
                (40, 10, 30, 3),
                (41, None, None, None),
            ]
            assert rows("SELECT id, parent_id, algorithm_id FROM annotations ORDER BY id") == [
                (50, None, 4),
                (51, 50, None),
            ]
        keys = {
            table: {fk["name"] for fk in inspect(engine).get_foreign_keys(table)}
            for table in ("tasks", "analyses", "annotations")
        }
        assert keys == {
            "tasks": {"fk_tasks_job_id_jobs", "fk_tasks_image_id_images"},
            "analyses": {
                "fk_analyses_image_id_images",
                "fk_analyses_job_id_jobs",
                "fk_analyses_task_id_tasks",
                "fk_analyses_pipeline_id_pipelines",
            },
            "annotations": {
                "fk_annotations_analysis_id_analyses",
                "fk_annotations_parent_id_annotations",
                "fk_annotations_algorithm_id_algorithms",
            },
        }
        if sqlite:
            _assert_autoincrement(engine)
            with engine.begin() as connection:
                connection.execute(text("DELETE FROM tasks WHERE id = 30"))
                connection.execute(text(
                    "INSERT INTO tasks (job_id, image_id, status, attempt, max_attempts, "
                    "available_at, updated_at) VALUES (10, 20, 'failed', 0, 3, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ))  # fmt: skip
                # The rebuild kept the highest id handed out, not only the highest present.
                assert connection.execute(text("SELECT max(id) FROM tasks")).scalar() == 81

        # The keys cascade: deleting the image takes its task, analyses and annotations.
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM images WHERE id = 20"))
        with engine.connect() as connection:
            for table in ("tasks", "analyses", "annotations"):
                count = connection.execute(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
                assert count.scalar() == 0, table

        config, connection = migrate.alembic_config(engine)
        try:
            from alembic import command

            command.downgrade(config, "0011")
        finally:
            connection.close()  # type: ignore[attr-defined]
        assert inspect(engine).get_foreign_keys("annotations") == []
        if sqlite:
            _assert_autoincrement(engine)
        migrate.upgrade(engine)
        migrate.check(engine)
    finally:
        engine.dispose()


def _assert_autoincrement(engine: Engine) -> None:
    """Every table numbered by an id still has AUTOINCREMENT (SQLite)."""
    from sqlalchemy import text

    from trapline.db.tables.base import has_serial_id

    with engine.connect() as connection:
        found = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        schemas = {name: sql for name, sql in found}
    for table in Base.metadata.sorted_tables:
        # Tables of later migrations are absent after a downgrade; at head every table is
        # there (test_upgrade_head_on_empty_sqlite).
        if has_serial_id(table) and table.name in schemas:
            assert "AUTOINCREMENT" in schemas[table.name], table.name


def test_migration_0012_removes_orphans_and_adds_the_keys_on_sqlite(tmp_path: Path) -> None:
    _migrate_0012(f"sqlite:///{tmp_path / 'keys.db'}")


@pytest.mark.postgres
def test_migration_0012_removes_orphans_and_adds_the_keys_on_postgres() -> None:
    with scratch_postgres() as url:
        _migrate_0012(url)


def _round_trip_0016(url: str) -> None:
    """0016 goes down to 0015 and up again, leaving the schema as it was."""
    from alembic import command

    from trapline.db.engine import make_engine

    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        after = _schema(engine)
        config, connection = migrate.alembic_config(engine)
        try:
            command.downgrade(config, "0015")
        finally:
            connection.close()  # type: ignore[attr-defined]
        tables = set(inspect(engine).get_table_names())
        assert not tables & {"callback_secrets", "callback_signatures", "analysis_artifacts"}
        assert "digest" not in {c["name"] for c in inspect(engine).get_columns("annotations")}
        migrate.upgrade(engine)
        migrate.check(engine)
        assert _schema(engine) == after
    finally:
        engine.dispose()


def test_migration_0016_goes_down_and_up_on_sqlite(tmp_path: Path) -> None:
    _round_trip_0016(f"sqlite:///{tmp_path / 'trip16.db'}")


@pytest.mark.postgres
def test_migration_0016_goes_down_and_up_on_postgres() -> None:
    with scratch_postgres() as url:
        _round_trip_0016(url)


def _round_trip_0025(url: str) -> None:
    """0025 moves each photo's event into ``image_events`` and back, link for link, and going
    down and up again leaves the schema as it was."""
    from datetime import datetime, timedelta

    from alembic import command
    from sqlalchemy import text

    from trapline.db.engine import Database
    from trapline.domain.core.event_rules import ProjectKind

    db = Database.from_url(url)
    try:
        migrate.upgrade(db.engine)
        after = _schema(db.engine)
        with db.write() as repos:
            user = repos.core.users.create(email="m@example.org", name="M")
            project = repos.core.projects.create("Links", "", user.id, ProjectKind.CAMERA_TRAP)
            deployment = repos.core.deployments.create(project.id, name="Trap")
            start = datetime(2024, 5, 1, 21, 0)
            # Two photos of one sequence, one apart, and one undated (in no event).
            for n, minutes in enumerate((0, 0, 30, None)):
                repos.photos.images.insert(
                    project_id=project.id,
                    deployment_id=deployment.id,
                    storage_key=f"k{n}",
                    filename=f"{n}.jpg",
                    sha256=f"{n:064d}",
                    size_bytes=1,
                    width=1,
                    height=1,
                    content_type="image/jpeg",
                    captured_at=None if minutes is None else start + timedelta(minutes=minutes),
                    captured_offset_minutes=0,
                )
            repos.ecology.events.regroup(deployment.id)
        links = "SELECT image_id, event_id FROM image_events ORDER BY image_id"
        with db.engine.connect() as connection:
            linked = [tuple(r) for r in connection.execute(text(links))]
        assert len(linked) == 3
        assert len({e for _, e in linked}) == 2
        config, connection = migrate.alembic_config(db.engine)
        try:
            command.downgrade(config, "0024")
        finally:
            connection.close()  # type: ignore[attr-defined]
        assert "image_events" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT id, event_id FROM images ORDER BY id"))
            assert [tuple(r) for r in rows if r[1] is not None] == linked
        migrate.upgrade(db.engine)
        migrate.check(db.engine)
        assert _schema(db.engine) == after
        assert "event_id" not in {c["name"] for c in inspect(db.engine).get_columns("images")}
        with db.engine.connect() as connection:
            assert [tuple(r) for r in connection.execute(text(links))] == linked
    finally:
        db.dispose()


def test_migration_0025_moves_event_links_down_and_up_on_sqlite(tmp_path: Path) -> None:
    _round_trip_0025(f"sqlite:///{tmp_path / 'trip25.db'}")


@pytest.mark.postgres
def test_migration_0025_moves_event_links_down_and_up_on_postgres() -> None:
    with scratch_postgres() as url:
        _round_trip_0025(url)


def _round_trip_0034_0035(url: str) -> None:
    """0034 and 0035 fill what they keep from what is there: the sums of the tallies by
    pipeline, deployment, label and taxon, and a finished job's tasks by state."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import text

    from tests.support.queue_bench import make_bench
    from trapline.db.engine import Database
    from trapline.domain.processing.jobs import JobStatus
    from trapline.queue.sql import SqlTaskQueue

    db = Database.from_url(url)
    queue = SqlTaskQueue(db)
    try:
        migrate.upgrade(db.engine)
        bench = make_bench("sql", db, queue)
        job = bench.job(3)
        with db.write() as repos:
            deployment = repos.core.deployments.create(bench.project_id, name="Trap")
            repos.photos.images.insert(
                project_id=bench.project_id, deployment_id=deployment.id, storage_key="k",
                filename="a.jpg", sha256="a" * 64, size_bytes=1, width=1, height=1,
                content_type="image/jpeg", captured_at=datetime(2024, 5, 1, 21),
                captured_offset_minutes=0,
            )  # fmt: skip
            repos.ecology.events.regroup(deployment.id)
            assert repos.processing.jobs.transition(
                job.id, [JobStatus.RUNNING], JobStatus.CANCELED, "x"
            )
            repos.processing.tasks.cancel_job(job.id, now=datetime.now(UTC))
        tally = (
            "INSERT INTO occurrence_tallies (event_id, project_id, deployment_id, pipeline, night,"
            " label, taxon_id, occurrences, detections) SELECT id, project_id, deployment_id,"
            " :pipeline, :night, :label, :taxon, :n, :d FROM events"
        )
        rows = [("a", "moth", None, 2, 5), ("a", "moth", None, 1, 1), ("a", None, None, 4, 4),
                ("b", "Ardea", 7, 3, 9)]  # fmt: skip
        with db.engine.begin() as connection:
            for pipeline, label, taxon, n, d in rows:
                values = {"pipeline": pipeline, "label": label, "taxon": taxon, "n": n, "d": d}
                connection.execute(text(tally), values | {"night": "2024-05-01"})
        config, connection = migrate.alembic_config(db.engine)
        try:
            command.downgrade(config, "0033")
        finally:
            connection.close()  # type: ignore[attr-defined]
        assert "label_tallies" not in inspect(db.engine).get_table_names()
        migrate.upgrade(db.engine)
        migrate.check(db.engine)
        kept = "SELECT pipeline, label, taxon_id, occurrences, detections FROM label_tallies"
        with db.engine.connect() as connection:
            assert sorted(tuple(r) for r in connection.execute(text(kept))) == [
                ("a", "", 0, 4, 4), ("a", "moth", 0, 3, 6), ("b", "Ardea", 7, 3, 9),
            ]  # fmt: skip
        with db.read() as repos:
            counts = repos.processing.tasks.counts(job.id)
            assert (counts.canceled, counts.total) == (3, 3)
            assert repos.session.scalar(
                text("SELECT task_counts IS NOT NULL FROM jobs WHERE id = :id"), {"id": job.id}
            )
    finally:
        queue.close()
        db.dispose()


def test_migrations_0034_and_0035_fill_what_they_keep_on_sqlite(tmp_path: Path) -> None:
    _round_trip_0034_0035(f"sqlite:///{tmp_path / 'trip34.db'}")


@pytest.mark.postgres
def test_migrations_0034_and_0035_fill_what_they_keep_on_postgres() -> None:
    with scratch_postgres() as url:
        _round_trip_0034_0035(url)


def _round_trip_0038(url: str) -> None:
    """0038 gives each deployment with occurrences the pipeline it counted by: the project's
    named one where it has occurrences there, else the project's pipeline with the most
    tracked detections where it has, else the deployment's own with the most."""
    from alembic import command
    from sqlalchemy import text

    from trapline.db.engine import Database

    db = Database.from_url(url)
    try:
        migrate.upgrade(db.engine)
        with db.write() as repos:
            owner = repos.core.users.create(email="o@example.org", name="O")
            project = repos.core.projects.create("Mixed", "", owner.id).id
            both = repos.core.deployments.create(project, name="Both").id
            alone = repos.core.deployments.create(project, name="Alone").id
        kept = (
            "INSERT INTO label_tallies (project_id, pipeline, deployment_id, label, taxon_id,"
            " occurrences, detections) VALUES (:p, :pipeline, :d, 'x', 0, :n, :m)"
        )
        summed = (
            "INSERT INTO pipeline_tallies (project_id, pipeline, occurrences, detections)"
            " VALUES (:p, :pipeline, :n, :m)"
        )
        with db.engine.begin() as connection:
            for pipeline, deployment, n, m in (("a", both, 2, 2), ("b", both, 3, 9),
                                               ("a", alone, 3, 4)):  # fmt: skip
                values = {"p": project, "pipeline": pipeline, "d": deployment, "n": n, "m": m}
                connection.execute(text(kept), values)
            for pipeline, n, m in (("a", 5, 6), ("b", 3, 9)):
                connection.execute(
                    text(summed), {"p": project, "pipeline": pipeline, "n": n, "m": m}
                )
        chosen = "SELECT id, counting_pipeline, counting_chosen FROM deployments ORDER BY id"

        def again(named: str | None) -> list[tuple[object, ...]]:
            config, connection = migrate.alembic_config(db.engine)
            try:
                command.downgrade(config, "0037")
            finally:
                connection.close()  # type: ignore[attr-defined]
            with db.engine.begin() as connection:
                connection.execute(text("UPDATE projects SET counting_pipeline = :n"), {"n": named})
            migrate.upgrade(db.engine)
            migrate.check(db.engine)
            with db.engine.connect() as connection:
                return [tuple(r) for r in connection.execute(text(chosen))]

        assert again(None) == [(both, "b", "results"), (alone, "a", "results")]
        assert again("a") == [(both, "a", "project"), (alone, "a", "project")]
    finally:
        db.dispose()


def test_migration_0038_keeps_what_each_deployment_counted_on_sqlite(tmp_path: Path) -> None:
    _round_trip_0038(f"sqlite:///{tmp_path / 'trip38.db'}")


@pytest.mark.postgres
def test_migration_0038_keeps_what_each_deployment_counted_on_postgres() -> None:
    with scratch_postgres() as url:
        _round_trip_0038(url)
