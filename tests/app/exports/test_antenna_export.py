"""Antenna-compatible occurrence exports: the birds scene as CSV with Antenna's
``occurrences_simple_csv`` header (its columns and order), one row per occurrence with its
determination, the models' best prediction and who verified it; the same records as JSON;
a cell that a spreadsheet would run as a formula is neutralised in the CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tests.support.birds import Birds, best_image, birds
from tests.support.protocol_client import Protocol
from tests.support.scenes import API

#: Antenna's ``OccurrenceTabularSerializer.Meta.fields`` (RolnickLab/antenna,
#: ami/exports/format_types.py at 731cc2a2), the columns of its occurrences_simple_csv.
ANTENNA_COLUMNS = [
    "id", "event_id", "event_name", "deployment_id", "deployment_name", "project_id",
    "project_name", "determination_id", "determination_name", "determination_score",
    "verification_status", "best_machine_prediction_name", "best_machine_prediction_algorithm",
    "best_machine_prediction_score", "verified_by", "participant_count", "agreed_with_algorithm",
    "agreed_with_user", "determination_matches_machine_prediction", "detections_count",
    "first_appearance_timestamp", "last_appearance_timestamp", "duration", "best_detection_url",
    "best_detection_bbox", "best_detection_width", "best_detection_height",
    "best_detection_capture_url",
]  # fmt: skip


def _export(scene: Birds, fmt: str) -> tuple[dict[str, Any], bytes]:
    done = scene.seeded.export(format=fmt)
    assert done["status"] == "succeeded", done
    return done, scene.seeded.download(done["id"])


def _rows(data: bytes) -> tuple[list[str], dict[int, dict[str, str]]]:
    text = data.decode("utf-8")
    assert not text.startswith("\ufeff")  # as Antenna writes it: no byte-order mark
    table = csv.reader(io.StringIO(text))
    header = next(table)
    return header, {int(r[0]): dict(zip(header, r, strict=True)) for r in table}


def test_the_csv_has_antennas_columns_and_a_row_per_occurrence(proto: Protocol) -> None:
    scene = birds(proto)
    done, data = _export(scene, "occurrences-csv")
    header, rows = _rows(data)
    assert header == ANTENNA_COLUMNS
    assert sorted(rows) == sorted(o["id"] for o in (scene.heron, scene.walker, scene.egret))
    assert done["counts"]["rows"] == 3
    heron = rows[scene.heron["id"]]
    photo = best_image(scene, scene.heron)
    assert heron == {
        "id": str(scene.heron["id"]),
        "event_id": str(scene.pond_event),
        "event_name": "Friday, Mar 1 2024",
        "deployment_id": str(scene.pond),
        "deployment_name": "Pond",
        "project_id": str(proto.project_id),
        "project_name": "Moths",
        "determination_id": str(scene.taxa["Ardea cinerea"]),
        "determination_name": "Ardea cinerea",
        "determination_score": "0.89",
        "verification_status": "False",
        "best_machine_prediction_name": "Ardea cinerea",
        "best_machine_prediction_algorithm": "md_v5a.0.0.pt",
        "best_machine_prediction_score": "0.89",
        "verified_by": "",
        "participant_count": "0",
        "agreed_with_algorithm": "",
        "agreed_with_user": "",
        "determination_matches_machine_prediction": "True",
        "detections_count": "10",
        "first_appearance_timestamp": "2024-03-01 21:30:00+03:00",
        "last_appearance_timestamp": "2024-03-01 21:30:09+03:00",
        "duration": "0:00:09",
        "best_detection_url": f"/annotations/{scene.heron['best_detection_id']}/crop",
        "best_detection_bbox": "[185.6, 144.0, 313.6, 288.0]",
        "best_detection_width": "128.0",
        "best_detection_height": "144.0",
        "best_detection_capture_url": f"/images/{photo}/file",
    }
    walker = rows[scene.walker["id"]]  # its label names no taxon: the label stands for it
    assert (walker["determination_id"], walker["determination_name"]) == ("", "person")
    assert walker["determination_matches_machine_prediction"] == ""
    egret = rows[scene.egret["id"]]  # Olive named another species than the model's
    assert (egret["determination_name"], egret["determination_score"]) == ("Ardea alba", "")
    assert (egret["verification_status"], egret["verified_by"]) == ("True", "Olive")
    assert (egret["participant_count"], egret["best_machine_prediction_name"]) == (
        "1",
        "Ardea cinerea",
    )
    assert egret["determination_matches_machine_prediction"] == "False"
    assert egret["first_appearance_timestamp"] == "2024-03-01 21:30:00+01:00"
    assert any("TRAPLINE_PUBLIC_URL" in e for e in done["errors"]), done["errors"]


def test_agreeing_with_the_model_names_its_algorithm(proto: Protocol) -> None:
    scene = birds(proto)
    answer = proto.client.post(
        f"{API}/occurrences/{scene.heron['id']}/identifications",
        json={"agree_with": "model"},
        headers=proto.headers,
    )
    assert answer.status_code == 201, answer.text
    _, rows = _rows(_export(scene, "occurrences-csv")[1])
    heron = rows[scene.heron["id"]]
    assert (heron["verified_by"], heron["agreed_with_algorithm"]) == ("Olive", "md_v5a.0.0.pt")
    assert heron["determination_matches_machine_prediction"] == "True"


def test_the_json_holds_the_same_records_typed(proto: Protocol) -> None:
    scene = birds(proto)
    records = json.loads(_export(scene, "occurrences-json")[1])
    assert [list(r) for r in records] == [ANTENNA_COLUMNS] * 3
    by_id = {r["id"]: r for r in records}
    heron = by_id[scene.heron["id"]]
    assert heron["verification_status"] is False
    assert heron["determination_score"] == 0.89
    assert heron["best_detection_bbox"] == [185.6, 144.0, 313.6, 288.0]
    assert heron["first_appearance_timestamp"] == "2024-03-01T21:30:00+03:00"
    assert heron["duration"] == "P0DT00H00M09S"
    assert by_id[scene.walker["id"]]["determination_id"] is None
    assert by_id[scene.egret["id"]]["verified_by"] == "Olive"


def test_a_formula_in_a_name_is_neutralised_in_the_csv(proto: Protocol) -> None:
    scene = birds(proto)
    renamed = proto.client.patch(
        f"{API}/deployments/{scene.pond}", json={"name": "=HYPERLINK(1)"}, headers=proto.headers
    )
    assert renamed.status_code == 200, renamed.text
    _, rows = _rows(_export(scene, "occurrences-csv")[1])
    assert rows[scene.heron["id"]]["deployment_name"] == "'=HYPERLINK(1)"
    records = json.loads(_export(scene, "occurrences-json")[1])
    assert {r["deployment_name"] for r in records} == {"=HYPERLINK(1)", "Marsh"}


def test_the_models_prediction_is_the_best_boxs_classification(proto: Protocol) -> None:
    """Boxes a worker posts carry no label of their own: the best box's most confident
    classification names the occurrence, as tracking reads it."""
    from tests.support.exports import seed_project
    from tests.support.scenes import track_all

    seeded = seed_project(proto)
    assert track_all(proto) >= 1
    done = seeded.export(format="occurrences-csv")
    assert done["status"] == "succeeded", done
    _, rows = _rows(seeded.download(done["id"]))
    assert rows
    boxes = {(b.label, b.score) for b in seeded.boxes}
    for row in rows.values():
        predicted = (
            row["best_machine_prediction_name"],
            float(row["best_machine_prediction_score"]),
        )
        assert predicted in boxes, row
        assert row["best_machine_prediction_algorithm"] == "Order classifier"
        assert row["determination_name"] == row["best_machine_prediction_name"]


def test_the_prediction_is_the_classification_tracking_names_the_box_by(proto: Protocol) -> None:
    """A surer moth-or-not verdict stored before a terminal species classification: the species
    names the occurrence, and is the export's best machine prediction too, with its own score
    and classifier (the box's most confident classification made "moth" the prediction of most
    occurrences of the realistic benchmark set)."""
    from tests.support.exports import Seeded
    from tests.support.protocol import detection, pipeline_config, success
    from tests.support.scenes import track_all

    config = pipeline_config()
    kinds = ["moth", "nonmoth"]
    entries = [{"label": x, "index": i} for i, x in enumerate(kinds)]
    config["algorithms"].append({
        "name": "Moth or not", "key": "moth-or-not", "task_type": "classification", "version": 1,
        "category_map": {"labels": kinds, "data": entries},
    })  # fmt: skip
    trap = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={"name": "Trap"},
        headers=proto.headers,
    )
    assert trap.status_code == 201, trap.text
    (image_id,) = proto.images(
        1, names=["20240621-220000.jpg"], deployment_id=str(trap.json()["id"])
    )
    registered = proto.register(config)
    assert registered.status_code in (200, 201), registered.text
    job = proto.job_that_runs(params={"max_attempts": 1})
    (task,) = proto.claim(job["id"], 10)
    box = detection(task, label="beetle", scores=[0.2, 0.6, 0.2])
    species = box["classifications"][0]
    verdict = {**species, "classification": "moth", "labels": kinds, "scores": [0.97, 0.03]}
    verdict |= {"logits": [3.0, -3.0], "terminal": False}
    verdict["algorithm"] = {"name": "Moth or not", "key": "moth-or-not"}
    box["classifications"].insert(0, verdict)
    assert [a["status"] for a in proto.post(job["id"], success(task, box))] == ["saved"]
    assert track_all(proto) == 1
    seeded = Seeded(proto, proto.project_id, {}, {image_id: "20240621-220000.jpg"}, {})
    done = seeded.export(format="occurrences-csv")
    assert done["status"] == "succeeded", done
    _, rows = _rows(seeded.download(done["id"]))
    (row,) = rows.values()
    assert row["determination_name"] == row["best_machine_prediction_name"] == "beetle", row
    assert float(row["best_machine_prediction_score"]) == 0.6, row
    assert row["best_machine_prediction_algorithm"] == "Order classifier", row
