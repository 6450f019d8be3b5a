"""Darwin Core Archive: the birds scene exported and read back with python-dwca-reader (core
rows and their terms, the multimedia rows of each occurrence, the EML metadata); a person's
identification is a HumanObservation, the model's determination a MachineObservation; an
occurrence whose label names no taxon is left out, and a deployment without coordinates
written without them, each said in the export's problems."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol
from tests.support.scenes import (
    API,
    add_frames,
    event_of,
    heron,
    import_md,
    new_deployment,
    occurrences_of,
    track_all,
)
from trapline.background.exports import ExportRunner
from trapline.domain.exports import ExportFilters, ExportFormat

DWC = "http://rs.tdwg.org/dwc/terms/"
DC = "http://purl.org/dc/terms/"
MULTIMEDIA = "http://rs.gbif.org/terms/1.0/Multimedia"
TAXA_CSV = """scientific_name,rank,parent,gbif_key,vernacular_name:en,vernacular_name:fr
Animalia,kingdom,,1,Animals,
Chordata,phylum,Animalia,44,,
Aves,class,Chordata,212,Birds,Oiseaux
Pelecaniformes,order,Aves,1446,,
Ardeidae,family,Pelecaniformes,5272,Herons,
Ardea,genus,Ardeidae,2480813,,
Ardea cinerea,species,Ardea,2480830,Grey Heron,Héron cendré
Ardea alba,species,Ardea,2480816,Great Egret,
"""
CONTACTS = [
    {"name": "Olive Ashworth", "email": "olive@example.org", "organisation": "Pond Watch",
     "role": "creator"},
    {"name": "Sam Reed", "email": "sam@example.org", "role": "contact"},
    {"name": "Kim Lee", "organisation": "Marsh Lab", "role": "principalInvestigator"},
]  # fmt: skip


@dataclass
class Birds:
    """The pond's heron (the model's, mapped to Ardea cinerea) and a person walking by (label
    ``person``, no taxon), in Dar es Salaam with coordinates; an egret at a marsh in Paris
    without coordinates, identified by Olive as Ardea alba."""

    proto: Protocol
    pond: int
    marsh: int
    pond_event: int
    marsh_event: int
    heron: dict[str, Any]
    walker: dict[str, Any]
    egret: dict[str, Any]
    taxa: dict[str, int]

    @property
    def seeded(self) -> Seeded:
        return Seeded(self.proto, self.proto.project_id, {}, {}, {})

    def urn(self, occurrence: dict[str, Any], kind: str = "occurrence") -> str:
        """The id the archive publishes: the installation's UUID makes it unique anywhere."""
        with self.proto.platform.db.read() as repos:
            installation = repos.projects.installation()
        assert len(installation) == 36
        return f"urn:trapline:{installation}:{kind}:{occurrence['id']}"


def _call(proto: Protocol, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    answer = proto.client.request(method, f"{API}{path}", headers=proto.headers, **kwargs)
    assert answer.status_code == status, answer.text
    return answer.json()


def birds(proto: Protocol) -> Birds:
    """The scene, tracked, its taxa imported, ``animal`` mapped, the egret identified, and
    the project's licence and people set."""
    pond, pond_event = heron(proto)
    marsh = new_deployment(proto, "Marsh", zone="Europe/Paris")
    add_frames(proto, marsh, 3, timedelta(seconds=2), size=(640, 480), seed=11)
    import_md(
        proto,
        {
            f"Marsh/frame-{i:02d}.jpg": [
                {"category": "1", "conf": 0.6 + i / 10, "bbox": [0.4, 0.3, 0.2, 0.25]}
            ]
            for i in range(3)
        },
    )
    assert track_all(proto) == 1
    marsh_event = event_of(proto, marsh)
    pid = proto.project_id
    _call(proto, "POST", f"/projects/{pid}/taxa",
          files={"file": ("taxa.csv", io.BytesIO(TAXA_CSV.encode()), "text/csv")})  # fmt: skip
    taxa = {t["scientific_name"]: t["id"] for t in _call(proto, "GET", f"/projects/{pid}/taxa")[
        "results"]}  # fmt: skip
    _call(proto, "POST", f"/projects/{pid}/labels",
          json={"label": "animal", "taxon_id": taxa["Ardea cinerea"]})  # fmt: skip
    (egret,) = occurrences_of(proto, marsh_event)
    _call(proto, "POST", f"/occurrences/{egret['id']}/identifications", 201,
          json={"taxon_id": taxa["Ardea alba"]})  # fmt: skip
    _call(proto, "PATCH", f"/projects/{pid}", json={"licence": "CC-BY-4.0", "contacts": CONTACTS})
    found = occurrences_of(proto, pond_event)
    return Birds(
        proto, pond, marsh, pond_event, marsh_event,
        next(o for o in found if o["detection_count"] == 10),
        next(o for o in found if o["detection_count"] == 1),
        _call(proto, "GET", f"/occurrences/{egret['id']}"),
        taxa,
    )  # fmt: skip


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
            made = repos.exports.create(
                proto.project_id, ExportFormat(fmt), ExportFilters(**filters), proto.account.id
            )
        assert runner.run(made.id)
    finally:
        runner.close()
    seeded = Seeded(proto, proto.project_id, {}, {}, {})
    record = _call(proto, "GET", f"/exports/{made.id}")
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


def best_image(scene: Birds, occurrence: dict[str, Any]) -> int:
    """The photo of an occurrence's best detection."""
    found = _call(scene.proto, "GET", f"/occurrences/{occurrence['id']}")["detections"]
    (image,) = [
        d["image_id"] for d in found if d["annotation_id"] == occurrence["best_detection_id"]
    ]
    return int(image)


def _photo(scene: Birds) -> str:
    return f"https://traps.example.org/images/{best_image(scene, scene.heron)}/file"


def test_a_person_is_human_and_a_dispute_says_so(proto: Protocol, make_account: Any) -> None:
    scene = birds(proto)
    ann = make_account("ann")
    proto.add_member(ann, "member")
    _call(proto.as_(ann), "POST", f"/occurrences/{scene.heron['id']}/identifications", 201,
          json={"taxon_id": scene.taxa["Ardea alba"]})  # fmt: skip
    _call(proto, "POST", f"/occurrences/{scene.heron['id']}/identifications", 201,
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
