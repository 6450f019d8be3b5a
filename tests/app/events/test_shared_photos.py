"""Events and occurrences on the developers' real photos (skipped where ``../shared/data`` is
not beside the checkout): the ten heron frames in a Dar es Salaam deployment are one event in
+03:00 and one occurrence; the insects of two light-trap photos a minute apart are one
occurrence each. The boxes are the hand-checked ones of ``data/ground-truth/tracking.json``
and ``moth-trap-images.coco.json``, imported as MegaDetector output."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.accounts import upload
from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol
from tests.support.scenes import (
    API,
    TAXA_CSV,
    detail_of,
    event_of,
    find_taxon,
    import_md,
    import_taxa,
    occurrences_of,
    track_all,
)
from tests.support.standards import validate_camtrap_dp

ROOT = Path(__file__).resolve().parents[3]
CANDIDATES = [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
SHARED = next((c for c in CANDIDATES if c.is_dir()), None)
TRUTH = ROOT / "data" / "ground-truth"

pytestmark = pytest.mark.skipif(
    SHARED is None, reason="../shared/data (the real photos) is not here"
)


def _deployment(proto: Protocol, name: str, zone: str) -> int:
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={"name": name, "time_zone": zone, "latitude": -6.8, "longitude": 39.28},
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _upload(proto: Protocol, deployment: int, paths: list[Path]) -> list[int]:
    files = [(p.name, p.read_bytes()) for p in paths]
    body = upload(
        proto.client, proto.account, proto.project_id, *files, deployment_id=str(deployment)
    )
    assert body["status"] == 201, body
    return [r["id"] for r in body["results"]]


def test_the_heron_is_one_occurrence_of_one_event_in_dar_es_salaam(
    proto: Protocol, tmp_path: Path
) -> None:
    assert SHARED is not None
    truth = json.loads((TRUTH / "tracking.json").read_text())["heron"]
    pond = _deployment(proto, "Stream", "Africa/Dar_es_Salaam")
    _upload(proto, pond, [SHARED / truth["folder"] / name for name in sorted(truth["boxes"])])
    boxes = {
        f"Stream/{name}": [
            {"category": "1", "conf": 0.9, "bbox": [x1, y1, round(x2 - x1, 4), round(y2 - y1, 4)]}
        ]
        for name, (x1, y1, x2, y2) in truth["boxes"].items()
    }
    import_md(proto, boxes)
    assert track_all(proto) == 1
    event = event_of(proto, pond)
    detail = proto.client.get(f"{API}/events/{event}", headers=proto.headers).json()
    assert (detail["start"], detail["end"]) == (
        "2021-04-11T20:43:09+03:00",
        "2021-04-11T20:43:15+03:00",
    )
    assert {i["captured_at"][-6:] for i in detail["images"]} == {"+03:00"}
    (heron,) = occurrences_of(proto, event)
    assert heron["detection_count"] == 10
    assert heron["first_seen"] == "2021-04-11T20:43:09+03:00"

    # The detector's "animal" named (an animal without a name is no event-level observation).
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    mapped = proto.client.post(
        f"{API}/projects/{proto.project_id}/labels",
        json={"label": "animal", "taxon_id": find_taxon(proto, "Ardea cinerea")},
        headers=proto.headers,
    )
    assert mapped.status_code == 200, mapped.text
    seeded = Seeded(proto, proto.project_id, {"Stream": pond}, {}, {})
    done = seeded.export(format="camtrap-dp", observation_level="event")
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(done["id"])))
    archive.extractall(tmp_path)
    assert validate_camtrap_dp(tmp_path) == []
    rows = list(csv.DictReader(io.StringIO(archive.read("observations.csv").decode())))
    found = [(r["observationType"], r["scientificName"], r["count"], r["eventStart"]) for r in rows]
    assert found == [("animal", "Ardea cinerea", "1", "2021-04-11T20:43:09+03:00")]
    media = list(csv.DictReader(io.StringIO(archive.read("media.csv").decode())))
    assert {m["timestamp"][-6:] for m in media} == {"+03:00"}
    table = seeded.download(seeded.export(format="csv")["id"]).decode("utf-8-sig")
    assert {r["captured_at"][-6:] for r in csv.DictReader(io.StringIO(table))} == {"+03:00"}
    md = json.loads(seeded.download(seeded.export(format="megadetector")["id"]))
    assert {i["datetime"][-6:] for i in md["images"]} == {"+03:00"}


def test_insects_sitting_still_on_two_photos_are_one_occurrence_each(proto: Protocol) -> None:
    assert SHARED is not None
    pairs = json.loads((TRUTH / "tracking.json").read_text())["moths"]
    coco = json.loads((TRUTH / "moth-trap-images.coco.json").read_text())
    insects = {c["id"] for c in coco["categories"] if c["name"] != "not an insect"}
    sheet = _deployment(proto, "Sheet", "UTC")
    photos = _upload(proto, sheet, [SHARED / "moth-trap-images" / n for n in pairs["photos"]])
    boxes: dict[str, list[dict[str, Any]]] = {}
    #: Each hand-drawn box by its photo and where its top-left corner is: its annotation id.
    where: dict[tuple[int, int, int], int] = {}
    for photo, name in zip(photos, pairs["photos"], strict=True):
        image = next(i for i in coco["images"] if i["file_name"] == name)
        found = [
            a
            for a in coco["annotations"]
            if a["image_id"] == image["id"] and a["category_id"] in insects
        ]
        boxes[f"Sheet/{name}"] = [
            {
                "category": "1",
                "conf": 0.9,
                "bbox": [a["bbox"][0] / image["width"], a["bbox"][1] / image["height"],
                         a["bbox"][2] / image["width"], a["bbox"][3] / image["height"]],
            }
            for a in found
        ]  # fmt: skip
        where |= {(photo, round(a["bbox"][0]), round(a["bbox"][1])): a["id"] for a in found}
    import_md(proto, boxes)
    assert track_all(proto) == 1
    found = occurrences_of(proto, event_of(proto, sheet))
    sighted = sum(len(b) for b in boxes.values())
    assert len(found) == sighted - len(pairs["same"])  # each pair of sightings is one insect
    linked = []
    for occurrence in found:
        corners = [
            (d["image_id"], round(d["bbox"][0]), round(d["bbox"][1]))
            for d in detail_of(proto, occurrence["id"])["detections"]
        ]
        linked.append(sorted(where[c] for c in corners))
    assert sorted(x for x in linked if len(x) == 2) == sorted(sorted(p) for p in pairs["same"])
