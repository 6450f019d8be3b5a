"""A web or API request's query past the time limit is stopped and answered 503 asking for less;
background work runs the same query to its end. Real slow queries on both databases: a sleep
on PostgreSQL, a recursive count on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from sqlalchemy import text

from tests.support.app_client import AppClient
from tests.support.settings import make_settings
from trapline.app import create_app
from trapline.db.engine import Database
from trapline.db.time_limit import request_time_limit
from trapline.errors import QueryTooLong
from trapline.platform import Platform

#: The limit the tests run requests under, in seconds.
LIMIT = 0.1
#: A query that takes several times LIMIT even on a fast machine (a slow one takes longer).
LONGER = 0.5


def slow_query(db: Database, seconds: float) -> str:
    """A query that takes about ``seconds``, or more: a sleep on PostgreSQL; on SQLite a
    recursive count of 4,000,000 steps a second (a fast machine's pace; slower ones take
    longer). ``seconds`` 0: an instant query."""
    if not seconds:
        return "SELECT 1"
    if not db.is_sqlite:
        return f"SELECT count(*) FROM pg_sleep({seconds:g})"  # noqa: S608 (a number)
    rows = int(seconds * 4_000_000)
    return _COUNT.replace("ROWS", str(rows))


#: A recursive count on SQLite up to ROWS.
_COUNT = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ROWS) "
    "SELECT count(*) FROM c"
)


@pytest.fixture
def one_connection(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str
) -> Iterator[Platform]:
    """A platform whose requests' queries may take ``LIMIT`` s, on a pool of one connection
    (so that what a request leaves on a connection is what a duty finds on it)."""
    settings = make_settings(request, tmp_path, database_url, database_statement_timeout=LIMIT)
    db = Database.from_url(database_url, pool_size=1, max_overflow=0)
    platform = Platform.from_settings(settings, db=db)
    yield platform
    platform.close()
    db.dispose()


@pytest.fixture
def client(one_connection: Platform) -> Iterator[AppClient]:
    """The app with a test-only route that runs a query of the seconds asked for."""
    app = create_app(one_connection)

    def run_query(request: Request, seconds: float) -> dict[str, Any]:
        db: Database = request.app.state.platform.db
        with db.read() as repos:
            answer = repos.session.execute(text(slow_query(db, seconds))).scalar()
        return {"answer": str(answer)}

    app.add_api_route("/test-only/query", run_query, methods=["GET"])
    with AppClient(app) as test_client:
        yield test_client


def test_a_request_past_the_limit_is_answered_503_asking_for_less(client: AppClient) -> None:
    answer = client.get("/test-only/query", params={"seconds": 30})
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["code"] == "query_too_long"
    assert f"{LIMIT:g} s" in body["detail"]
    assert "date range" in body["detail"]
    assert "deployment" in body["detail"]
    assert answer.headers["Retry-After"] == "10"
    # The connection it ran on serves the next request.
    assert client.get("/test-only/query", params={"seconds": 0}).status_code == 200


def test_a_request_within_the_limit_is_answered(client: AppClient) -> None:
    answer = client.get("/test-only/query", params={"seconds": 0})
    assert answer.status_code == 200, answer.text


def test_background_work_runs_past_the_limit(client: AppClient, one_connection: Platform) -> None:
    # A request first, so the pool's one connection has carried the limit.
    assert client.get("/test-only/query", params={"seconds": 0}).status_code == 200
    db = one_connection.db
    with db.read() as repos:
        done = repos.session.execute(text(slow_query(db, LONGER))).scalar()
    assert done == (int(LONGER * 4_000_000) if db.is_sqlite else 1)
    # And a request after it has its limit again.
    assert client.get("/test-only/query", params={"seconds": 30}).status_code == 503


def test_a_limit_of_zero_is_none(one_connection: Platform) -> None:
    db = one_connection.db
    with request_time_limit(0), db.read() as repos:
        repos.session.execute(text(slow_query(db, LONGER)))


def _write_then_stall(db: Database) -> None:
    with db.write() as repos:
        repos.core.users.create("a@example.org", "A")
        repos.session.execute(text(slow_query(db, 30)))


def test_a_write_past_the_limit_is_rolled_back(one_connection: Platform) -> None:
    db = one_connection.db
    with request_time_limit(LIMIT), pytest.raises(QueryTooLong):
        _write_then_stall(db)
    with db.read() as repos:
        assert repos.session.execute(text("SELECT count(*) FROM users")).scalar() == 0
