"""Test databases: on PostgreSQL one migrated database per test process, emptied before each
test, and copies of a migrated template for tests that need a database of their own; on SQLite
a copy of a migrated template file per test."""

from __future__ import annotations

import os
import re
import shutil
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from tests.support.waiting import wait_until
from trapline.db import migrate

#: Server the PostgreSQL tests use; override to point at another one.
POSTGRES_ADMIN_URL = os.environ.get(
    "TRAPLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TEMPLATE_NAME = f"trapline_tpl_{os.getpid()}"
#: The database the in-process tests of this test process share, emptied before each test.
SHARED_NAME = f"trapline_w_{os.getpid()}"


#: The two database backends, as parameters: a test taking them runs once on each.
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def in_ci() -> bool:
    """Whether missing services must fail the run instead of skipping."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_unavailable_reason() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means the same to the caller
        return f"PostgreSQL at {make_url(POSTGRES_ADMIN_URL).render_as_string()} unusable: {exc}"
    return None


#: Whether this test process has reached PostgreSQL once: later tests need not ask again
#: (a test that stops the server makes its own connection fail, not this check).
_reached: list[bool] = []


def require_postgres() -> None:
    """Skip the test (locally) or fail it (CI=true) when PostgreSQL is missing."""
    if _reached:
        return
    reason = postgres_unavailable_reason()
    if reason is None:
        _reached.append(True)
        return
    if in_ci():
        pytest.fail(f"{reason} (CI=true, so this fails instead of skipping)")
    pytest.skip(reason)


def admin_execute(statement: str) -> None:
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def database_url_for(name: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


class PostgresDatabases:
    """Makes migrated databases on the test server, each a copy of one template."""

    def __init__(self) -> None:
        self.template_ready = False
        self.made: list[str] = []
        self._shared: Emptier | None = None

    def new(self) -> str:
        """URL of a fresh, migrated database of the caller's own (for servers in processes)."""
        name = f"trapline_t_{uuid.uuid4().hex[:12]}"
        self._copy_template(name)
        self.made.append(name)
        return database_url_for(name)

    def emptied(self) -> str:
        """URL of this process's shared migrated database, emptied just now.

        Making a database from the template and dropping it took 0.1-0.3 s a test; emptying the
        shared one takes a few milliseconds (decision 032). A test that changed the schema
        (a trigger, a table) leaves a database that is made again from the template."""
        if self._shared is not None and not self._shared.empty():
            self._shared.dispose()
            self._shared = None
        if self._shared is None:
            admin_execute(f'DROP DATABASE IF EXISTS "{SHARED_NAME}" WITH (FORCE)')
            self._copy_template(SHARED_NAME)
            self._shared = Emptier(database_url_for(SHARED_NAME))
        return self._shared.url

    def _copy_template(self, name: str) -> None:
        if not self.template_ready:
            admin_execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_NAME}"')
            admin_execute(f'CREATE DATABASE "{TEMPLATE_NAME}"')
            engine = create_engine(database_url_for(TEMPLATE_NAME))
            migrate.upgrade(engine)
            engine.dispose()
            self.template_ready = True
        admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_NAME}"')

    def drop(self, url: str) -> None:
        """Remove a database made by ``new``, disconnecting whatever still uses it."""
        name = make_url(url).database
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Remove the template and the shared database."""
        if self.template_ready:
            admin_execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_NAME}" WITH (FORCE)')
        if self._shared is not None:
            self._shared.dispose()
            admin_execute(f'DROP DATABASE IF EXISTS "{SHARED_NAME}" WITH (FORCE)')


#: What a test could change in the schema: relations, columns, triggers, functions, keys.
SCHEMA_FINGERPRINT = text(
    "SELECT md5(string_agg(item, ',' ORDER BY item)) FROM ("
    " SELECT 'r:' || relname || relkind::text FROM pg_class"
    "  WHERE relnamespace = 'public'::regnamespace"
    " UNION ALL SELECT 'a:' || attrelid::regclass::text || '.' || attname || atttypid::text"
    "  FROM pg_attribute JOIN pg_class ON pg_class.oid = attrelid"
    "  WHERE relnamespace = 'public'::regnamespace AND attnum > 0 AND NOT attisdropped"
    " UNION ALL SELECT 't:' || tgname FROM pg_trigger WHERE NOT tgisinternal"
    " UNION ALL SELECT 'f:' || proname FROM pg_proc"
    "  WHERE pronamespace = 'public'::regnamespace"
    " UNION ALL SELECT 'k:' || conname FROM pg_constraint"
    "  WHERE connamespace = 'public'::regnamespace"
    ") AS schema_items (item)"
)


class Emptier:
    """Puts a migrated PostgreSQL database back as migration left it: no rows, sequences at 1.

    Only tables holding a row are emptied, by DELETE with foreign-key triggers off (the session
    role ``replica``): TRUNCATE of all 32 tables took ~220 ms, this 2-6 ms. Connections a test
    left open are ended first, as ``DROP DATABASE ... WITH (FORCE)`` would have ended them.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)
        with self.engine.connect() as connection:
            tables = connection.scalars(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            ).all()
            sequences = connection.scalars(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            ).all()
            self.schema = connection.scalar(SCHEMA_FINGERPRINT)
        # The names come from the catalogue, not from a test.
        self.probe = text(
            " UNION ALL ".join(
                f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")"  # noqa: S608
                for name in tables
            )
        )
        self.restart = text(
            "SELECT " + ", ".join(f"setval('\"{name}\"', 1, false)" for name in sequences)
            if sequences
            else "SELECT 1"
        )

    def empty(self) -> bool:
        """Empty the database; False (and nothing done) when its schema is not the migrated one."""
        with self.engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            if connection.scalar(SCHEMA_FINGERPRINT) != self.schema:
                return False
            holding = connection.scalars(self.probe).all()
            if holding:
                connection.execute(text("SET session_replication_role = replica"))
                for name in holding:
                    connection.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608
                connection.execute(text("SET session_replication_role = DEFAULT"))
            connection.execute(self.restart)
        return True

    def dispose(self) -> None:
        self.engine.dispose()


class SqliteDatabases:
    """Makes migrated SQLite files, each a copy of one template file."""

    def __init__(self, folder: Path) -> None:
        self.template = folder / "template.db"
        migrate.upgrade(create_engine(f"sqlite:///{self.template}"))

    def new(self, folder: Path) -> str:
        """URL of a fresh, migrated database file in ``folder``."""
        target = folder / "trapline.db"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    require_postgres()
    name = f"trapline_mig_{uuid.uuid4().hex[:10]}"
    admin_execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url_for(name)
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


#: Sessions of the engine's database waiting for a lock now. Its own transaction each time:
#: PostgreSQL keeps one snapshot of pg_stat_activity for a whole transaction.
_WAITING = text(
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
    "AND datname = current_database()"
)


def wait_for_a_lock_wait(engine: Engine, what: str) -> None:
    """Wait until some session of ``engine``'s PostgreSQL database waits for a lock."""

    def waiting() -> int:
        with engine.connect() as look:
            return int(look.scalar(_WAITING) or 0)

    wait_until(waiting, what)


def split_backend(nodeid: str) -> str:
    """The one backend ``--db split`` runs a test on: the same for every run, by a hash of
    its id without the backend, so that about half the tests of each module go to each."""
    name = _BACKEND_IN_ID.sub("", nodeid)
    return ("sqlite", "postgres")[zlib.crc32(name.encode()) % 2]


#: A backend among a test id's parameters (``[sqlite]``, ``[postgres-local]``).
_BACKEND_IN_ID = re.compile(r"(?<=[\[-])(?:sqlite|postgres)(?=[\]-])")
