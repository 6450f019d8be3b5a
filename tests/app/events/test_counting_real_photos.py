"""Counting on real photos (``tests/data/photos``): two frames of an AMI light trap's night,
``moth-blobs`` run through the job queue, two people's identifications and a split, then the
same pipeline run again with ``reprocess``: the same occurrences, identifications and Darwin
Core ``occurrenceID``s. And the camera trap's heron burst, imported as MegaDetector results of
two detector versions with a species classifier's name: one grey heron everywhere."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from tests.support.accounts import Account, upload
from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol, api_post
from tests.support.scenes import (
    API,
    TAXA_CSV,
    detail_of,
    event_of,
    import_md,
    import_taxa,
    occurrences_of,
    track_all,
)
from trapline.pipelines.base import SourceImage
from trapline.pipelines.moth_blobs import MothBlobsPipeline

ROOT = Path(__file__).resolve().parents[3]
PHOTOS = ROOT / "tests" / "data" / "photos" / "light-trap"
HERONS = ROOT / "tests" / "data" / "photos" / "camera-trap"
#: The heron's hand-checked box in each camera-trap photo (fractions: x1, y1, x2, y2).
HERON: dict[str, list[float]] = json.loads(
    (ROOT / "data" / "ground-truth" / "tracking.json").read_text()
)["heron"]["boxes"]
TAXA = "scientific_name,rank,parent\nLepidoptera,order,\nNoctuidae,family,Lepidoptera\n"


def _run(proto: Protocol, pipeline: MothBlobsPipeline, *, reprocess: bool) -> None:
    """``moth-blobs`` over the project's photos, as a worker runs it: tasks claimed, each photo
    processed by the pipeline itself, its results posted."""
    job = proto.job_that_runs(pipeline="moth-blobs", params={"reprocess": reprocess})["id"]
    tasks = proto.claim(job, 10)
    names = {
        i["id"]: i["filename"]
        for i in proto.client.get(
            f"{API}/projects/{proto.project_id}/images/", headers=proto.headers
        ).json()["results"]
    }
    items = []
    for task in tasks:
        with Image.open(PHOTOS / names[int(task["image_id"])]) as photo:
            source = SourceImage(str(task["image_id"]), photo.convert("RGB"))
            (result,) = pipeline.process([source])
        body = result.model_dump(mode="json")
        items.append({"reply_subject": task["reply_subject"], "result": body})
    assert {a["status"] for a in proto.post(job, *items)} == {"saved"}
    proto.wait(job, {"succeeded"})


def _dwca_ids(proto: Protocol, deployment: int) -> set[str]:
    seeded = Seeded(proto, proto.project_id, {"Sheet": deployment}, {}, {})
    done = seeded.export(format="dwca")
    assert done["status"] == "succeeded", done
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(done["id"])))
    rows = csv.DictReader(io.StringIO(archive.read("occurrence.txt").decode()), delimiter="\t")
    return {r["occurrenceID"] for r in rows}


def test_a_reprocessed_night_keeps_its_occurrences_and_identifications(
    proto: Protocol, make_account: Callable[..., Account]
) -> None:
    made = api_post(proto, "/projects", {"name": "AMI night", "kind": "light_trap"}, 201)
    night = proto.in_project(made["id"])
    assert made["event_rule"] == "night"
    taxa = night.client.post(
        f"{API}/projects/{made['id']}/taxa",
        files={"file": ("taxa.csv", io.BytesIO(TAXA.encode()), "text/csv")},
        headers=night.headers,
    )
    assert taxa.status_code == 200, taxa.text
    sheet = api_post(
        night,
        f"/projects/{made['id']}/deployments",
        {"name": "Sheet", "time_zone": "UTC", "latitude": 45.5, "longitude": -73.6},
        201,
    )["id"]
    files = [(p.name, p.read_bytes()) for p in sorted(PHOTOS.glob("*.jpg"))]
    assert upload(night.client, night.account, made["id"], *files, deployment_id=str(sheet))
    pipeline = MothBlobsPipeline()
    body = {
        "processing_service_name": "in-process",
        "pipelines": [pipeline.config.model_dump(mode="json")],
    }
    api_post(night, f"/projects/{made['id']}/pipelines/", body, 201)
    _run(night, pipeline, reprocess=False)
    assert track_all(night) == 1
    event = event_of(night, sheet)  # a light trap's frames of one night: one event
    first = occurrences_of(night, event)
    assert len(first) >= 5
    twice = [o for o in first if o["detection_count"] == 2]
    assert twice, "no insect sat still on both frames"

    # Two people identify; a reviewer splits one insect's two sightings apart.
    taxon = {
        t["scientific_name"]: t["id"]
        for q in ("noc", "lep")
        for t in night.client.get(
            f"{API}/projects/{made['id']}/taxa/search", params={"q": q}, headers=night.headers
        ).json()
    }
    api_post(
        night,
        f"/occurrences/{first[0]['id']}/identifications",
        {"taxon_id": taxon["Noctuidae"]},
        201,
    )
    ann = make_account("ann")
    night.add_member(ann, "member")
    other = next(o for o in first if o["id"] != first[0]["id"] and o["id"] != twice[0]["id"])
    api_post(
        night.as_(ann),
        f"/occurrences/{other['id']}/identifications",
        {"taxon_id": taxon["Lepidoptera"]},
        201,
    )
    boxes = [d["annotation_id"] for d in detail_of(night, twice[0]["id"])["detections"]]
    split = api_post(night, f"/occurrences/{twice[0]['id']}/split", {"detection_ids": boxes[1:]})
    before = {o["id"]: o["determination"]["label"] for o in occurrences_of(night, event)}
    ids_before = _dwca_ids(night, sheet)

    _run(night, pipeline, reprocess=True)
    assert track_all(night) == 1
    after = {o["id"]: o["determination"]["label"] for o in occurrences_of(night, event)}
    assert after == before
    assert after[first[0]["id"]] == "Noctuidae"
    assert after[other["id"]] == "Lepidoptera"
    assert split["new"]["id"] in after
    unplaced = night.client.get(
        f"{API}/projects/{made['id']}/identifications/unplaced", headers=night.headers
    ).json()
    assert unplaced["count"] == 0
    ids_after = _dwca_ids(night, sheet)
    assert len(ids_before & ids_after) >= 0.95 * len(ids_before)


def _heron_results(shift: float, conf: float) -> dict[str, list[dict[str, object]]]:
    """A detector's boxes on the heron (``shift``: drawn that share of the width further
    right), each named ``Ardea cinerea`` (0.81) by a species classifier."""
    return {
        f"Stream/{name}": [
            {
                "category": "1",
                "conf": conf,
                "bbox": [x1 + shift, y1, round(x2 - x1, 4), round(y2 - y1, 4)],
                "classifications": [["1", 0.81]],
            }
        ]
        for name, (x1, y1, x2, y2) in sorted(HERON.items())
    }


def test_the_heron_burst_seen_by_two_detector_versions_is_one_grey_heron(proto: Protocol) -> None:
    made = api_post(proto, "/projects", {"name": "Stream", "kind": "camera_trap"}, 201)
    stream = proto.in_project(made["id"])
    import_taxa(stream, TAXA_CSV)
    deployment = api_post(
        stream,
        f"/projects/{made['id']}/deployments",
        {"name": "Stream", "time_zone": "Europe/Brussels", "latitude": 51.2, "longitude": 4.4},
        201,
    )["id"]
    files = [(p.name, p.read_bytes()) for p in sorted(HERONS.glob("*.JPG"))]
    assert len(files) == 10
    assert upload(stream.client, stream.account, made["id"], *files, deployment_id=str(deployment))
    classes = {"1": "Ardea cinerea"}
    import_md(stream, _heron_results(0.0, 0.93), detector="md_v5a.0.0.pt", classes=classes)
    import_md(stream, _heron_results(0.01, 0.9), detector="heron-net.pt", classes=classes)
    assert track_all(stream) == 1
    counting = stream.client.get(f"{API}/projects/{made['id']}/counting", headers=stream.headers)
    assert [p["occurrences"] for p in counting.json()["pipelines"]] == [1, 1]

    (heron,) = occurrences_of(stream, event_of(stream, deployment))
    assert heron["determination"]["label"] == "Ardea cinerea"
    species = stream.client.get(f"{API}/projects/{made['id']}/species", headers=stream.headers)
    assert [
        (r["taxon"]["scientific_name"], r["occurrences"], r["detections"])
        for r in species.json()["results"]
    ] == [("Ardea cinerea", 1, 10)]
    seeded = Seeded(stream, made["id"], {"Stream": deployment}, {}, {})
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(seeded.export(format="dwca")["id"])))
    rows = csv.DictReader(io.StringIO(archive.read("occurrence.txt").decode()), delimiter="\t")
    assert [(r["scientificName"], r["basisOfRecord"], r["individualCount"]) for r in rows] == [
        ("Ardea cinerea", "MachineObservation", "1")
    ]
    package = seeded.export(format="camtrap-dp", observation_level="event")
    tables = zipfile.ZipFile(io.BytesIO(seeded.download(package["id"])))
    observed = csv.DictReader(io.StringIO(tables.read("observations.csv").decode()))
    assert [
        (o["observationLevel"], o["observationType"], o["scientificName"], o["count"])
        for o in observed
    ] == [("event", "animal", "Ardea cinerea", "1")]
