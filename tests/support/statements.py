"""The statements a test's code sends to the database, captured as they go."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import event as sa_event


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
