"""Camtrap DP packages as GBIF takes them: the default package carries event-level
observations beside the media-level ones, so that GBIF's conversion (the ``camtrapdp`` R
package's ``write_dwc``, emulated below) finds each tracked individual once, for a heron burst
at a camera trap and for moths at a light trap; the project's licence and contacts are the
package's ``licenses`` and ``contributors``; a deployment whose photos' local times a clock
change skips or repeats says ``timestampIssues``; an ``animal`` that names no taxon is left
out of what GBIF takes (it would be an occurrence without a name). Tables are read back with
the ``camtrapdp`` Python package and every package validates against the 1.0.2 schemas
offline."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from camtrapdp.deployments import Deployment
from camtrapdp.observations import Observation

from tests.support import protocol
from tests.support.accounts import upload
from tests.support.birds import placed_birds
from tests.support.exports import Seeded, seed_project
from tests.support.protocol_client import HEIGHT, WIDTH, Protocol
from tests.support.scenes import API, occurrences_of, track_all
from tests.support.standards import validate_camtrap_dp

#: The moth scene's labels as its classifier's category map describes them.
ORDERS = {"moth": "Lepidoptera", "beetle": "Coleoptera", "fly": "Diptera"}
KEYS = {"moth": 797, "beetle": 1470, "fly": 811}


def gbif_occurrences(root: Path) -> list[Observation]:
    """The observations GBIF publishes as occurrences, by the rule of ``write_dwc`` in the
    ``camtrapdp`` R package (inbo/camtrapdp, R/write_dwc.R): those of the level
    ``gbifIngestion.observationLevel`` names when it is ``media``, else of the event level,
    and of type ``animal``; each is one occurrence of ``count`` individuals."""
    descriptor = json.loads((root / "datapackage.json").read_text())
    asked = (descriptor.get("gbifIngestion") or {}).get("observationLevel")
    level = "media" if asked == "media" else "event"
    return [
        o
        for o in Observation.from_csv(str(root / "observations.csv"))
        if o.observationLevel == level and o.observationType == "animal"
    ]


def _package(seeded: Seeded, root: Path, **options: Any) -> dict[str, Any]:
    done = seeded.export(format="camtrap-dp", **options)
    assert done["status"] == "succeeded", done
    zipfile.ZipFile(io.BytesIO(seeded.download(done["id"]))).extractall(root)
    assert validate_camtrap_dp(root) == []
    return done


def test_gbif_finds_the_heron_and_the_egret_once_each(proto: Protocol, tmp_path: Path) -> None:
    scene = placed_birds(proto)
    _package(scene.seeded, tmp_path)
    found = gbif_occurrences(tmp_path)
    got = sorted(
        (o.eventID, o.scientificName, o.count, o.classificationMethod, o.classifiedBy)
        for o in found
    )
    assert got == sorted([
        (str(scene.pond_event), "Ardea cinerea", "1", "machine", ""),
        (str(scene.marsh_event), "Ardea alba", "1", "human", "Olive"),
    ])  # fmt: skip
    assert all(o.mediaID == "" and o.eventStart and o.eventEnd for o in found)
    # The media level is all there too: ten frames of the heron, three of the egret.
    media = [o for o in Observation.from_csv(str(tmp_path / "observations.csv"))
             if o.observationLevel == "media" and o.observationType == "animal"]  # fmt: skip
    assert len(media) == 13
    descriptor = json.loads((tmp_path / "datapackage.json").read_text())
    assert descriptor["project"]["observationLevel"] == ["media", "event"]
    assert "gbifIngestion" not in descriptor  # GBIF's default, the event level, is the one


def test_gbif_takes_no_animal_without_a_name(proto: Protocol, tmp_path: Path) -> None:
    scene = placed_birds(proto)
    # The detector's "animal" mapped onto no taxon: the pond's heron names none.
    unmapped = proto.client.post(
        f"{API}/projects/{proto.project_id}/labels",
        json={"label": "animal", "taxon_id": None},
        headers=proto.headers,
    )
    assert unmapped.status_code == 200, unmapped.text
    for level, root in (("media", tmp_path / "both"), ("event", tmp_path / "event")):
        done = _package(scene.seeded, root, observation_level=level)
        found = gbif_occurrences(root)
        assert [(o.eventID, o.scientificName) for o in found] == [
            (str(scene.marsh_event), "Ardea alba")
        ], level
        (said,) = [e for e in done["errors"] if "'animal' names no taxon" in e]
        assert "map the label onto a taxon" in said
        observations = Observation.from_csv(str(root / "observations.csv"))
        at_the_pond = [o for o in observations if o.eventID == str(scene.pond_event)]
        if level == "media":
            # The photos keep it: ten frames of an animal, named by its label only.
            frames = [o for o in at_the_pond if o.observationType == "animal"]
            assert len(frames) == 10
            assert {(o.observationLevel, o.scientificName, o.observationTags) for o in frames} == {
                ("media", "", "label:animal")
            }
        # The walker is still counted at the event level (a human, which GBIF does not take).
        assert [o.observationType for o in at_the_pond if o.observationLevel == "event"] == [
            "human"
        ]


def test_gbif_finds_the_moths_tracked_at_a_light_trap(proto: Protocol, tmp_path: Path) -> None:
    config = protocol.pipeline_config()
    config["algorithms"][1]["category_map"]["data"] = [
        {"label": label, "taxon_rank": "ORDER", "gbif_key": KEYS[label],
         "scientific_name": ORDERS[label]}
        for label in protocol.LABELS
    ]  # fmt: skip
    seeded = seed_project(proto, config=config)
    assert track_all(proto) >= 1
    _package(seeded, tmp_path)
    got = Counter[tuple[str, str]]()
    for o in gbif_occurrences(tmp_path):
        got[(o.eventID, o.scientificName)] += int(o.count)
    want = Counter[tuple[str, str]]()
    for deployment in seeded.deployments.values():
        events = proto.client.get(f"{API}/deployments/{deployment}/events", headers=proto.headers)
        for event in events.json()["results"]:
            for o in occurrences_of(proto, event["id"]):
                want[(str(event["id"]), ORDERS[o["determination"]["label"]])] += 1
    assert got == want
    assert sum(want.values()) >= len(seeded.boxes) // 2  # moths, not an empty comparison


def test_an_occurrences_label_that_names_nothing_is_said_with_the_export(
    proto: Protocol, tmp_path: Path
) -> None:
    """A label the category map describes as no taxon, and that is no kind of thing either
    (``fly`` without taxon data), makes ``unknown`` event-level observations, which GBIF does
    not publish: the export says so once, naming the label and what to do."""
    config = protocol.pipeline_config()
    config["algorithms"][1]["category_map"]["data"] = [
        {"label": label, "taxon_rank": "ORDER", "gbif_key": KEYS[label],
         "scientific_name": ORDERS[label]}
        for label in protocol.LABELS
        if label != "fly"
    ]  # fmt: skip
    seeded = seed_project(proto, config=config)
    assert track_all(proto) >= 1
    done = _package(seeded, tmp_path)
    flies = [
        o
        for o in Observation.from_csv(str(tmp_path / "observations.csv"))
        if o.observationLevel == "event" and o.observationTags == "label:fly"
    ]
    assert flies, "the scene tracked no fly: nothing to judge"
    assert {(o.observationType, o.scientificName) for o in flies} == {("unknown", "")}
    said = [e for e in done["errors"] if "'fly' names no taxon" in e]
    assert len(said) == 1, done["errors"]
    assert "GBIF does not publish" in said[0]
    assert "map the label onto a taxon" in said[0]
    assert not [e for e in done["errors"] if "'moth' names no taxon" in e]


def test_the_projects_licence_and_people_are_in_the_descriptor(
    proto: Protocol, tmp_path: Path
) -> None:
    scene = placed_birds(proto)
    _package(scene.seeded, tmp_path)
    descriptor = json.loads((tmp_path / "datapackage.json").read_text())
    legal = "http://creativecommons.org/licenses/by/4.0/legalcode"
    assert [(x["name"], x["path"], x["scope"]) for x in descriptor["licenses"]] == [
        ("CC-BY-4.0", legal, "data"),
        ("CC-BY-4.0", legal, "media"),
    ]
    assert descriptor["contributors"] == [
        {"title": "Olive Ashworth", "email": "olive@example.org", "organization": "Pond Watch",
         "role": "contributor"},
        {"title": "Sam Reed", "email": "sam@example.org", "role": "contact"},
        {"title": "Kim Lee", "organization": "Marsh Lab", "role": "principalInvestigator"},
    ]  # fmt: skip


def test_a_project_without_licence_or_people_says_so(proto: Protocol, tmp_path: Path) -> None:
    seeded = seed_project(proto)
    done = _package(seeded, tmp_path)
    descriptor = json.loads((tmp_path / "datapackage.json").read_text())
    assert "licenses" not in descriptor
    assert descriptor["contributors"] == [{"title": "Moths", "role": "contributor"}]
    assert any("names no licence" in e for e in done["errors"]), done["errors"]
    assert any("names no contacts" in e for e in done["errors"]), done["errors"]


def _deployment(proto: Protocol, name: str, zone: str, *, standard_time: bool = False) -> int:
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={
            "name": name,
            "time_zone": zone,
            "latitude": 48.0,
            "longitude": 7.0,
            "standard_time": standard_time,
        },
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _photo(proto: Protocol, deployment: int, seed: int, taken: datetime) -> None:
    photo = proto.jpeg(seed, width=WIDTH, height=HEIGHT, captured_at=taken)
    body = upload(
        proto.client, proto.account, proto.project_id, (f"p{seed}.jpg", photo),
        deployment_id=str(deployment),
    )  # fmt: skip
    assert body["status"] == 201, body


def test_a_local_time_a_clock_change_skips_or_repeats_is_a_timestamp_issue(
    proto: Protocol, tmp_path: Path
) -> None:
    paris = _deployment(proto, "Paris", "Europe/Paris")
    _photo(proto, paris, 1, datetime(2024, 3, 31, 2, 30))  # the clocks skip 02:00-03:00
    _photo(proto, paris, 2, datetime(2024, 3, 31, 12, 0))
    rome = _deployment(proto, "Rome", "Europe/Rome")
    _photo(proto, rome, 3, datetime(2024, 10, 27, 2, 30))  # 02:00-03:00 comes twice
    oslo = _deployment(proto, "Oslo", "Europe/Oslo")
    # The file says which 02:30 it was; a summer's day is plain.
    _photo(proto, oslo, 4, datetime(2024, 10, 27, 2, 30, tzinfo=timezone(timedelta(hours=2))))
    _photo(proto, oslo, 5, datetime(2024, 6, 1, 2, 30))
    # A camera on standard time all year: its 02:30 of that night was once, at +01:00.
    berlin = _deployment(proto, "Berlin", "Europe/Berlin", standard_time=True)
    _photo(proto, berlin, 6, datetime(2024, 10, 27, 2, 30))
    _photo(proto, berlin, 7, datetime(2024, 6, 21, 21, 0))
    seeded = Seeded(proto, proto.project_id, {}, {}, {})
    done = _package(seeded, tmp_path)
    issues = {
        int(d.deploymentID): d.timestampIssues
        for d in Deployment.from_csv(str(tmp_path / "deployments.csv"))
    }
    assert issues == {paris: "true", rome: "true", oslo: "", berlin: ""}
    said = [e for e in done["errors"] if "skips or repeats" in e]
    assert len(said) == 2, done["errors"]
    assert any("Paris" in e and "2024-03-31 02:30:00" in e for e in said), said
    with (tmp_path / "media.csv").open(newline="") as media:
        stamps = {r["timestamp"] for r in csv.DictReader(media) if r["deploymentID"] == str(berlin)}
    assert stamps == {"2024-10-27T02:30:00+01:00", "2024-06-21T21:00:00+01:00"}
