"""One escaping rule for every text cell of every CSV-like export: with a deployment named
``=HYPERLINK("http://x","y")`` (and a description that starts with ``+``), every cell of the
CSV, of each Camtrap DP table, of the Darwin Core Archive's two tables, of the occurrence CSV
and of the taxa list's CSV either does not start with a formula character or is a number (a
negative coordinate); the name itself arrives with a ``'`` before it wherever it is written,
as does a vernacular name that starts like a negative number (which an import reads)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from tests.support.birds import Birds, placed_birds
from tests.support.protocol_client import Protocol
from tests.support.scenes import API, import_taxa

NAME = '=HYPERLINK("http://x","y")'
#: A vernacular name and a source id an import reads (they start like a negative number).
VERNACULAR = "-1+cmd|' /C calc'!A0"
SOURCE_ID = "-2+3+cmd|' /C calc'!A0"
#: What a spreadsheet reads as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _tables(scene: Birds, fmt: str, **options: object) -> dict[str, list[dict[str, str]]]:
    """Every table of an export, each row as a dict, read as its format says."""
    done = scene.seeded.export(format=fmt, **options)
    assert done["status"] == "succeeded", done
    data = scene.seeded.download(done["id"])
    if fmt in ("csv", "occurrences-csv"):
        return {fmt: list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))}
    archive = zipfile.ZipFile(io.BytesIO(data))
    found = {}
    for name in archive.namelist():
        text = archive.read(name).decode()
        if name.endswith(".csv"):
            found[name] = list(csv.DictReader(io.StringIO(text, newline="")))
        elif name.endswith(".txt"):  # tab-separated, no quoting (meta.xml says so)
            header, *lines = text.rstrip("\n").split("\n")
            found[name] = [dict(zip(header.split("\t"), line.split("\t"), strict=True))
                           for line in lines]  # fmt: skip
    return found


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


@pytest.fixture
def scene(proto: Protocol) -> Birds:
    """The birds scene, the pond renamed to a formula, the marsh described by one."""
    scene = placed_birds(proto)
    for deployment, body in (
        (scene.pond, {"name": NAME}),
        (scene.marsh, {"description": "+cmd|' /C calc'!A0"}),
    ):
        answer = proto.client.patch(
            f"{API}/deployments/{deployment}", json=body, headers=proto.headers
        )
        assert answer.status_code == 200, answer.text
    names = f"scientific_name,rank,vernacular_name,taxon_id\nArdea,genus,{VERNACULAR},{SOURCE_ID}\n"
    answer = import_taxa(proto, names)
    assert answer.status_code == 200, answer.text
    assert answer.json()["updated"] == 1
    return scene


def _taxa_table(proto: Protocol) -> dict[str, list[dict[str, str]]]:
    """The project's taxa list as its CSV export writes it."""
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/taxa/export", headers=proto.headers
    )
    assert answer.status_code == 200, answer.text
    return {"taxa.csv": list(csv.DictReader(io.StringIO(answer.text, newline="")))}


def test_no_cell_of_any_csv_like_export_starts_a_formula(scene: Birds, proto: Protocol) -> None:
    tables = {
        **_tables(scene, "csv", include_empty=True),
        **_tables(scene, "camtrap-dp"),
        **_tables(scene, "dwca"),
        **_tables(scene, "occurrences-csv"),
        **_taxa_table(proto),
    }
    assert sorted(tables) == [
        "csv", "deployments.csv", "media.csv", "multimedia.txt", "observations.csv",
        "occurrence.txt", "occurrences-csv", "taxa.csv",
    ]  # fmt: skip
    cells = 0
    for table, rows in tables.items():
        assert rows, table
        for row in rows:
            for column, value in row.items():
                cells += 1
                risky = value.startswith(FORMULA_STARTS) and not _is_number(value)
                assert not risky, (table, column, value)
    assert cells > 500
    escaped = "'" + NAME
    assert {r["deployment"] for r in tables["csv"]} >= {escaped}
    assert {r["locationName"] for r in tables["deployments.csv"]} == {escaped, "Marsh"}
    assert {r["deploymentComments"] for r in tables["deployments.csv"]} == {
        "", "'+cmd|' /C calc'!A0"
    }  # fmt: skip
    pond_files = [
        r["filePath"] for r in tables["media.csv"] if r["deploymentID"] == str(scene.pond)
    ]
    assert pond_files
    assert all(p.startswith("'=HYPERLINK(") for p in pond_files)
    assert {r["locality"] for r in tables["occurrence.txt"]} == {escaped, "Marsh"}
    assert escaped in {r["deployment_name"] for r in tables["occurrences-csv"]}
    ardea = [r for r in tables["taxa.csv"] if r["scientific_name"] == "Ardea"]
    assert [(r["vernacular_name"], r["taxon_id"]) for r in ardea] == [
        ("'" + VERNACULAR, "'" + SOURCE_ID)
    ]
    assert {r["gbif_key"] for r in tables["taxa.csv"]} >= {"2480816"}
    # Numbers stay numbers: the pond lies south of the equator.
    assert {r["latitude"] for r in tables["deployments.csv"]} == {"-6.8", "48.85"}
    assert {r["decimalLatitude"] for r in tables["occurrence.txt"]} == {"-6.8", "48.85"}
