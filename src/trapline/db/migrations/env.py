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
    if is_postgres:
        connection.execute(text(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
        connection.commit()
