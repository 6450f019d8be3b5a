"""Events and occurrences in exports: a heron in ten frames of a sequence in Dar es Salaam;
Camtrap DP at media level names each observation's event with its local times, at event level
counts occurrences per label, both valid against the 1.0.2 schemas offline; CSV and
MegaDetector JSON carry event and occurrence ids; an empty export says why."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol
from tests.support.scenes import API, TAXA_CSV, find_taxon, heron, import_taxa, occurrences_of
from tests.support.standards import validate_camtrap_dp

DAR = "Africa/Dar_es_Salaam"


def _heron(proto: Protocol) -> tuple[Seeded, int, int]:
    """The pond's heron (``scenes.heron``), its detector's ``animal`` mapped onto the grey
    heron (an animal without a name is not an event-level observation: test_camtrap_gbif.py),
    as an export test sees it."""
    pond, event = heron(proto)
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    mapped = proto.client.post(
        f"{API}/projects/{proto.project_id}/labels",
        json={"label": "animal", "taxon_id": find_taxon(proto, "Ardea cinerea")},
        headers=proto.headers,
    )
    assert mapped.status_code == 200, mapped.text
    return Seeded(proto, proto.project_id, {"Pond": pond}, {}, {}), pond, event


def _package(seeded: Seeded, tmp_path: Path, **options: object) -> dict[str, list[dict[str, str]]]:
    done = seeded.export(format="camtrap-dp", **options)
    assert done["status"] == "succeeded", done
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(done["id"])))
    archive.extractall(tmp_path)
    assert validate_camtrap_dp(tmp_path) == []
    return {
        name: list(csv.DictReader(io.StringIO(archive.read(f"{name}.csv").decode())))
        for name in ("media", "observations")
    }


def test_camtrap_dp_names_each_observations_event_in_local_time(
    proto: Protocol, tmp_path: Path
) -> None:
    seeded, _, event = _heron(proto)
    tables = _package(seeded, tmp_path)
    observations = tables["observations"]
    levels = [o["observationLevel"] for o in observations]
    # The heron's ten frames and the walker, and beside them the event's two occurrences.
    assert (levels.count("media"), levels.count("event")) == (11, 2)
    assert {(o["eventID"], o["eventStart"], o["eventEnd"]) for o in observations} == {
        (str(event), "2024-03-01T21:30:00+03:00", "2024-03-01T21:30:09+03:00")
    }
    assert all(m["timestamp"].endswith("+03:00") for m in tables["media"])


def test_camtrap_dp_at_event_level_counts_occurrences_per_label(
    proto: Protocol, tmp_path: Path
) -> None:
    seeded, _, event = _heron(proto)
    tables = _package(seeded, tmp_path / "event", observation_level="event")
    rows = sorted(tables["observations"], key=lambda o: o["observationType"])
    assert [
        (o["observationType"], o["scientificName"], o["count"], o["observationLevel"]) for o in rows
    ] == [
        ("animal", "Ardea cinerea", "1", "event"),  # one bird in ten frames: one, not ten
        ("human", "", "1", "event"),
    ]
    assert {(o["eventID"], o["mediaID"], o["eventStart"]) for o in rows} == {
        (str(event), "", "2024-03-01T21:30:00+03:00")
    }
    assert rows[0]["classificationProbability"] == "0.89"
    assert len(tables["media"]) == 10
    descriptor = json.loads((tmp_path / "event" / "datapackage.json").read_text())
    assert descriptor["project"]["observationLevel"] == ["event"]


def test_csv_and_megadetector_carry_event_and_occurrence_ids(proto: Protocol) -> None:
    seeded, _, event = _heron(proto)
    found = occurrences_of(proto, event)
    bird = next(o["id"] for o in found if o["detection_count"] == 10)
    person = next(o["id"] for o in found if o["detection_count"] == 1)
    done = seeded.export(format="csv")
    rows = list(csv.DictReader(io.StringIO(seeded.download(done["id"]).decode("utf-8-sig"))))
    assert {r["event_id"] for r in rows} == {str(event)}
    assert sorted(r["occurrence_id"] for r in rows) == sorted([str(bird)] * 10 + [str(person)])
    md = json.loads(seeded.download(seeded.export(format="megadetector")["id"]))
    assert {image["event_id"] for image in md["images"]} == {event}
    linked = [d["occurrence_id"] for image in md["images"] for d in image["detections"]]
    assert sorted(linked) == sorted([bird] * 10 + [person])


def test_an_export_with_nothing_in_it_says_why(proto: Protocol) -> None:
    seeded, _, _ = _heron(proto)
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={"name": "Empty", "time_zone": DAR},
        headers=proto.headers,
    )
    nothing = seeded.export(format="csv", deployment_id=made.json()["id"])
    assert nothing["status"] == "succeeded"
    assert nothing["errors"] == ["no results in the file: no image matched the export's filters"]
    later = seeded.export(format="csv", date_from="2030-01-01")
    assert later["errors"] == nothing["errors"]
    kept = seeded.export(format="csv")
    assert kept["errors"] == []


def test_the_event_level_is_for_camtrap_dp_only(proto: Protocol) -> None:
    refused = proto.client.post(
        f"{API}/projects/{proto.project_id}/exports",
        json={"format": "csv", "observation_level": "event"},
        headers=proto.headers,
    )
    assert refused.status_code == 400, refused.text
    assert "observation_level" in refused.json()["detail"]
    unknown = proto.client.post(
        f"{API}/projects/{proto.project_id}/exports",
        json={"format": "camtrap-dp", "observation_level": "night"},
        headers=proto.headers,
    )
    assert unknown.status_code == 400, unknown.text
    assert "observation_level" in unknown.json()["detail"]
