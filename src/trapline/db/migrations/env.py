"""Alembic environment: runs migrations on the connection trapline hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from trapline.db.tables import Base

#: Arbitrary constant for pg_advisory_lock, so replicas starting together migrate one at a time.
MIGRATION_LOCK_KEY = 7_271_100_001

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `trapline migrate` (trapline.db.migrate)")

is_postgres = connection.dialect.name == "postgresql"
if is_postgres:
    connection.execute(text(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
    connection.commit()
# A migration that rebuilds a SQLite table drops the old one, and SQLite, enforcing foreign
# keys, would first delete its rows and with them, by cascade, every row that refers to them.
# SQLite's own procedure for changing a table turns enforcement off meanwhile; the setting
# cannot change inside a transaction, so it is set on the driver's connection before one.
sqlite_keys = None
if connection.dialect.name == "sqlite":
    raw = connection.connection.dbapi_connection
    sqlite_keys = raw.execute("PRAGMA foreign_keys").fetchone()[0]
    raw.execute("PRAGMA foreign_keys=OFF")
try:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
finally:
    if sqlite_keys is not None:
        # Alembic leaves a transaction open when it had nothing to do (it only read the
        # version); closing the connection would roll it back anyway, and the setting can
        # change only outside one.
        if connection.in_transaction():
            connection.rollback()
        raw.execute(f"PRAGMA foreign_keys={int(sqlite_keys)}")
    if is_postgres:
        connection.execute(text(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
        connection.commit()
