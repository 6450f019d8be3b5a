"""MegaDetector import: an export of one project imported into another gives the same results;
importing twice, one after the other or both at once, stores nothing new; unmatched files are
reported; bad files are 400s."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from typing import Any

import jsonschema
from sqlalchemy import text

from tests.support.accounts import Account
from tests.support.exports import API, Seeded
from tests.support.protocol_client import Protocol
from tests.support.standards import megadetector_schema
from trapline.platform import Platform


def _empty_twin(seeded: Seeded, proto: Protocol) -> Protocol:
    """A new project of the same owner with the same deployments and file names, no results."""
    client, headers = seeded.client, seeded.proto.headers
    made = client.post(f"{API}/projects/", json={"name": "Twin"}, headers=headers)
    twin = proto.in_project(made.json()["id"])
    deployments = {}
    for name in ("Trap A", "Trap B"):
        answer = client.post(
            f"{API}/projects/{twin.project_id}/deployments",
            json={"name": name, "latitude": 45.0, "longitude": -73.0},
            headers=headers,
        )
        deployments[name] = answer.json()["id"]
    for image_id, name in seeded.images.items():
        where = next(
            k for k, v in seeded.deployments.items() if v == seeded.image_deployment[image_id]
        )
        twin.images(1, names=[name], deployment_id=str(deployments[where]))
    return twin


def _import(client: Any, account: Account, project_id: int, data: bytes, **form: str) -> Any:
    return client.post(
        f"{API}/projects/{project_id}/imports/megadetector",
        files={"file": ("results.json", io.BytesIO(data), "application/json")},
        data=form,
        headers=account.headers,
    )


def _results(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Each detection of an MD file in names: file, category, conf, box, classifications."""
    cats, classes = data["detection_categories"], data["classification_categories"]
    out = []
    for entry in data["images"]:
        for d in entry.get("detections") or ():
            out.append((
                entry["file"], cats[d["category"]], d["conf"], tuple(d["bbox"]),
                tuple((classes[c], s) for c, s in d.get("classifications", ())),
            ))  # fmt: skip
    return sorted(out)


def test_megadetector_round_trip_through_another_project(seeded: Seeded) -> None:
    original = json.loads(seeded.download(seeded.export(format="megadetector")["id"]))
    twin = _empty_twin(seeded, seeded.proto)
    answer = _import(
        seeded.client, seeded.proto.account, twin.project_id, json.dumps(original).encode()
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["images_in_file"] == 9  # 8 processed, 1 failed
    assert report["matched"] == 9
    assert report["failures"] == 1
    assert report["analyses_stored"] == 8
    assert report["detections_stored"] == len(seeded.boxes)
    assert report["unmatched"] == 0

    twin_seeded = Seeded(twin, twin.project_id, {}, {}, {})
    again = json.loads(twin_seeded.download(twin_seeded.export(format="megadetector")["id"]))
    jsonschema.validate(again, megadetector_schema())
    assert _results(again) == _results(original)
    assert again["info"]["detector"] == original["info"]["detector"]
    assert again["info"]["classifier"] == original["info"]["classifier"]

    # The same file again stores nothing new.
    repeat = _import(
        seeded.client, seeded.proto.account, twin.project_id, json.dumps(original).encode()
    )
    assert repeat.status_code == 200, repeat.text
    assert repeat.json()["analyses_stored"] == 0
    assert repeat.json()["already_imported"] == 8
    assert repeat.json()["pipeline"] == report["pipeline"]


def _file(*entries: dict[str, Any]) -> bytes:
    return json.dumps({
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
        "images": list(entries),
    }).encode()  # fmt: skip


def test_unmatched_files_threshold_and_names_in_two_deployments(proto: Protocol) -> None:
    client, headers = proto.client, proto.headers
    ids = {}
    for name in ("North", "South"):
        made = client.post(
            f"{API}/projects/{proto.project_id}/deployments", json={"name": name}, headers=headers
        )
        ids[name] = made.json()["id"]
        proto.images(1, names=["IMG_0001.JPG"], deployment_id=str(ids[name]))
    strong = {"category": "1", "conf": 0.9, "bbox": [0.1, 0.1, 0.2, 0.2]}
    weak = {"category": "2", "conf": 0.1, "bbox": [0.5, 0.5, 0.1, 0.1]}
    data = _file(
        {"file": "North/IMG_0001.JPG", "detections": [strong, weak]},
        {"file": "elsewhere/IMG_9999.JPG", "detections": [strong]},
        {"file": "IMG_0001.JPG", "detections": [strong]},
    )
    report = _import(client, proto.account, proto.project_id, data, threshold="0.5").json()
    assert report["matched"] == 1
    # Every detection is stored; the weak one under the threshold is counted nowhere.
    assert report["detections_stored"] == 2
    assert (report["below_threshold"], report["threshold"], report["threshold_from"]) == (
        1,
        0.5,
        "given",
    )
    assert report["unmatched"] == 2
    reasons = {u["file"]: u["reason"] for u in report["unmatched_files"]}
    assert "no image of the project" in reasons["elsewhere/IMG_9999.JPG"]
    assert "2 images have this file name" in reasons["IMG_0001.JPG"]
    # With the deployment given, the bare name is found there.
    only = _import(
        client, proto.account, proto.project_id, _file({"file": "IMG_0001.JPG", "detections": []}),
        deployment_id=str(ids["South"]),
    ).json()  # fmt: skip
    assert (only["matched"], only["analyses_stored"]) == (1, 1)


def test_bad_files_and_callers(proto: Protocol, make_account: Callable[..., Account]) -> None:
    client = proto.client
    proto.images(1, names=["a.jpg"])
    cases = [
        (b"not json", "not JSON"),
        (b"[" * 100_000, "not JSON"),
        (b'{"images": [{"file": "\\ud800x"}]}', "not JSON"),
        (b"[1, 2]", "not MegaDetector batch output"),
        (json.dumps({"images": []}).encode(), "detection_categories is required"),
        (
            _file(
                {
                    "file": "a.jpg",
                    "detections": [{"category": "9", "conf": 0.5, "bbox": [0, 0, 1, 1]}],
                }
            ),
            "'9' is not in detection_categories",
        ),
        (
            _file(
                {
                    "file": "a.jpg",
                    "detections": [{"category": "1", "conf": 2, "bbox": [0, 0, 1, 1]}],
                }
            ),
            "images.0.detections.0.conf",
        ),
        (
            _file(
                {"file": "a.jpg", "detections": [{"category": "1", "conf": 0.5, "bbox": [0, 0]}]}
            ),
            "images.0.detections.0.bbox",
        ),
    ]
    for data, words in cases:
        answer = _import(client, proto.account, proto.project_id, data)
        assert answer.status_code == 400, answer.text
        assert words in answer.json()["detail"], answer.text
    bad_threshold = _import(client, proto.account, proto.project_id, _file(), threshold="2")
    assert bad_threshold.status_code == 400
    viewer, outsider = make_account("vera"), make_account("oscar")
    proto.add_member(viewer, "viewer")
    assert _import(client, viewer, proto.project_id, _file()).status_code == 403
    foreign = _import(client, outsider, proto.project_id, _file())
    absent = _import(client, outsider, proto.project_id + 1000, _file())
    assert foreign.status_code == absent.status_code == 404
    assert foreign.json()["code"] == absent.json()["code"]


#: Images each racing import names, and races run: enough that, without the lock, the
#: two imports are all but sure to overlap in one of them (they did in every run tried).
IMAGES_PER_RACE = 60
RACES = 5


def test_two_identical_imports_at_once_store_one_copy(proto: Protocol, platform: Platform) -> None:
    names = [f"race-{n:03d}.jpg" for n in range(IMAGES_PER_RACE)]
    proto.images(IMAGES_PER_RACE, names=names)
    box = {"category": "1", "conf": 0.9, "bbox": [0.1, 0.1, 0.2, 0.2]}
    for race in range(RACES):
        # Another detector each time: a new import pipeline, registered by the racers too.
        data = json.dumps({
            "info": {"format_version": "1.4", "detector": f"md-race-{race}"},
            "detection_categories": {"1": "animal"},
            "images": [{"file": name, "detections": [box, box]} for name in names],
        }).encode()  # fmt: skip
        answers = _at_once(proto, data)

        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        reports = [a.json() for a in answers]
        assert reports[0]["pipeline"] == reports[1]["pipeline"]
        assert sorted(r["analyses_stored"] for r in reports) == [0, IMAGES_PER_RACE]
        assert sum(r["already_imported"] for r in reports) == IMAGES_PER_RACE
        assert _stored(platform, reports[0]["pipeline"]) == (
            IMAGES_PER_RACE, IMAGES_PER_RACE, 2 * IMAGES_PER_RACE
        )  # fmt: skip


def _at_once(proto: Protocol, data: bytes) -> list[Any]:
    """Two imports of ``data``, sent at the same moment from two threads; their answers."""
    barrier = threading.Barrier(2)
    answers: list[Any] = []

    def run() -> None:
        barrier.wait(timeout=30)
        answers.append(_import(proto.client, proto.account, proto.project_id, data))

    racers = [threading.Thread(target=run) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=120)
    return answers


def _stored(platform: Platform, slug: str) -> tuple[int, int, int]:
    """Analyses of the import pipeline, images they are of, and their annotations."""
    query = text(
        "SELECT count(DISTINCT a.id), count(DISTINCT a.image_id), count(n.id) FROM analyses a"
        " JOIN pipelines p ON p.id = a.pipeline_id"
        " LEFT JOIN annotations n ON n.analysis_id = a.id WHERE p.slug = :slug"
    )
    with platform.db.engine.connect() as connection:
        analyses, images, annotations = connection.execute(query, {"slug": slug}).one()
    return int(analyses), int(images), int(annotations)
