"""Whether a database holds trapline, asked before a command that should not create one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine, make_url


def readable_url(url: str) -> str:
    """``url`` as a person may see it: a SQLite file's absolute path, else the URL without its
    password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return f"{Path(parsed.database).resolve()} (SQLite)"
    return parsed.render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def holds_trapline(engine: Engine) -> bool:
    """True when the migrations have run on this database (it has Alembic's version table)."""
    return inspect(engine).has_table("alembic_version")
