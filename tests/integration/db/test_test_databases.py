"""The suite's shared PostgreSQL database is as good as a fresh one for every test that takes it."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.support.databases import PostgresDatabases, require_postgres


def _run(url: str, *statements: str) -> list[object]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            results = [connection.execute(text(s)) for s in statements]
            return [r.scalar() if r.returns_rows else None for r in results]
    finally:
        engine.dispose()


INSERT_USER = (
    "INSERT INTO users (email, name, is_admin, is_active, created_at)"
    " VALUES (gen_random_uuid()::text, 'A', false, true, now()) RETURNING id"
)


def test_emptied_leaves_no_row_and_restarts_ids(postgres_databases: PostgresDatabases) -> None:
    require_postgres()
    url = postgres_databases.emptied()
    assert _run(url, INSERT_USER, INSERT_USER) == [1, 2]
    again = postgres_databases.emptied()
    assert again == url
    assert _run(again, "SELECT count(*) FROM users", INSERT_USER) == [0, 1]


def test_a_changed_schema_is_made_again(postgres_databases: PostgresDatabases) -> None:
    require_postgres()
    url = postgres_databases.emptied()
    _run(
        url,
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'no'; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse()",
        "CREATE TABLE scratch (x integer)",
    )
    url = postgres_databases.emptied()
    assert _run(
        url,
        "SELECT count(*) FROM pg_trigger WHERE tgname = 'refuse'",
        "SELECT to_regclass('scratch') IS NULL",
        INSERT_USER,
    ) == [0, True, 1]
