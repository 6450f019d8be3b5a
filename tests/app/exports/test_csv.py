"""CSV exports: one row per detection, back to the same boxes and labels."""

from __future__ import annotations

import csv
import io

from tests.support.exports import API, Seeded
from tests.support.moth_filter import filtered_photo


def _rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the byte-order mark spreadsheets look for
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_round_trip(seeded: Seeded) -> None:
    done = seeded.export(format="csv")
    assert done["status"] == "succeeded", done
    assert done["counts"]["images"] == 9
    assert done["counts"]["detections"] == len(seeded.boxes)
    assert done["counts"]["empty"] == 2
    assert done["counts"]["failed"] == 1
    assert done["progress"] == 1.0
    rows = _rows(seeded.download(done["id"]))
    assert len(rows) == len(seeded.boxes)
    got = sorted(
        (
            int(r["image_id"]),
            (float(r["x_min"]), float(r["y_min"]), float(r["x_max"]), float(r["y_max"])),
            r["label"],
            float(r["label_confidence"]),
        )
        for r in rows
    )
    want = sorted((b.image_id, b.box, b.label, b.score) for b in seeded.boxes)
    assert got == want
    first = rows[0]
    assert first["pipeline"] == "moth-test"
    assert first["pipeline_version"] == "1"
    assert first["classification_method"] == "machine"
    assert first["reviewer"] == ""
    assert first["captured_at"].startswith("2024-06-21T22:")
    assert first["deployment"] in ("Trap A", "Trap B")
    assert first["file_name"] == seeded.images[int(first["image_id"])]


def test_csv_with_empty_images_and_filters(seeded: Seeded) -> None:
    done = seeded.export(format="csv", include_empty=True)
    rows = _rows(seeded.download(done["id"]))
    status = {int(r["image_id"]): r["status"] for r in rows if r["status"] != "detection"}
    assert status == {**dict.fromkeys(seeded.empty, "empty"), seeded.failed[0]: "failed"}

    trap_b = seeded.deployments["Trap B"]
    done = seeded.export(format="csv", deployment_id=trap_b, min_confidence=0.85)
    rows = _rows(seeded.download(done["id"]))
    want = [
        b for b in seeded.boxes
        if seeded.image_deployment[b.image_id] == trap_b and b.score >= 0.85
    ]  # fmt: skip
    assert len(rows) == len(want) > 0
    assert all(float(r["detection_confidence"]) >= 0.85 for r in rows)


def test_csv_cells_never_read_as_formulas(proto) -> None:  # type: ignore[no-untyped-def]
    from tests.support.exports import seed_project

    seeded = seed_project(proto, names=[f"=cmd{n}.jpg" for n in range(9)])
    rows = _rows(seeded.download(seeded.export(format="csv")["id"]))
    assert rows
    assert all(r["file_name"].startswith("'=cmd") for r in rows)


def test_csv_marks_the_boxes_counted_nowhere_as_no_object(proto) -> None:  # type: ignore[no-untyped-def]
    """The moth filter's ``nonmoth`` box is marked ``no_object`` (its detector was surer of it
    than of the moth); the moth is not; a person who relabels the rejected box as a moth takes
    the mark off."""
    filtered_photo(proto)
    seeded = Seeded(proto, proto.project_id, {}, {}, {})

    def marks() -> dict[str, str]:
        done = seeded.export(format="csv")
        assert done["status"] == "succeeded", done
        return {r["detection_id"]: r["no_object"] for r in _rows(seeded.download(done["id"]))}

    first = marks()
    assert sorted(first.values()) == ["false", "true"], first
    (rejected,) = [key for key, mark in first.items() if mark == "true"]
    answer = proto.client.post(
        f"{API}/annotations/{rejected}/reviews",
        json={"verdict": "relabel", "label": "moth"},
        headers=proto.headers,
    )
    assert answer.status_code == 201, answer.text
    assert set(marks().values()) == {"false"}
