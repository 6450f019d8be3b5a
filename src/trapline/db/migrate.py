"""Apply and check migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> tuple[Config, object]:
    """An Alembic config bound to a fresh connection of ``engine`` (caller closes it)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    connection = engine.connect()
    config.attributes["connection"] = connection
    return config, connection


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``."""
    config, connection = alembic_config(engine)
    try:
        command.upgrade(config, revision)
    finally:
        connection.close()  # type: ignore[attr-defined]


def current(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def check(engine: Engine) -> None:
    """Raise when the tables differ from what the migrations create."""
    config, connection = alembic_config(engine)
    try:
        command.check(config)
    finally:
        connection.close()  # type: ignore[attr-defined]


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new migration from the difference (a developer tool)."""
    config, connection = alembic_config(engine)
    try:
        command.revision(config, message=message, autogenerate=True)
    finally:
        connection.close()  # type: ignore[attr-defined]
