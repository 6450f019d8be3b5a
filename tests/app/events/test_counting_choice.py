"""What a deployment counts by is a person's choice, never an arrival (issue 59, scenarios 1-3):
the first results tracked on a deployment choose its pipeline; a newer MegaDetector import, a
member's callback test or a second pipeline leaves every count as it was; a project of a
camera trap and a light trap counts each by its own; a person chooses another pipeline for a
deployment or the project, and nothing else does."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.callbacks import SECRET, Pipeline, create_analysis
from tests.support.exports import Seeded
from tests.support.protocol import PIPELINE_SLUG, detection, pipeline_config, success
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    API,
    TAXA_CSV,
    add_frames,
    detail_of,
    find_taxon,
    heron,
    import_md,
    import_taxa,
    new_deployment,
    occurrences_of,
    species_rows,
    track_all,
)
from tests.support.settings import make_settings
from trapline.settings import Settings


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """A server that takes the callback API's calls (scenario 2)."""
    return make_settings(request, tmp_path, database_url, ml_callback_hmac_secret=SECRET)


def _named_heron(proto: Protocol) -> tuple[int, int, str]:
    """The heron burst imported from MegaDetector v5a and named *Ardea cinerea* by a person:
    its deployment, its occurrence and the pipeline the deployment counts by."""
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    pond, event = heron(proto)
    bird = max(occurrences_of(proto, event), key=lambda o: o["detection_count"])
    grey = find_taxon(proto, "Ardea cinerea")
    api_post(proto, f"/occurrences/{bird['id']}/identifications", {"taxon_id": grey}, 201)
    track_all(proto)
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    assert counting["pipeline"] == bird["pipeline"]
    return pond, int(bird["id"]), str(bird["pipeline"])


def _v5b(extra: bool = True) -> dict[str, list[dict[str, Any]]]:
    """MegaDetector v5b's boxes on the same ten frames: the heron where v5a drew it, and one
    more box on frames 3 and 7 (so v5b has more tracked detections than v5a)."""
    found = {
        f"Pond/frame-{i:02d}.jpg": [
            {"category": "1", "conf": 0.85, "bbox": [0.2 + i * 0.01, 0.3, 0.2, 0.3]}
        ]
        for i in range(10)
    }
    for frame in ("03", "07") if extra else ():
        speck = {"category": "1", "conf": 0.7, "bbox": [0.7, 0.7, 0.1, 0.1]}
        found[f"Pond/frame-{frame}.jpg"].append(speck)
    return found


def _published(proto: Protocol, pond: int) -> tuple[list[str], list[str]]:
    """The Darwin Core archive's scientific names and the event-level Camtrap DP's."""
    seeded = Seeded(proto, proto.project_id, {"Pond": pond}, {}, {})
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(seeded.export(format="dwca")["id"])))
    rows = csv.DictReader(io.StringIO(archive.read("occurrence.txt").decode()), delimiter="\t")
    dwca = sorted(r["scientificName"] for r in rows)
    package = seeded.download(seeded.export(format="camtrap-dp", observation_level="event")["id"])
    observed = zipfile.ZipFile(io.BytesIO(package)).read("observations.csv").decode()
    camtrap = sorted(
        r["scientificName"] for r in csv.DictReader(io.StringIO(observed)) if r["scientificName"]
    )
    return dwca, camtrap


def _published_ids(proto: Protocol, pond: int) -> list[str]:
    """The occurrence ids the Darwin Core archive publishes, by their last part."""
    seeded = Seeded(proto, proto.project_id, {"Pond": pond}, {}, {})
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(seeded.export(format="dwca")["id"])))
    rows = csv.DictReader(io.StringIO(archive.read("occurrence.txt").decode()), delimiter="\t")
    return sorted(r["occurrenceID"].rsplit(":", 1)[1] for r in rows)


def test_a_newer_megadetector_import_takes_neither_the_counts_nor_the_name(
    proto: Protocol,
) -> None:
    """Scenario 1: v5a imported, the heron named, then v5b imported with two more boxes: v5b
    is version 2 of the same model, its results current on the photos, and the heron keeps its
    name and its occurrence id (the re-run rule)."""
    pond, bird, v5a = _named_heron(proto)
    assert ("Ardea cinerea", 1, 10) in species_rows(proto)
    report = import_md(proto, _v5b(), detector="md_v5b.0.0.pt")
    assert (report["pipeline"], report["pipeline_version"]) == (v5a, 2)
    assert "md_v5b.0.0.pt is a release of MegaDetector: version 2 of" in report["model"]
    assert track_all(proto) == 1
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    assert [p["pipeline"] for p in counting["pipelines"]] == [v5a]
    (listed,) = counting["deployments"]
    assert (listed["deployment_id"], listed["pipeline"], listed["chosen"]) == (pond, v5a, "results")
    rows = species_rows(proto)
    assert ("Ardea cinerea", 1, 10) in rows
    assert sum(n for _, n, _ in rows) > 1  # v5b's two specks are counted, the heron once
    determination = api_get(proto, f"/occurrences/{bird}")["determination"]
    assert (determination["label"], determination["by"]) == ("Ardea cinerea", "person")
    assert _published(proto, pond) == (["Ardea cinerea"], ["Ardea cinerea"])
    # Another detector is a model of its own: it takes nothing.
    other = import_md(proto, _v5b(), detector="heron-net.pt")
    assert (other["pipeline"] != v5a, other["pipeline_version"]) == (True, 1)
    assert (
        other["model"] == "heron-net.pt is not a MegaDetector release: kept as a model of its own"
    )
    track_all(proto)
    assert species_rows(proto) == rows


def test_a_members_callback_test_changes_no_count(proto: Protocol, pipeline: Pipeline) -> None:
    """Scenario 2: a member posts 1,200 boxes on one photo through the callback API."""
    _, _, v5a = _named_heron(proto)
    before = species_rows(proto)
    image = api_get(proto, f"/projects/{proto.project_id}/images/", limit=1)["results"][0]["id"]
    made = create_analysis(proto.client, proto.account, image, model_name="many-boxes")
    assert made.status_code == 201, made.text
    analysis = made.json()["id"]
    boxes = [
        {
            "annotation_type": "bounding_box",
            "class_name": "animal",
            "confidence": 0.99,
            "data": {
                "x_min": 10 + (n % 40) * 15,
                "y_min": 10 + (n // 40) * 15,
                "x_max": 20 + (n % 40) * 15,
                "y_max": 20 + (n // 40) * 15,
                "image_width": 640,
                "image_height": 480,
            },
        }
        for n in range(1_200)
    ]
    for start in range(0, len(boxes), 600):
        body = {"annotations": boxes[start : start + 600]}
        posted = pipeline.call("POST", f"/analyses/{analysis}/annotations:bulk", body)
        assert posted.status_code == 200, posted.text[:300]
    done = pipeline.call("POST", f"/analyses/{analysis}/finalize", {"status": "completed"})
    assert done.status_code == 200, done.text
    assert track_all(proto) == 1
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    # The test's, tracked to the photo's cap of 1,000 boxes, which the heron's box (of the
    # pipeline the deployment counts by) takes first.
    assert counting["pipelines"][0]["detections"] == 999
    assert counting["pipeline"] == v5a
    assert species_rows(proto) == before


def test_a_camera_trap_and_a_light_trap_are_each_counted_by_their_own(proto: Protocol) -> None:
    """Scenario 3: a MegaDetector pond and a light-trap sheet a worker pipeline analyses."""
    pond, _, v5a = _named_heron(proto)
    sheet = new_deployment(proto, "Sheet")
    add_frames(proto, sheet, 3, timedelta(minutes=5), size=(640, 480), seed=11)
    assert proto.register(pipeline_config()).status_code == 201
    job = proto.job_that_runs()["id"]
    tasks = proto.claim(job, 100)
    listed = api_get(proto, f"/projects/{proto.project_id}/images", deployment=sheet, limit=100)
    at_sheet = {i["id"] for i in listed["results"]}
    # Many boxes a photo on the sheet, so that the worker's pipeline has the most detections.
    proto.post(job, *[
        success(t, *[detection(t, bbox=(10 + 60 * n, 12, 50 + 60 * n, 52)) for n in range(8)])
        if int(t["image_id"]) in at_sheet else success(t)
        for t in tasks
    ])  # fmt: skip
    proto.wait(job, {"succeeded"})
    track_all(proto)
    rows = species_rows(proto)
    assert ("Ardea cinerea", 1, 10) in rows
    at_pond = species_rows(proto, deployment_id=pond)
    assert sum(n for _, n, _ in at_pond) == 2  # the heron and the person
    moths = sum(n for _, n, _ in species_rows(proto, deployment_id=sheet))
    assert moths >= 8
    assert sum(n for _, n, _ in rows) == 2 + moths
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    by_deployment = {d["deployment_id"]: d["pipeline"] for d in counting["deployments"]}
    assert by_deployment == {pond: v5a, sheet: PIPELINE_SLUG}
    assert (counting["mixed"], counting["pipeline"]) == (True, None)


def test_a_person_chooses_what_a_deployment_counts_by(proto: Protocol) -> None:
    """Choosing v5b for the pond by hand counts v5b there; choosing v5a for the project then
    leaves the person's choice be; a pipeline that never ran on it is refused."""
    pond, _, v5a = _named_heron(proto)
    import_md(proto, _v5b(extra=False), detector="heron-net.pt")
    track_all(proto)
    v5b = next(
        p["pipeline"]
        for p in api_get(proto, f"/projects/{proto.project_id}/counting")["pipelines"]
        if p["pipeline"] != v5a
    )
    chosen = proto.client.put(
        f"{API}/deployments/{pond}/counting", json={"pipeline": v5b}, headers=proto.headers
    )
    assert chosen.status_code == 200, chosen.text
    assert (chosen.json()["counting_pipeline"], chosen.json()["counting_chosen"]) == (v5b, "person")
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    assert counting["pipeline"] == v5b
    patched = proto.client.patch(
        f"{API}/projects/{proto.project_id}", json={"counting_pipeline": v5a}, headers=proto.headers
    )
    assert patched.status_code == 200, patched.text
    assert api_get(proto, f"/deployments/{pond}")["counting_pipeline"] == v5b
    refused = proto.client.put(
        f"{API}/deployments/{pond}/counting", json={"pipeline": "moth-blobs"}, headers=proto.headers
    )
    assert refused.status_code == 400
    assert "'moth-blobs' has no results tracked on deployment" in refused.json()["detail"]
    missing = proto.client.put(
        f"{API}/deployments/{pond + 1000}/counting", json={"pipeline": v5a}, headers=proto.headers
    )
    assert missing.status_code == 404


def test_a_callback_model_may_not_take_a_pipelines_name(proto: Protocol) -> None:
    """Results are tracked by the name of what made them, so a callback model named like one
    of the project's pipelines would add to that pipeline's counts: it is refused."""
    assert proto.register(pipeline_config()).status_code == 201
    pond = new_deployment(proto, "Pond")
    (image,) = add_frames(proto, pond, 1, timedelta(seconds=1), size=(320, 240))
    taken = create_analysis(proto.client, proto.account, image, model_name=PIPELINE_SLUG)
    assert taken.status_code == 400, taken.text
    assert taken.json()["code"] == "model_name_taken"
    assert f"model_name: {PIPELINE_SLUG!r} is the name of a pipeline" in taken.json()["detail"]
    apart = create_analysis(proto.client, proto.account, image, model_name=f"{PIPELINE_SLUG}-x")
    assert apart.status_code == 201, apart.text


def test_switching_by_hand_and_back_carries_names_and_keeps_ids(proto: Protocol) -> None:
    """The pond counts by v5a, whose heron a person named and whose far-off person a reviewer
    called a false detection; v5b drew the heron alone. Switching to v5b carries the name to
    v5b's heron and lists the review it could not place; a name given under v5b is carried
    back; switching back keeps v5a's occurrence ids and adds no copy twice."""
    pond, bird, v5a = _named_heron(proto)
    event = api_get(proto, f"/deployments/{pond}/events")["results"][0]["id"]
    (person,) = [o for o in occurrences_of(proto, event) if o["id"] != bird]
    box = detail_of(proto, person["id"])["detections"][0]["annotation_id"]
    api_post(proto, f"/annotations/{box}/reviews", {"verdict": "false_detection"}, 201)
    track_all(proto)
    before = species_rows(proto)
    assert before == [("Ardea cinerea", 1, 10)]
    import_md(proto, _v5b(extra=False), detector="heron-net.pt")
    track_all(proto)
    v5b = next(d["pipeline"] for d in _counting(proto)["pipelines"] if d["pipeline"] != v5a)

    chosen = _choose(proto, pond, v5b)
    (review,) = chosen["counting_not_carried"]
    assert f"(false_detection) of detection {box}: no box of {v5b}" in review
    assert species_rows(proto) == before  # the name went with the heron
    assert _published_ids(proto, pond) == [str(bird)]  # and so did the id GBIF knows
    (heron_b,) = occurrences_of(proto, event)
    assert heron_b["pipeline"] == v5b
    assert heron_b["determination"]["by"] == "person"

    # A person names v5b's heron anew; switching back carries that name to v5a's.
    alba = find_taxon(proto, "Ardea alba")
    api_post(proto, f"/occurrences/{heron_b['id']}/identifications", {"taxon_id": alba}, 201)
    assert _choose(proto, pond, v5a)["counting_not_carried"] == []
    assert species_rows(proto) == [("Ardea alba", 1, 10)]
    assert {o["id"] for o in occurrences_of(proto, event)} == {bird}  # ids kept
    assert _published_ids(proto, pond) == [str(bird)]
    history = api_get(proto, f"/occurrences/{bird}/identifications")
    assert [i["taxon"]["scientific_name"] for i in history] == ["Ardea cinerea", "Ardea alba"]
    # Back and forth again: nothing is copied twice.
    _choose(proto, pond, v5b)
    _choose(proto, pond, v5a)
    assert len(api_get(proto, f"/occurrences/{bird}/identifications")) == 2
    assert species_rows(proto) == [("Ardea alba", 1, 10)]
    _choose(proto, pond, v5b)
    assert _published_ids(proto, pond) == [str(bird)]


def _counting(proto: Protocol) -> dict[str, Any]:
    return dict(api_get(proto, f"/projects/{proto.project_id}/counting"))


def _choose(proto: Protocol, deployment: int, pipeline: str) -> dict[str, Any]:
    chosen = proto.client.put(
        f"{API}/deployments/{deployment}/counting",
        json={"pipeline": pipeline},
        headers=proto.headers,
    )
    assert chosen.status_code == 200, chosen.text
    track_all(proto)
    return dict(chosen.json())


def test_a_classifier_over_the_imports_boxes_counts_only_when_chosen_and_keeps_the_name(
    proto: Protocol,
) -> None:
    """A classifier run over v5a's boxes (``params.boxes_from``, issue 60 item 19) is a run of
    its own: the pond still counts by v5a; chosen, the person's name goes with the heron, whose
    boxes the classifier's results repeat exactly, and so does the id GBIF knows."""
    pond, bird, v5a = _named_heron(proto)
    answer = proto.register(pipeline_config("labeller", classifies_boxes=True))
    assert answer.status_code in (200, 201), answer.text
    job = proto.job_that_runs(pipeline="labeller", params={"boxes_from": v5a})
    tasks = proto.claim(job["id"], 100)
    assert len(tasks) == 10

    def labelled(task: dict[str, Any]) -> dict[str, Any]:
        found = [
            {
                **detection(task, slug="labeller", label="beetle"),
                "bbox": given["bbox"],
                "algorithm": given["algorithm"],
            }
            for given in task["detections"]
        ]
        return success(task, *found, slug="labeller")

    answers = proto.post(job["id"], *(labelled(t) for t in tasks))
    assert {a["status"] for a in answers} == {"saved"}, answers
    track_all(proto)
    assert _counting(proto)["pipeline"] == v5a
    assert ("Ardea cinerea", 1, 10) in species_rows(proto)

    assert _choose(proto, pond, "labeller")["counting_not_carried"] == []
    assert ("Ardea cinerea", 1, 10) in species_rows(proto)
    assert _published_ids(proto, pond) == [str(bird)]
