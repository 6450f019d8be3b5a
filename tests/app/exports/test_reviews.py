"""Human reviews in exports: the latest review of a detection counts; a person's label and name
replace the model's, a rejected detection is left out, and reviewed_only keeps the reviewed."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

from tests.support.exports import API, Seeded
from tests.support.standards import validate_camtrap_dp
from trapline.db.engine import Database
from trapline.domain.processing.results import Box
from trapline.services.review import reviews


def _csv(seeded: Seeded, **filters: object) -> dict[int | str, dict[str, str]]:
    done = seeded.export(format="csv", **filters)
    assert done["status"] == "succeeded", done
    text = seeded.download(done["id"]).decode("utf-8-sig")
    rows = csv.DictReader(io.StringIO(text))
    return {int(k) if (k := r["detection_id"]).isdigit() else k: r for r in rows}


def _review(seeded: Seeded, annotation_id: int, verdict: str, label: str | None = None) -> None:
    body = {"verdict": verdict, **({"label": label} if label else {})}
    headers = seeded.proto.account.headers
    answer = seeded.client.post(
        f"{API}/annotations/{annotation_id}/reviews", json=body, headers=headers
    )
    assert answer.status_code == 201, answer.text


def _draw(app_db: Database, seeded: Seeded, image_id: int, box: Box, label: str) -> None:
    with app_db.read() as repos:
        person = repos.core.users.get(seeded.proto.account.id)
    assert person is not None
    reviews.add_missing_box(app_db, person, image_id, box, label)


def test_reviews_reach_every_export(seeded: Seeded, tmp_path: Path, app_db: Database) -> None:
    before = _csv(seeded)
    confirmed, relabelled, rejected, changed_mind = sorted(before)[:4]
    _review(seeded, confirmed, "confirm")
    _review(seeded, relabelled, "relabel", "Noctuidae")
    _review(seeded, rejected, "false_detection")
    _review(seeded, changed_mind, "relabel", "Geometridae")
    _review(seeded, changed_mind, "confirm")  # the latest review counts
    on_empty, on_boxed = seeded.empty[0], seeded.boxes[0].image_id
    _draw(app_db, seeded, on_empty, Box(5, 6, 25, 30), "Arctiidae")
    _draw(app_db, seeded, on_boxed, Box(100, 80, 140, 110), "Sphingidae")

    rows = _csv(seeded)
    drawn = {
        k: r for k, r in rows.items() if r["classification_method"] == "human" and k not in before
    }
    rows = {k: r for k, r in rows.items() if k not in drawn}
    assert set(rows) == set(before) - {rejected}
    assert sorted(
        (int(r["image_id"]), r["label"], r["x_min"], r["y_max"]) for r in drawn.values()
    ) == sorted(
        [(on_empty, "Arctiidae", "5.0", "30.0"), (on_boxed, "Sphingidae", "100.0", "110.0")]
    )
    assert all(k.startswith("review-") for k in drawn)
    email = seeded.proto.account.email
    for kept in (confirmed, changed_mind):
        assert rows[kept]["label"] == before[kept]["label"]
        assert rows[kept]["classification_method"] == "human"
        assert rows[kept]["reviewer"] == email
        assert rows[kept]["reviewed_at"]
    assert rows[relabelled]["label"] == "Noctuidae"
    assert rows[relabelled]["label_confidence"] == ""  # a person's label has no score
    assert rows[relabelled]["classification_method"] == "human"
    untouched = set(rows) - {confirmed, relabelled, changed_mind}
    assert untouched
    assert all(rows[i]["classification_method"] == "machine" for i in untouched)
    assert all(rows[i] == before[i] for i in untouched)

    assert set(_csv(seeded, reviewed_only=True)) == {confirmed, relabelled, changed_mind, *drawn}
    # A filter on the model's confidence keeps what a person confirmed, whatever its score.
    assert {confirmed, relabelled, changed_mind} <= set(_csv(seeded, min_confidence=1.0))

    done = seeded.export(format="camtrap-dp")
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(done["id"])))
    observations = list(csv.DictReader(io.StringIO(archive.read("observations.csv").decode())))
    by_detection = {o["observationID"].split("-", 1)[1]: o for o in observations if o["bboxX"]}
    by_detection = {int(k) if k.isdigit() else k: o for k, o in by_detection.items()}
    assert set(by_detection) == set(before) - {rejected} | set(drawn)
    for key in drawn:
        assert by_detection[key]["classificationMethod"] == "human"
        assert by_detection[key]["classifiedBy"] == email
    # The empty image with a drawn box has an observation of it, not a blank one.
    blank = {o["mediaID"] for o in observations if o["observationType"] == "blank"}
    assert str(on_empty) not in blank
    relabelled_row = by_detection[relabelled]
    assert relabelled_row["classificationMethod"] == "human"
    assert relabelled_row["classifiedBy"] == email
    assert relabelled_row["observationTags"] == "label:Noctuidae"
    assert by_detection[confirmed]["classificationMethod"] == "human"
    assert by_detection[sorted(untouched)[0]]["classificationMethod"] == "machine"
    archive.extractall(tmp_path)
    assert validate_camtrap_dp(tmp_path) == []

    for fmt in ("megadetector", "coco"):
        done = seeded.export(format=fmt)
        assert done["status"] == "succeeded", done
        assert done["counts"]["detections"] == len(before) - 1 + len(drawn), (fmt, done)
    # The formats with a row per occurrence only count detections (they read no
    # classifications): the same counts as the formats that make each one.
    made = seeded.export(format="csv")["counts"]
    for fmt in ("dwca", "occurrences-csv", "occurrences-json"):
        counted = seeded.export(format=fmt)["counts"]
        assert (counted["images"], counted["empty"]) == (made["images"], made["empty"]), fmt
        assert counted["detections"] == made["detections"] == len(before) - 1 + len(drawn), fmt
    md = json.loads(seeded.download(seeded.export(format="megadetector")["id"]))
    entry = next(e for e in md["images"] if e["file"].endswith(seeded.images[on_empty]))
    (box,) = entry["detections"]
    names = md["classification_categories"]
    assert [names[c] for c, _ in box["classifications"]] == ["Arctiidae"]
