"""Fixtures of the queue tests: each backend over a fresh database (``tests.support.queue_bench``),
a NATS server of a test's own and JetStream queues over it.

``queue_bench`` runs a test once per backend: the SQL queue on SQLite and on PostgreSQL, and the
JetStream queue (on SQLite, the record of truth) against a NATS server the session starts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import PostgresDatabases, SqliteDatabases, require_postgres
from tests.support.nats import NatsServer, nats_server
from tests.support.queue_bench import Factory, QueueBench, make_bench, open_queue
from trapline.clock import FakeClock, SystemClock
from trapline.db.engine import Database

QUEUE_BACKENDS = [
    pytest.param("sql-sqlite", id="sql-sqlite"),
    pytest.param("sql-postgres", id="sql-postgres", marks=pytest.mark.postgres),
    pytest.param("nats", id="nats", marks=pytest.mark.nats),
    # The NATS queue's lease and judging SQL differs on PostgreSQL (unnest, not VALUES).
    pytest.param(
        "nats-postgres", id="nats-postgres", marks=[pytest.mark.nats, pytest.mark.postgres]
    ),
]


@pytest.fixture(scope="session")
def shared_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One NATS server for the session's contract tests; each test uses its own streams."""
    with nats_server(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture(params=QUEUE_BACKENDS)
def queue_bench(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
) -> Iterator[QueueBench]:
    """The same queue behaviour, once per backend."""
    backend: str = request.param
    if backend.endswith("postgres"):
        require_postgres()
        url = postgres_databases.new()
    else:
        url = sqlite_databases.new(tmp_path)
    db = Database.from_url(url)
    clock = FakeClock(SystemClock().now())
    queue = open_queue(backend, db, lambda: request.getfixturevalue("shared_nats").url, clock)
    try:
        yield make_bench(backend, db, queue)
    finally:
        queue.close()
        db.dispose()
        if backend.endswith("postgres"):
            postgres_databases.drop(url)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    """A NATS server of this test's own, to kill, restart and wipe."""
    with nats_server(tmp_path / "nats") as running:
        yield running


@pytest.fixture
def nats_bench(tmp_path: Path, sqlite_databases: SqliteDatabases) -> Iterator[Factory]:
    """``nats_bench(url, **queue_options)``: a JetStream queue over a fresh SQLite database."""
    made: list[QueueBench] = []

    def make(url: str, **options: Any) -> QueueBench:
        from trapline.queue.nats import JetStreamTaskQueue

        folder = tmp_path / f"db{len(made)}"
        folder.mkdir()
        db = Database.from_url(sqlite_databases.new(folder))
        queue = JetStreamTaskQueue(db, [url], prefix=f"t{uuid.uuid4().hex[:12]}", **options)
        made.append(make_bench("nats", db, queue))
        return made[-1]

    yield make
    for bench in made:
        bench.queue.close()
        bench.db.dispose()
