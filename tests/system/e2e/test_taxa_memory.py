"""Taxa files shaped to cost the most memory per byte raise a real server's peak RSS by at most
150 MB (issue 51): a header of millions of columns (the review's file: +1.37 GB before), rows
of as many distinct cells as a file may have, a vernacular name in every column, and the most
rows a file may have, each refused (+302 MB while the 400 listed every row). The server's peak
comes from its kernel high-water mark, reset before each file."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.databases import PostgresDatabases
from tests.support.peak_memory import peak_rise
from tests.support.workers import Platform, live_platform

pytestmark = pytest.mark.slow

#: Most MB importing one taxa file may raise the server's peak RSS by.
MAX_RISE_MB = 150.0
#: Largest taxa file, the most columns and the most rows one may have (docs/taxa.md).
FILE_BYTES = 32 * 1024 * 1024
COLUMNS = 300
ROWS = 250_000
TRAPLINE = "scientific_name,rank,parent,parent_rank,gbif_key,lsid,taxon_id"


def _filled(head: str, row: Callable[[int], str]) -> bytes:
    """``head``, then ``row(n)`` for n = 0, 1, ... while the file stays within its byte cap."""
    out, size, n = [head], len(head), 0
    while size < FILE_BYTES - 64 * 1024:
        out.append(row(n))
        size, n = size + len(out[-1]), n + 1
    return "".join(out).encode()


def rows_of_errors() -> bytes:
    """The most rows a taxa file may have, each refused (an unknown rank)."""
    return "".join(
        ["scientific_name,rank\n", *(f"Genus{n:07d},kind\n" for n in range(ROWS))]
    ).encode()


def header_of_columns() -> bytes:
    return (TRAPLINE + ",a" * ((FILE_BYTES - len(TRAPLINE) - 1) // 2) + "\n").encode()


def rows_of_cells() -> bytes:
    others = COLUMNS - 2
    head = "scientificName,taxonRank," + ",".join(f"t{i}" for i in range(others)) + "\n"
    return _filled(
        head, lambda n: f"G{n:x},genus," + ",".join(f"{n * others + i:x}" for i in range(others))
        + "\n"
    )  # fmt: skip


def names_in_every_column() -> bytes:
    languages = COLUMNS - 7
    head = TRAPLINE + "".join(f",vernacular_name:l{i}" for i in range(languages)) + "\n"
    return _filled(
        head, lambda n: f"G{n:x},genus,,,,,," + ",".join(
            f"{n * languages + i:x}" for i in range(languages)
        ) + "\n"
    )  # fmt: skip


#: Each file, and the status it is answered with.
FILES = {
    "header of columns": (header_of_columns, 400),
    "rows of cells": (rows_of_cells, 200),
    "names in every column": (names_in_every_column, 400),
    "rows of errors": (rows_of_errors, 400),
}


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory, postgres_databases: PostgresDatabases
) -> Iterator[Platform]:
    with live_platform("sqlite", tmp_path_factory.mktemp("taxa-memory"), postgres_databases) as p:
        yield p


@pytest.mark.parametrize("shape", list(FILES))
def test_a_taxa_file_at_its_caps_raises_the_servers_memory_by_at_most_150_mb(
    platform: Platform, shape: str
) -> None:
    make, status = FILES[shape]
    body = make()
    assert len(body) <= FILE_BYTES
    with platform.client() as api:
        api.timeout = httpx.Timeout(600)
        made = api.post("/api/v2/projects/", json={"name": shape})
        assert made.status_code == 201, made.text
        url = f"/api/v2/projects/{made.json()['id']}/taxa"
        with peak_rise(platform.server.process.pid) as rise:
            answer = api.post(url, files=[("file", ("taxa.csv", io.BytesIO(body), "text/csv"))])
    assert answer.status_code == status, answer.text[:300]
    assert rise[0] <= MAX_RISE_MB, f"{shape}: peak RSS rose {rise[0]:.0f} MB"
