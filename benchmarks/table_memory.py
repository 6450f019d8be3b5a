"""Table memory: how far a server's peak RSS rises answering one camtrapR table at its cap.

A project of 5,000 stations (deployments with a start and an end) is made through the API on a
real ``trapline serve``; then the camera operation (JSON and CSV) and a detection history with
effort (CSV) are asked for over as many days as the cap on cells allows (5,000 x 400 =
2,000,000 cells), and over ten years (18,300,000 cells: refused since the cap). The peak is the
kernel's high-water mark (``VmHWM``), reset before each request. ``--source DIR`` runs another
checkout's ``src`` (to compare with the code before the cap). Run
``python benchmarks/table_memory.py --help``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from body_memory import current_kb, peak_kb, reset_peak
from common import print_table, running_server

_MB = 1_000_000
#: Target (issue 62): the peak rises at most this many MB for one request.
TARGET_MB = 150.0
STATIONS = 5_000
TAXA = "scientific_name,rank,parent\nAves,class,\nArdea alba,species,Aves\n"


def measure(backend: str, source: Path | None) -> list[list[object]]:
    rows: list[list[object]] = []
    with running_server(backend, source=source) as server, server.client(timeout=1800) as client:
        project = client.post("/api/v2/projects/", json={"name": "tables"}).json()["id"]
        base = f"/api/v2/projects/{project}"
        for n in range(STATIONS):
            made = client.post(
                f"{base}/deployments",
                json={
                    "name": f"S{n:04d}",
                    "started_at": "2015-01-01T00:00:00",
                    "ended_at": "2024-12-31T00:00:00",
                },
            )
            made.raise_for_status()
        client.post(f"{base}/taxa", files={"file": ("t.csv", TAXA, "text/csv")}).raise_for_status()
        taxon = client.get(f"{base}/taxa/search", params={"q": "Ardea"}).json()[0]["id"]
        within = {"since": "2015-01-01", "until": "2016-02-04"}  # 400 days
        asked = [
            ("camera operation, JSON", "camera-operation", within),
            ("camera operation, CSV", "camera-operation", {**within, "format": "csv"}),
            (
                "detection history with effort, CSV",
                "detection-history",
                {**within, "taxon": taxon, "include_effort": "true", "format": "csv"},
            ),
            ("camera operation, ten years, CSV", "camera-operation", {"format": "csv"}),
        ]
        for what, path, params in asked:
            reset_peak(server.pid)
            before = current_kb(server.pid)
            answer = client.get(f"{base}/{path}", params=params)
            rise = (peak_kb(server.pid) - before) * 1024 / _MB
            size = len(answer.content) / 2**20
            rows.append([what, answer.status_code, f"{size:.1f}", f"{rise:.0f}"])
            print(
                f"  {what}: {answer.status_code}, {size:.1f} MiB, +{rise:.0f} MB", file=sys.stderr
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--source", type=Path, help="another checkout's src folder to run")
    args = parser.parse_args(argv)
    rows = measure(args.backend, args.source)
    worst = max(float(str(r[-1])) for r in rows)
    verdict = "met" if worst <= TARGET_MB else "MISSED"
    print_table(
        f"table memory: peak RSS rise answering one camtrapR table, {STATIONS:,} stations, "
        f"{args.backend}{' (' + str(args.source) + ')' if args.source else ''} "
        f"(target: <= {TARGET_MB:.0f} MB: {verdict})",
        ["table", "answer", "MiB", "rise MB"],
        rows,
    )


if __name__ == "__main__":
    main()
