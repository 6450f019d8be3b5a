"""Human reviews in exports: the latest review of a detection counts; a person's label and name
replace the model's, a rejected detection is left out, and reviewed_only keeps the reviewed."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from tests.exports.conftest import API, Seeded
from tests.exports.test_formats import validate_camtrap_dp


def _csv(seeded: Seeded, **filters: object) -> dict[int, dict[str, str]]:
    done = seeded.export(format="csv", **filters)
    assert done["status"] == "succeeded", done
    text = seeded.download(done["id"]).decode("utf-8-sig")
    return {int(r["detection_id"]): r for r in csv.DictReader(io.StringIO(text))}


def _review(seeded: Seeded, annotation_id: int, verdict: str, label: str | None = None) -> None:
    body = {"verdict": verdict, **({"label": label} if label else {})}
    headers = seeded.proto.account.headers
    answer = seeded.client.post(
        f"{API}/annotations/{annotation_id}/reviews", json=body, headers=headers
    )
    assert answer.status_code == 201, answer.text


def test_reviews_reach_every_export(seeded: Seeded, tmp_path: Path) -> None:
    before = _csv(seeded)
    confirmed, relabelled, rejected, changed_mind = sorted(before)[:4]
    _review(seeded, confirmed, "confirm")
    _review(seeded, relabelled, "relabel", "Noctuidae")
    _review(seeded, rejected, "false_detection")
    _review(seeded, changed_mind, "relabel", "Geometridae")
    _review(seeded, changed_mind, "confirm")  # the latest review counts

    rows = _csv(seeded)
    assert set(rows) == set(before) - {rejected}
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

    assert set(_csv(seeded, reviewed_only=True)) == {confirmed, relabelled, changed_mind}
    # A filter on the model's confidence keeps what a person confirmed, whatever its score.
    assert {confirmed, relabelled, changed_mind} <= set(_csv(seeded, min_confidence=1.0))

    done = seeded.export(format="camtrap-dp")
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(done["id"])))
    observations = list(csv.DictReader(io.StringIO(archive.read("observations.csv").decode())))
    by_detection = {int(o["observationID"].split("-")[1]): o for o in observations if o["bboxX"]}
    assert set(by_detection) == set(before) - {rejected}
    relabelled_row = by_detection[relabelled]
    assert relabelled_row["classificationMethod"] == "human"
    assert relabelled_row["classifiedBy"] == email
    assert relabelled_row["observationTags"] == "label:Noctuidae"
    assert by_detection[confirmed]["classificationMethod"] == "human"
    assert by_detection[sorted(untouched)[0]]["classificationMethod"] == "machine"
    archive.extractall(tmp_path)
    assert validate_camtrap_dp(tmp_path) == []
