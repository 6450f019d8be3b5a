"""Alembic environment: runs migrations on the connection trapline hands it."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from trapline.db.tables import Base

#: Arbitrary constant for pg_advisory_lock, so replicas starting together migrate one at a time.
MIGRATION_LOCK_KEY = 7_271_100_001

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `trapline migrate` (trapline.db.migrate)")


def _sqlite_keys_off(connection: Connection) -> bool:
    """Stop SQLite enforcing foreign keys on this connection; whether it did before.

    SQLite alters a table by copying it and dropping the original, and with the keys enforced
    that drop deletes the rows of every table referencing it by cascade, or is refused. The
    pragma is ignored inside a transaction, so it is set on the driver's connection before one
    begins (trapline's engine begins its own, see db/engine.py).
    """
    (enforced,) = _on_driver(connection, "PRAGMA foreign_keys")[0]
    _on_driver(connection, "PRAGMA foreign_keys=OFF")
    return bool(enforced)


def _on_driver(connection: Connection, statement: str) -> list[Any]:
    """Run a statement on the driver's connection, where SQLAlchemy would begin a transaction."""
    driver: Any = connection.connection.driver_connection
    return list(driver.execute(statement).fetchall())


def _check_sqlite_keys(connection: Connection) -> None:
    """Refuse to commit migrations that left a row pointing at nothing."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise RuntimeError(f"migrating left rows with broken foreign keys in {tables}")


is_postgres = connection.dialect.name == "postgresql"
is_sqlite = connection.dialect.name == "sqlite"
if is_postgres:
    connection.execute(text(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
    connection.commit()
keys_were_on = _sqlite_keys_off(connection) if is_sqlite else False
try:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=is_sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        before = context.get_context().get_current_heads()
        context.run_migrations()
        if is_sqlite and context.get_context().get_current_heads() != before:
            _check_sqlite_keys(connection)  # the keys were not enforced while migrating
finally:
    if is_postgres:
        connection.execute(text(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
        connection.commit()
    if keys_were_on:
        # Alembic leaves a transaction open when it had nothing to do (it only read the
        # version), and the pragma is ignored inside one.
        if connection.in_transaction():
            connection.rollback()
        _on_driver(connection, "PRAGMA foreign_keys=ON")
