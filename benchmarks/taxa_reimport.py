"""Taxa reimport: the peak RSS rise and the time of importing a taxa file of 250,000 rows into a
list that already holds them, on a fresh server: first into an empty list, then the same file
again (every row unchanged), then with every row's English name changed (every row updated).
Run ``python benchmarks/taxa_reimport.py --help``.
"""

from __future__ import annotations

import argparse
import time

from body_memory import TAXA_TARGET_MB, current_kb, peak_kb, reset_peak
from common import BACKENDS, print_table, running_server
from taxa_shapes import trapline_rows

_MB = 1_000_000


def measure(backend: str) -> list[list[object]]:
    """Rows of (import, answer, peak rise in MB, seconds), one server for the three imports."""
    first = trapline_rows()
    changed = first.replace(b",Genus ", b",Gattung ")
    rows: list[list[object]] = []
    settings = {"DATABASE_STATEMENT_TIMEOUT": "0"}  # SQLite's one transaction takes minutes
    with (
        running_server(backend, settings=settings) as server,
        server.client(timeout=3600) as client,
    ):
        made = client.post("/api/v2/projects/", json={"name": "taxa"})
        url = f"/api/v2/projects/{made.json()['id']}/taxa"
        for name, body in (
            ("into an empty list", first),
            ("the same file again", first),
            ("every row's name changed", changed),
        ):
            reset_peak(server.pid)
            before, started = current_kb(server.pid), time.monotonic()
            answer = client.post(url, files=[("file", ("taxa.csv", body, "text/csv"))])
            took = time.monotonic() - started
            rise = (peak_kb(server.pid) - before) * 1024 / _MB
            counts = answer.json()
            outcome = f"{answer.status_code}: " + ", ".join(
                f"{counts.get(k, 0):,} {k}" for k in ("added", "updated", "unchanged")
            )
            rows.append([name, outcome, rise, took])
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    args = parser.parse_args(argv)
    rows = measure(args.backend)
    worst = max(float(str(r[2])) for r in rows)
    verdict = "met" if worst <= TAXA_TARGET_MB else "MISSED"
    print_table(
        f"taxa reimport, 250,000 rows, {args.backend} (target: <= {TAXA_TARGET_MB:.0f} MB: "
        f"{verdict})",
        ["import", "answer", "rise MB", "seconds"],
        rows,
    )


if __name__ == "__main__":
    main()
