"""The saved SQLite data set copied into PostgreSQL, table by table, so that a large set is
loaded once (through the product, on SQLite) and measured on both databases.

The PostgreSQL schema is made by the product's migrations, as for a set loaded there; then
each table's rows are read from SQLite and written with ``COPY`` (foreign keys are not checked
row by row: the rows come from a database that kept them), each identity sequence is moved
past the largest id, and the tables are vacuumed and analysed, as autovacuum would leave them.
What is copied is the same data: the same ids, times, results, occurrences and kept counts.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable

import psycopg

from trapline.db.tables import Base

#: Rows read from SQLite at a time.
CHUNK = 20_000


def copy_tables(sqlite_path: str, postgres_url: str, report: Callable[[str], None]) -> int:
    """Copy every table of the product's schema from the SQLite file into the (migrated,
    empty) PostgreSQL database; the rows copied."""
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    total = 0
    with psycopg.connect(postgres_url) as target:
        target.execute("SET TIME ZONE 'UTC'")  # SQLite keeps instants as UTC without a zone
        target.execute("SET session_replication_role = replica")  # no foreign-key triggers
        names = [t.name for t in Base.metadata.sorted_tables]
        target.execute("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " CASCADE")
        for name in names:
            columns = [row[1] for row in source.execute(f'PRAGMA table_info("{name}")')]
            if not columns:
                continue
            started, rows = time.perf_counter(), 0
            listed = ", ".join(f'"{c}"' for c in columns)
            cursor = source.execute(f'SELECT {listed} FROM "{name}"')  # noqa: S608 (names of the schema)
            with target.cursor().copy(f'COPY "{name}" ({listed}) FROM STDIN') as copy:
                while chunk := cursor.fetchmany(CHUNK):
                    for row in chunk:
                        copy.write_row(row)
                    rows += len(chunk)
            total += rows
            report(f"  {name}: {rows:,} rows in {time.perf_counter() - started:.0f} s")
        target.execute("SET session_replication_role = DEFAULT")
        sequences = target.execute(
            "SELECT table_name, pg_get_serial_sequence(quote_ident(table_name), 'id') "
            "FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'id'"
        ).fetchall()
        for name, sequence in sequences:
            if sequence is not None:
                largest = f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{name}"'  # noqa: S608
                target.execute(f"SELECT setval(%s, ({largest}), false)", (sequence,))
        target.commit()
    source.close()
    with psycopg.connect(postgres_url, autocommit=True) as target:
        target.execute("VACUUM (ANALYZE)")  # as autovacuum leaves a table: visibility map set
    return total


if __name__ == "__main__":
    sys.exit("run benchmarks/dataset.py --backend postgres --from-sqlite")
