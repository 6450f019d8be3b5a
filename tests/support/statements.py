"""The statements a test's code sends to the database, captured as they go, and the plans the
database makes of them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, Executable, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements sent through ``engine`` meanwhile, each with its parameters."""
    sent: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)


def plan_of(session: Session, query: Executable) -> str:
    """The database's plan of ``query``, its lines joined."""
    dialect = session.get_bind().dialect
    compiled = query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    return "\n".join(str(row[-1]) for row in session.execute(text(explain + str(compiled))))
