"""Migration 0010 gives each project its own rows of the pipelines and algorithms it shared."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, text

from tests.support.databases import scratch_postgres
from trapline.db import migrate
from trapline.db.engine import Database
from trapline.db.repositories.pipelines.registrations import category_map_digest
from trapline.protocol.pipelines import AlgorithmConfig, CategoryMap, PipelineConfig

LABELS = ["moth", "beetle"]
WINDOW = timedelta(minutes=5)
MAP = CategoryMap(labels=LABELS, data=[{"label": x} for x in LABELS], description="orders")
PUSH_URL = "http://gpu.example.org:2000"
#: The state at 0008: projects 1 and 2 share pipeline 1 (and its algorithms 1 and 2), project 3
#: has nothing, pipeline 2 (algorithm 3) belongs to no project. Services 1 (pull) and 3 (push)
#: belong to projects 1 and 2, service 2 to project 2; all offer pipeline 1. Jobs, analyses and
#: annotations of pipeline 1 exist in both projects.
ROWS = [
    "INSERT INTO users (id, email, name, is_admin, is_service, is_active, created_at) "
    "VALUES (1, 'o@example.org', 'O', false, false, true, CURRENT_TIMESTAMP)",
    *(
        "INSERT INTO projects (id, name, description, image_count, classification_top_k, "  # noqa: S608
        f"keep_full_scores, created_at) VALUES ({p}, 'p{p}', '', 0, 5, false, CURRENT_TIMESTAMP)"
        for p in (1, 2, 3)
    ),
    "INSERT INTO category_maps (id, digest, labels, data, description) VALUES "
    "(1, 'old-digest', :labels, :data, 'orders')",
    *(
        "INSERT INTO algorithms (id, key, version, name, task_type, uri, category_map_id, "  # noqa: S608
        f"created_at) VALUES ({a}, '{key}', 1, '{key}', '{kind}', 'https://w/{key}', {m}, "
        "CURRENT_TIMESTAMP)"
        for a, key, kind, m in (
            (1, "moth-det", "detection", "NULL"),
            (2, "moth-cls", "classification", "1"),
            (3, "lonely-det", "detection", "NULL"),
        )
    ),
    *(
        "INSERT INTO pipelines (id, slug, version, name, description, stages, created_at) "  # noqa: S608
        f"VALUES ({p}, '{slug}', 1, '{slug}', 'said first', '[]', CURRENT_TIMESTAMP)"
        for p, slug in ((1, "moth-blobs"), (2, "lonely"))
    ),
    "INSERT INTO pipeline_algorithms (pipeline_id, algorithm_id) VALUES (1, 1), (1, 2), (2, 3)",
    "INSERT INTO project_pipelines (project_id, pipeline_id, enabled, created_at) VALUES "
    "(1, 1, true, CURRENT_TIMESTAMP), (2, 1, false, CURRENT_TIMESTAMP)",
    "INSERT INTO processing_services (id, name, endpoint_url, created_at) VALUES "
    "(1, 'shared', NULL, CURRENT_TIMESTAMP), (2, 'second', NULL, CURRENT_TIMESTAMP), "
    "(3, 'pusher', 'http://gpu.example.org:2000', CURRENT_TIMESTAMP)",
    "INSERT INTO project_services (project_id, service_id) VALUES "
    "(1, 1), (2, 1), (2, 2), (1, 3), (2, 3)",
    "INSERT INTO service_pipelines (service_id, pipeline_id) VALUES (1, 1), (2, 1), (3, 1)",
    *(
        "INSERT INTO jobs (id, project_id, pipeline_id, name, status, dispatch_mode, params, "  # noqa: S608
        f"selection, start_now, open_tasks, created_at) VALUES ({j}, {p}, 1, 'j', 'succeeded', "
        "'async_api', '{}', '{}', true, 0, CURRENT_TIMESTAMP)"
        for j, p in ((10, 1), (20, 2))
    ),
    *(
        "INSERT INTO images (id, project_id, storage_key, filename, sha256, size_bytes, width, "  # noqa: S608
        f"height, content_type, captured_sort, source, created_at) VALUES ({i}, {p}, "
        f"'images/{p}/{i}.jpg', '{i}.jpg', '{i}', 1, 1, 1, 'image/jpeg', CURRENT_TIMESTAMP, "
        "'upload', CURRENT_TIMESTAMP)"
        for i, p in ((100, 1), (200, 2))
    ),
    *(
        "INSERT INTO analyses (id, project_id, image_id, job_id, pipeline_id, source, status, "  # noqa: S608
        f"created_at) VALUES ({a}, {p}, {a}, {j}, 1, 'job', 'completed', CURRENT_TIMESTAMP)"
        for a, p, j in ((100, 1, 10), (200, 2, 20))
    ),
    *(
        "INSERT INTO annotations (id, analysis_id, project_id, image_id, type, ordering, "  # noqa: S608
        f"algorithm_id) VALUES ({n}, {a}, {p}, {a}, 'custom', 0, {alg})"
        for n, a, p, alg in ((1000, 100, 1, 2), (2000, 200, 2, 2), (2001, 200, 2, 1))
    ),
]

#: Tables whose rows the test gives ids, so PostgreSQL's sequences must be moved past them.
SEQUENCES = ["users", "projects", "category_maps", "algorithms", "pipelines", "processing_services"]


def _at_0008(engine: Engine) -> None:
    migrate.upgrade(engine, "0008")
    with engine.begin() as connection:
        for statement in ROWS:
            params = {
                "labels": '["moth", "beetle"]',
                "data": '[{"label": "moth"}, {"label": "beetle"}]',
            }
            connection.execute(text(statement), params if ":labels" in statement else {})
        if engine.dialect.name == "postgresql":  # the rows above were given their ids
            for table in SEQUENCES:
                move = (
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"  # noqa: S608
                )
                connection.execute(text(move))


def _one(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql), params)]


def _check_split(engine: Engine) -> None:
    """Each project has its own rows, and its jobs, results and links point at them."""
    pipelines = _one(engine, "SELECT id, project_id, slug FROM pipelines ORDER BY id")
    assert pipelines[:2] == [(1, 1, "moth-blobs"), (2, None, "lonely")]
    ((copy, _, _),) = [p for p in pipelines if p[1] == 2]
    assert len(pipelines) == 3
    assert copy not in (1, 2)
    assert _one(engine, "SELECT description FROM pipelines WHERE id = :c", c=copy) == [
        ("said first",)
    ]
    algorithms = dict(
        ((key, project), a)
        for a, key, project in _one(engine, "SELECT id, key, project_id FROM algorithms")
    )
    assert algorithms[("moth-det", 1)] == 1
    assert algorithms[("moth-cls", 1)] == 2
    assert algorithms[("lonely-det", None)] == 3
    det2, cls2 = algorithms[("moth-det", 2)], algorithms[("moth-cls", 2)]
    assert len(algorithms) == 5
    assert set(_one(engine, "SELECT pipeline_id, algorithm_id FROM pipeline_algorithms")) == {
        (1, 1), (1, 2), (2, 3), (copy, det2), (copy, cls2)
    }  # fmt: skip
    assert _one(engine, "SELECT id, pipeline_id FROM jobs ORDER BY id") == [(10, 1), (20, copy)]
    assert _one(engine, "SELECT id, pipeline_id FROM analyses ORDER BY id") == [
        (100, 1), (200, copy)
    ]  # fmt: skip
    assert _one(engine, "SELECT id, algorithm_id FROM annotations ORDER BY id") == [
        (1000, 2), (2000, cls2), (2001, det2)
    ]  # fmt: skip
    assert _one(
        engine, "SELECT project_id, pipeline_id, enabled FROM project_pipelines ORDER BY 1"
    ) == [(1, 1, True), (2, copy, False)]
    assert set(_one(engine, "SELECT service_id, pipeline_id FROM service_pipelines")) == {
        (1, 1), (1, copy), (2, copy), (3, 1), (3, copy)
    }  # fmt: skip
    assert _one(engine, "SELECT category_map_id FROM algorithms WHERE id = :a", a=cls2) == [(1,)]
    assert _one(engine, "SELECT digest FROM category_maps") == [(category_map_digest(MAP),)]


def _check_registration_after(db: Database) -> None:
    """The moved rows are what registration and lookups find, each project its own."""
    config = PipelineConfig(
        name="moth-blobs",
        slug="moth-blobs",
        version=1,
        algorithms=[
            AlgorithmConfig(name="moth-det", key="moth-det", version=1, task_type="detection"),
            AlgorithmConfig(
                name="moth-cls", key="moth-cls", version=1, task_type="classification",
                category_map=MAP,
            ),
        ],
    )  # fmt: skip
    with db.write() as repos:
        for project in (1, 2, 3):
            made = repos.pipelines.pipelines.register(project, "shared", [config], _now())
            assert made.algorithms_created == ([] if project < 3 else ["moth-det", "moth-cls"])
            assert made.pipelines_created == ([] if project < 3 else ["moth-blobs"])
        first = repos.pipelines.pipelines.resolve(1, "moth-blobs")
        third = repos.pipelines.pipelines.resolve(3, "moth-blobs")
        assert repos.pipelines.pipelines.resolve(2, "moth-blobs") is None  # disabled there, still
        assert first is not None
        assert third is not None
        assert first.id == 1
        assert third.id not in (1, 2)
        assert [a.id for a in first.algorithms] == [1, 2]
        assert first.algorithms[1].labels == tuple(LABELS)

    # Services 1 and 3 belong to both projects: what they offer in one is not offered in the
    # other, and a push service registered again in one keeps its pipelines in the other.
    extra = config.model_copy(update={"slug": "extra"})
    with db.write() as repos:
        repos.pipelines.pipelines.register(2, "shared", [extra], _now())
        repos.pipelines.pipelines.register(2, "pusher", [extra], _now(), endpoint_url=PUSH_URL)
        repos.pipelines.pipelines.record_check(3, _now(), None)
    with db.write() as repos:
        assert repos.pipelines.pipelines.pipeline_slugs(1, [1, 3]) == {
            1: ["moth-blobs"],
            3: ["moth-blobs"],
        }
        assert repos.pipelines.pipelines.pipeline_slugs(2, [1, 3]) == {
            1: ["extra", "moth-blobs"],
            3: ["extra"],
        }
        assert repos.pipelines.pipelines.serving(["extra"], [1], _now()) is None
        assert repos.pipelines.pipelines.serving(["extra"], [2], _now()) == 1
        ids = {
            (int(p), str(slug)): int(i)
            for i, p, slug in repos.session.execute(
                text("SELECT id, project_id, slug FROM pipelines WHERE project_id IS NOT NULL")
            )
        }
        pushed = repos.pipelines.pipelines.push_services_for(
            1, ids[1, "moth-blobs"], _now(), WINDOW
        )
        assert [s.id for s in pushed] == [3]
        assert repos.pipelines.pipelines.push_services_for(1, ids[2, "extra"], _now(), WINDOW) == []
        assert (
            repos.pipelines.pipelines.push_services_for(2, ids[2, "moth-blobs"], _now(), WINDOW)
            == []
        )


def _now() -> Any:
    from trapline.db.types import utcnow

    return utcnow()


def _round_trip(engine: Engine) -> None:
    config, connection = migrate.alembic_config(engine)
    try:
        command.downgrade(config, "0008")
    finally:
        connection.close()  # type: ignore[attr-defined]
    assert _one(engine, "SELECT id, slug FROM pipelines ORDER BY id") == [
        (1, "moth-blobs"), (2, "lonely")
    ]  # fmt: skip
    assert _one(engine, "SELECT id, pipeline_id FROM jobs ORDER BY id") == [(10, 1), (20, 1)]
    assert _one(engine, "SELECT id, algorithm_id FROM annotations ORDER BY id") == [
        (1000, 2), (2000, 2), (2001, 1)
    ]  # fmt: skip
    assert set(_one(engine, "SELECT service_id, pipeline_id FROM service_pipelines")) == {
        (1, 1), (2, 1), (3, 1)
    }  # fmt: skip
    assert _one(engine, "SELECT count(*) FROM algorithms") == [(3,)]
    migrate.upgrade(engine)
    migrate.check(engine)


def _run(url: str) -> None:
    db = Database.from_url(url)  # trapline's engine: SQLite enforces foreign keys on it
    try:
        _at_0008(db.engine)
        migrate.upgrade(db.engine)
        migrate.check(db.engine)
        _check_split(db.engine)
        _round_trip(db.engine)
        _check_split(db.engine)
        _check_registration_after(db)
    finally:
        db.dispose()


def test_shared_pipelines_are_split_per_project_on_sqlite(tmp_path: Path) -> None:
    _run(f"sqlite:///{tmp_path / 'split.db'}")


@pytest.mark.postgres
def test_shared_pipelines_are_split_per_project_on_postgres() -> None:
    with scratch_postgres() as url:
        _run(url)
