"""A web request's reads share one session until a write, which later reads see; an error
inside a read ends the shared session; once the request is answered, nothing stays open."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any, cast

import pytest
from sqlalchemy import event

from trapline.db.engine import Database
from trapline.db.tables import UserRow
from trapline.errors import NotFound


@pytest.fixture
def checkouts(app_db: Database) -> Iterator[list[int]]:
    """One entry each time a connection is taken from the pool."""
    taken: list[int] = []

    def took(*_: object) -> None:
        taken.append(1)

    event.listen(app_db.engine, "checkout", took)
    yield taken
    event.remove(app_db.engine, "checkout", took)


def _checked_out(db: Database) -> int:
    """Connections taken from the pool and not given back."""
    return int(cast(Any, db.engine.pool).checkedout())


def test_reads_share_a_session_until_a_write(app_db: Database, checkouts: list[int]) -> None:
    reads = app_db.for_request()
    with reads.read() as first:
        assert first.core.users.by_email("ann@example.org") is None
    with reads.read() as second:
        assert second is first
    assert len(checkouts) == 1
    with reads.write() as repos:
        repos.core.users.create("ann@example.org", "Ann")
    with reads.read() as third:
        assert third is not first
        found = third.core.users.by_email("ann@example.org")
        assert found is not None
        assert found.name == "Ann"
    reads.close()
    assert _checked_out(app_db) == 0
    # Answered: each read has a session of its own again.
    with reads.read() as later, reads.read() as other:
        assert later is not other


def test_an_error_in_a_read_ends_the_shared_session(app_db: Database) -> None:
    reads = app_db.for_request()
    with reads.read() as first:
        pass
    with pytest.raises(NotFound), reads.read():
        raise NotFound("no such thing")
    assert _checked_out(app_db) == 0
    with reads.read() as after:
        assert after is not first
    reads.close()
    assert _checked_out(app_db) == 0


def test_a_row_one_read_loaded_is_found_by_the_next_without_a_query(app_db: Database) -> None:
    with app_db.write() as repos:
        made = repos.core.users.create("bo@example.org", "Bo")
    statements: list[str] = []

    def sent(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    reads = app_db.for_request()
    event.listen(app_db.engine, "before_cursor_execute", sent)
    try:
        with reads.read() as repos:
            assert repos.session.get(UserRow, made.id) is not None
        gc.collect()  # the record made of it is all that is left of the first block
        asked = len(statements)
        with reads.read() as repos:
            row = repos.session.get(UserRow, made.id)
            assert row is not None
            assert row.email == "bo@example.org"
        assert len(statements) == asked
    finally:
        event.remove(app_db.engine, "before_cursor_execute", sent)
        reads.close()
