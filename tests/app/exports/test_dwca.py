"""Darwin Core Archive: the birds scene exported and read back with python-dwca-reader (core
rows and their terms, the multimedia rows of each occurrence, the EML metadata); a person's
identification is a HumanObservation, the model's determination a MachineObservation; an
occurrence whose label names no taxon is left out, and a deployment without coordinates
written without them, each said in the export's problems."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support.birds import Birds, api_call, best_image, birds
from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol
from trapline.background.exports import ExportRunner
from trapline.domain.exports.exports import ExportFilters, ExportFormat

DWC = "http://rs.tdwg.org/dwc/terms/"
DC = "http://purl.org/dc/terms/"
MULTIMEDIA = "http://rs.gbif.org/terms/1.0/Multimedia"


def export_with(
    proto: Protocol, fmt: str, *, base_url: str | None = None, **filters: Any
) -> tuple[dict[str, Any], bytes]:
    """An export run by a runner of the test's own (with the server's public URL, as a
    server configured with one has), its record and file."""
    platform = proto.platform
    runner = ExportRunner(
        platform.db, platform.store, name="test", ttl=timedelta(hours=1), base_url=base_url
    )
    try:
        with platform.db.write() as repos:
            made = repos.exports.exports.create(
                proto.project_id, ExportFormat(fmt), ExportFilters(**filters), proto.account.id
            )
        assert runner.run(made.id)
    finally:
        runner.close()
    seeded = Seeded(proto, proto.project_id, {}, {}, {})
    record = api_call(proto, "GET", f"/exports/{made.id}")
    assert record["status"] == "succeeded", record
    return record, seeded.download(made.id)


def test_the_archive_reads_back_with_python_dwca_reader(proto: Protocol, tmp_path: Path) -> None:
    from dwca.read import DwCAReader

    scene = birds(proto)
    record, data = export_with(proto, "dwca", base_url="https://traps.example.org")
    (tmp_path / "birds.zip").write_bytes(data)
    with DwCAReader(str(tmp_path / "birds.zip")) as archive:
        assert archive.descriptor.core.type == DWC + "Occurrence"
        assert [e.type for e in archive.descriptor.extensions] == [MULTIMEDIA]
        rows = {row.id: row for row in archive}
        extensions = {key: row.extensions for key, row in rows.items()}
        metadata = archive.metadata
    assert sorted(rows) == sorted([scene.urn(scene.heron), scene.urn(scene.egret)])
    heron_row = rows[scene.urn(scene.heron)].data
    assert {k.removeprefix(DWC): v for k, v in heron_row.items() if v} == {
        "occurrenceID": scene.urn(scene.heron),
        "basisOfRecord": "MachineObservation",
        "occurrenceStatus": "present",
        "individualCount": "1",
        "eventID": scene.urn({"id": scene.pond_event}, "event"),
        "eventDate": "2024-03-01T21:30:00+03:00/2024-03-01T21:30:09+03:00",
        "scientificName": "Ardea cinerea",
        "taxonID": "https://www.gbif.org/species/2480830",
        "taxonRank": "species",
        "kingdom": "Animalia",
        "phylum": "Chordata",
        "class": "Aves",
        "order": "Pelecaniformes",
        "family": "Ardeidae",
        "genus": "Ardea",
        "vernacularName": "Grey Heron",
        "verbatimIdentification": "animal",
        "identifiedBy": scene.heron["pipeline"],
        "identificationVerificationStatus": "unverified (machine)",
        "identificationRemarks": "model score 0.8900",
        "locationID": str(scene.pond),
        "locality": "Pond",
        "decimalLatitude": "-6.8",
        "decimalLongitude": "39.28",
        "geodeticDatum": "WGS84",
        "occurrenceRemarks": f"seen in 10 photos, tracked in {scene.heron['pipeline']}'s results",
        DC + "license": "http://creativecommons.org/licenses/by/4.0/legalcode",
    }
    egret = rows[scene.urn(scene.egret)].data
    assert egret[DWC + "basisOfRecord"] == "HumanObservation"
    assert (egret[DWC + "scientificName"], egret[DWC + "identifiedBy"]) == ("Ardea alba", "Olive")
    assert egret[DWC + "identificationVerificationStatus"] == "verified by a person"
    assert egret[DWC + "dateIdentified"].endswith("Z")
    assert egret[DWC + "eventDate"] == "2024-03-01T21:30:00+01:00/2024-03-01T21:30:04+01:00"
    assert egret[DWC + "decimalLatitude"] == egret[DWC + "geodeticDatum"] == ""
    media = extensions[scene.urn(scene.heron)]
    assert {m.core_id for m in media} == {scene.urn(scene.heron)}
    found = [(m.data[DC + "type"], m.data[DC + "format"], m.data[DC + "identifier"]) for m in media]
    crop = f"https://traps.example.org/annotations/{scene.heron['best_detection_id']}/crop"
    assert found == [
        ("StillImage", "image/jpeg", _photo(scene)),
        ("StillImage", "image/jpeg", crop),
    ]
    assert {m.data[DC + "created"] for m in media} == {"2024-03-01T21:30:09+03:00"}
    assert len(extensions[scene.urn(scene.egret)]) == 2
    assert metadata.findtext("dataset/title") == "Moths"
    assert [e.text for e in metadata.iterfind("dataset/creator/individualName/surName")] == [
        "Ashworth"
    ]
    assert [e.text for e in metadata.iterfind("dataset/contact/electronicMailAddress")] == [
        "sam@example.org"
    ]
    assert [e.text for e in metadata.iterfind("dataset/associatedParty/role")] == [
        "principalInvestigator"
    ]
    assert [e.get("url") for e in metadata.iterfind("dataset/intellectualRights/para/ulink")] == [
        "http://creativecommons.org/licenses/by/4.0/legalcode"
    ]
    box = metadata.iterfind("dataset/coverage/geographicCoverage/boundingCoordinates/*")
    assert [b.text for b in box] == ["39.280000", "39.280000", "-6.800000", "-6.800000"]
    names = [e.text for e in metadata.iterfind(".//taxonomicClassification/taxonRankValue")]
    assert names == ["Ardea alba", "Ardea cinerea"]
    assert record["counts"]["rows"] == 2
    assert record["errors"] == [
        f"deployment {scene.marsh} (Marsh) has no latitude and longitude: its occurrences are "
        "written without coordinates; set them and export again",
        "1 occurrence left out: their labels (person) name no taxon of the project's taxa "
        "list, and GBIF needs a scientific name; map the labels on the project's labels page "
        "and export again",
    ]


def _photo(scene: Birds) -> str:
    return f"https://traps.example.org/images/{best_image(scene, scene.heron)}/file"


def test_a_person_is_human_and_a_dispute_says_so(proto: Protocol, make_account: Any) -> None:
    scene = birds(proto)
    ann = make_account("ann")
    proto.add_member(ann, "member")
    api_call(proto.as_(ann), "POST", f"/occurrences/{scene.heron['id']}/identifications", 201,
          json={"taxon_id": scene.taxa["Ardea alba"]})  # fmt: skip
    api_call(proto, "POST", f"/occurrences/{scene.heron['id']}/identifications", 201,
          json={"taxon_id": scene.taxa["Ardea cinerea"]})  # fmt: skip
    rows = _core_rows(scene.seeded.export(format="dwca"), scene)
    heron_row = rows[scene.urn(scene.heron)]
    assert (heron_row["basisOfRecord"], heron_row["identifiedBy"]) == ("HumanObservation", "Olive")
    assert heron_row["identificationVerificationStatus"] == "disputed"
    assert heron_row["scientificName"] == "Ardea cinerea"
    reviewed = _core_rows(scene.seeded.export(format="dwca", reviewed_only=True), scene)
    assert sorted(reviewed) == sorted([scene.urn(scene.heron), scene.urn(scene.egret)])


def test_without_a_public_url_media_links_are_paths_and_the_export_says_so(
    proto: Protocol,
) -> None:
    scene = birds(proto)
    done = scene.seeded.export(format="dwca")
    assert done["status"] == "succeeded", done
    assert any("TRAPLINE_PUBLIC_URL" in e for e in done["errors"]), done["errors"]
    archive = _zip(scene.seeded.download(done["id"]))
    media = archive.read("multimedia.txt").decode().splitlines()
    assert media[0].split("\t") == [
        "coreid", "type", "format", "identifier", "references", "title", "created", "license",
    ]  # fmt: skip
    assert {line.split("\t")[3].split("/")[1] for line in media[1:]} == {"images", "annotations"}
    assert all(line.split("\t")[3].startswith("/") for line in media[1:])
    meta = archive.read("meta.xml").decode()
    assert 'fieldsTerminatedBy="\\t"' in meta
    assert 'ignoreHeaderLines="1"' in meta


def test_a_tab_or_line_break_in_a_value_never_splits_a_row() -> None:
    from trapline.exports.dwca import TabTable

    table = TabTable(("http://rs.tdwg.org/dwc/terms/occurrenceID", DC + "license"))
    table.add(["a", "plain"])
    table.add(["b", "two\tcolumns\nand lines\r"])
    table.flush()
    table.file.seek(0)
    text = table.file.read().decode()
    table.file.close()
    assert text == "occurrenceID\tlicense\na\tplain\nb\ttwo columns and lines \n"


def _zip(data: bytes) -> Any:
    import zipfile

    return zipfile.ZipFile(io.BytesIO(data))


def _core_rows(done: dict[str, Any], scene: Birds) -> dict[str, dict[str, str]]:
    """The core's rows by occurrenceID, read as the archive's format says (tab-separated,
    a header row, no quoting)."""
    assert done["status"] == "succeeded", done
    lines = _zip(scene.seeded.download(done["id"])).read("occurrence.txt").decode().split("\n")
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:] if line]
    return {r["occurrenceID"]: r for r in rows}


def test_detections_in_no_occurrence_the_export_keeps_are_said_so(seeded: Seeded) -> None:
    """Photos whose events are not tracked yet give the occurrence formats no row, and the
    export says how many detections the file leaves out and why."""
    detections = len(seeded.boxes)
    for fmt in ("dwca", "occurrences-csv"):
        done = seeded.export(format=fmt)
        assert done["status"] == "succeeded", done
        assert (done["counts"]["detections"], done["counts"]["rows"]) == (detections, 0)
        said = f"no occurrence in the file: none of the {detections} detections of the exported"
        assert any(e.startswith(said) for e in done["errors"]), done["errors"]
        assert done["errors"][-1] == (
            f"no results in the file: {len(seeded.images)} images matched, with {detections} "
            "detections, none of them in a row"
        )
