"""Plain driver statements: the same answers on both databases, SQLAlchemy's errors, and a
connection lost under them leaves the pool."""

from __future__ import annotations

import os
import resource
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from tests.support.databases import admin_execute
from trapline.db.engine import Database
from trapline.db.plain import Plain, SecondChange
from trapline.db.tables import UserRow
from trapline.errors import Conflict, Unavailable

COLUMNS = ("id", "email", "name", "is_admin", "is_service", "is_active", "created_at")


def _users(db: Database, count: int, first: int = 1000) -> list[tuple[object, ...]]:
    with db.write() as repos:
        plain = Plain(repos.session)
        stamp = plain.time(datetime(2024, 6, 1, 22, 0, tzinfo=UTC))
        rows = [
            (first + n, f"u{first + n}@example.org", f"user {n}", False, False, True, stamp)
            for n in range(count)
        ]
        plain.insert(UserRow.__table__, COLUMNS, rows)
    return rows


def test_insert_then_rows_among_ids(app_db: Database) -> None:
    _users(app_db, 300)  # COPY on PostgreSQL, multi-row VALUES on SQLite
    with app_db.read() as repos:
        found = Plain(repos.session).rows(
            "SELECT id, email FROM users WHERE is_active = ? AND id IN ({among}) ORDER BY id",
            (True,),
            among=[1005, 1299, 5000],
        )
        stored = repos.session.execute(
            text("SELECT created_at, name FROM users WHERE id = 1005")
        ).one()
    assert found == [(1005, "u1005@example.org"), (1299, "u1299@example.org")]
    assert stored.name == "user 5"
    when = stored.created_at
    when = when if isinstance(when, datetime) else datetime.fromisoformat(when)
    assert when.replace(tzinfo=None) == datetime(2024, 6, 1, 22, 0)


def test_instants_read_plainly_are_those_sqlalchemy_reads(app_db: Database) -> None:
    _users(app_db, 1)
    with app_db.read() as repos:
        (raw,) = Plain(repos.session).rows("SELECT created_at FROM users WHERE id = 1000")[0]
        row = repos.session.get(UserRow, 1000)
        assert row is not None
        assert Plain.instant(raw) == row.created_at == datetime(2024, 6, 1, 22, 0, tzinfo=UTC)
        assert Plain.instant(raw).utcoffset() == row.created_at.utcoffset()
    assert Plain.instant(None) is None


def test_rows_hold_the_values_sqlalchemy_reads(app_db: Database) -> None:
    """Plain rows (in binary from PostgreSQL) carry the Python values SQLAlchemy's own
    execution gives: numbers, text, truth, nothing, sums and the JSON text of a cast."""
    _users(app_db, 3)
    sql = (
        "SELECT id, email, is_admin, is_active, CAST(id AS FLOAT) / 8, NULL, "
        "CAST('{\"terminal\": true}' AS TEXT), 'typed', "
        "(SELECT SUM(id) FROM users), (SELECT COUNT(*) FROM users) "
        "FROM users WHERE id >= 1000 ORDER BY id"
    )
    with app_db.read() as repos:
        plain = Plain(repos.session).rows(sql)
        own = [tuple(r) for r in repos.session.execute(text(sql))]
    assert plain == own
    assert plain[1][:5] == (1001, "u1001@example.org", False, True, 125.125)
    assert plain[1][5:] == (None, '{"terminal": true}', "typed", 3003, 3)


def test_a_statement_without_rows_answers_an_empty_list(app_db: Database) -> None:
    _users(app_db, 2)
    with app_db.write() as repos:
        answer = Plain(repos.session).rows("UPDATE users SET name = ? WHERE id = ?", ("x", 1000))
    assert answer == []


def test_errors_are_sqlalchemys(app_db: Database) -> None:
    _users(app_db, 3)
    again = [(1001, "dup@example.org", "", False, False, True, None)]
    with app_db.read() as repos, pytest.raises(IntegrityError):
        Plain(repos.session).insert(UserRow.__table__, COLUMNS, again)
    with app_db.read() as repos, pytest.raises(DBAPIError):
        Plain(repos.session).rows("SELECT no_such_column FROM users")
    # Nothing of the failed transactions stayed, and the database still answers.
    with app_db.read() as repos:
        assert Plain(repos.session).rows("SELECT count(*) FROM users") == [(3,)]


@pytest.mark.postgres
def test_a_terminated_connection_leaves_the_pool(app_db: Database) -> None:
    if app_db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no server connection to lose")
    _users(app_db, 1)
    with app_db.read() as repos:
        plain = Plain(repos.session)
        (pid,) = plain.rows("SELECT pg_backend_pid()")[0]
        admin_execute(f"SELECT pg_terminate_backend({int(pid)})")
        with pytest.raises(OperationalError) as lost:
            plain.rows("SELECT id FROM users")
    assert lost.value.connection_invalidated
    # The next transaction gets a working connection.
    with app_db.read() as repos:
        assert Plain(repos.session).rows("SELECT id FROM users") == [(1000,)]


@pytest.mark.postgres
def test_a_pooled_connection_whose_backend_ended_is_replaced_before_use(app_db: Database) -> None:
    if app_db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no server connection to lose")
    _users(app_db, 1)
    with app_db.read() as repos:
        (pid,) = Plain(repos.session).rows("SELECT pg_backend_pid()")[0]
    # The connection is back in the pool, idle, when its backend ends.
    admin_execute(
        f"SELECT pg_terminate_backend({int(pid)}, 5000)"  # waits until the backend has exited
    )
    with app_db.read() as repos:
        plain = Plain(repos.session)
        assert plain.rows("SELECT id FROM users") == [(1000,)]
        assert plain.rows("SELECT pg_backend_pid()")[0][0] != pid


@pytest.mark.postgres
def test_a_pool_hung_up_on_twice_in_a_row_reads_as_unavailable(app_db: Database) -> None:
    """Backends ended faster than the pool reconnects (each connection it checks out, and the
    one it makes instead, already hung up on): the pool gives up after its second try, and
    the caller hears that the database is unavailable (503), not SQLAlchemy's "This
    connection is closed" (a 500). The next block gets a working connection."""
    if app_db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no server connection to lose")
    _users(app_db, 1)
    ended: list[int] = []

    def end_its_backend(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if len(ended) < 2:  # before the pool's own look (listened first)
            ended.append(dbapi_connection.info.backend_pid)
            admin_execute(f"SELECT pg_terminate_backend({ended[-1]}, 5000)")

    event.listen(app_db.engine, "checkout", end_its_backend, insert=True)
    try:
        for block in (app_db.statement, app_db.read, app_db.write):
            ended.clear()
            with pytest.raises(Unavailable), block() as repos:
                Plain(repos.session).rows("SELECT 1")
            assert len(ended) == 2
        ended.clear()
        with pytest.raises(Unavailable):
            app_db.ping()
    finally:
        event.remove(app_db.engine, "checkout", end_its_backend)
    with app_db.read() as repos:
        assert Plain(repos.session).rows("SELECT id FROM users") == [(1000,)]


@pytest.mark.postgres
def test_connections_on_descriptors_past_1024_are_checked_out(app_db: Database) -> None:
    """A busy server holds more than 1024 sockets; its database connections still work."""
    if app_db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no server connection to look at")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if min(hard, 4096) < 1200:
        pytest.skip(f"this process may open only {hard} files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    app_db.dispose()  # the next connection is opened while the low descriptors are taken
    taken = []
    try:
        while not taken or taken[-1] < 1100:
            taken.append(os.open(os.devnull, os.O_RDONLY))
        with app_db.read() as repos:
            assert Plain(repos.session).rows("SELECT 1") == [(1,)]
            socket = repos.session.connection().connection.dbapi_connection.pgconn.socket
        assert socket > 1024
        with app_db.read() as repos:  # checked out again from the pool: the check runs
            assert Plain(repos.session).rows("SELECT 2") == [(2,)]
    finally:
        for descriptor in taken:
            os.close(descriptor)
        app_db.dispose()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_statement_block_refuses_a_second_change(app_db: Database) -> None:
    """Database.statement() commits each statement by itself on PostgreSQL, so a second
    change there would commit alone, whatever happened to the first: it is refused before it
    is sent, on both databases, whether sent through Plain or through SQLAlchemy."""
    _users(app_db, 2)
    with app_db.statement() as repos:  # one change and reads around it are fine
        plain = Plain(repos.session)
        assert plain.rows("SELECT name FROM users WHERE id = ?", (1000,)) == [("user 0",)]
        plain.rows("UPDATE users SET name = ? WHERE id = ?", ("first", 1000))
        repos.session.execute(
            text("SELECT 1 FROM users FOR UPDATE" if plain.postgres else "SELECT 1")
        )
    with app_db.statement() as repos:
        plain = Plain(repos.session)
        plain.rows("UPDATE users SET name = ? WHERE id = ?", ("again", 1000))
        with pytest.raises(SecondChange):
            plain.rows("UPDATE users SET name = ? WHERE id = ?", ("second", 1001))
    with app_db.statement() as repos:
        Plain(repos.session).rows("UPDATE users SET name = ? WHERE id = ?", ("again", 1000))
        with pytest.raises(SecondChange):
            repos.session.execute(text("DELETE FROM users WHERE id = 1001"))
    with app_db.read() as repos:
        names = dict(repos.session.execute(text("SELECT id, name FROM users")).all())
    assert names[1001] == "user 1", "the second change was sent"
    # The pooled connections forget the block: a write block sends as many changes as it likes.
    with app_db.write() as repos:
        Plain(repos.session).rows("UPDATE users SET name = ? WHERE id = ?", ("w1", 1000))
        Plain(repos.session).rows("UPDATE users SET name = ? WHERE id = ?", ("w2", 1001))


@pytest.mark.postgres
def test_an_error_in_a_transaction_whose_connection_died_reads_as_unavailable(
    app_db: Database,
) -> None:
    """The block fails (a conflict, say) after the backend was terminated: rolling back on the
    dead connection fails too, and the caller hears that the database is unavailable (503),
    not the rollback's own driver error (500)."""
    if app_db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no server connection to lose")
    _users(app_db, 1)

    def conflict_after_the_backend_ended() -> None:
        with app_db.write() as repos:
            (pid,) = Plain(repos.session).rows("SELECT pg_backend_pid()")[0]
            admin_execute(f"SELECT pg_terminate_backend({int(pid)}, 5000)")
            raise Conflict("found while the connection was going")

    with pytest.raises(Unavailable):
        conflict_after_the_backend_ended()
    with app_db.read() as repos:
        assert Plain(repos.session).rows("SELECT id FROM users") == [(1000,)]
