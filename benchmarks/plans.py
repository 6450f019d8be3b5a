"""Query plans of the SQL the image repository really runs, to explain a slow listing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from trapline.db.engine import Database


@contextmanager
def captured_sql(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """Collect every (statement, parameters) the engine sends to the driver in the block."""
    statements: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)


def explain(db: Database, work: Callable[[], object]) -> list[str]:
    """Run ``work`` and return each images query it sent, with the database's plan for it.

    SQLite gives EXPLAIN QUERY PLAN; PostgreSQL gives EXPLAIN (ANALYZE, BUFFERS), so the
    query runs once more for real.
    """
    with captured_sql(db) as statements:
        work()
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    lines: list[str] = []
    with db.engine.connect() as connection:
        for statement, parameters in statements:
            if "FROM images" not in statement:
                continue
            lines.append(f"-- {' '.join(statement.split())}")
            lines.append(f"-- parameters: {parameters}")
            rows = connection.exec_driver_sql(prefix + statement, parameters).all()
            if db.is_sqlite:
                # (id, parent, notused, detail): indent each step under its parent.
                depth = {0: 0}
                for node, parent, _, detail in rows:
                    depth[node] = depth.get(parent, 0) + 1
                    lines.append("  " * depth[node] + detail)
            else:
                lines.extend(f"  {row[0]}" for row in rows)
        connection.rollback()
    return lines
