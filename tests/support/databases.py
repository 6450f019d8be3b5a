"""Per-test databases: a migrated template made once per session, copied for every test."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from trapline.db import migrate

#: Server the PostgreSQL tests use; override to point at another one.
POSTGRES_ADMIN_URL = os.environ.get(
    "TRAPLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TEMPLATE_NAME = f"trapline_tpl_{os.getpid()}"


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


def require_postgres() -> None:
    """Skip the test (locally) or fail it (CI=true) when PostgreSQL is missing."""
    reason = postgres_unavailable_reason()
    if reason is None:
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

    def new(self) -> str:
        """URL of a fresh, migrated database."""
        if not self.template_ready:
            admin_execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_NAME}"')
            admin_execute(f'CREATE DATABASE "{TEMPLATE_NAME}"')
            engine = create_engine(database_url_for(TEMPLATE_NAME))
            migrate.upgrade(engine)
            engine.dispose()
            self.template_ready = True
        name = f"trapline_t_{uuid.uuid4().hex[:12]}"
        admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_NAME}"')
        self.made.append(name)
        return database_url_for(name)

    def drop(self, url: str) -> None:
        """Remove a database made by ``new``, disconnecting whatever still uses it."""
        name = make_url(url).database
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Remove the template."""
        if self.template_ready:
            admin_execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_NAME}" WITH (FORCE)')


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
