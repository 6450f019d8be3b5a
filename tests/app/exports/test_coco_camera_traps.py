"""COCO exports follow COCO Camera Traps: MegaDetector's own ``integrity_check_json_db`` (from
megadetector-utils, no PyTorch) accepts a real export with its default, strict options (text
ids, a location on every image); each photo names its deployment, capture time and place in
its event's sequence; pycocotools still loads and evaluates it."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol
from tests.support.scenes import heron


def _coco(proto: Protocol) -> tuple[int, int, dict[str, Any]]:
    pond, event = heron(proto)
    seeded = Seeded(proto, proto.project_id, {}, {}, {})
    done = seeded.export(format="coco")
    assert done["status"] == "succeeded", done
    return pond, event, json.loads(seeded.download(done["id"]))


def test_megadetectors_integrity_check_accepts_the_export(proto: Protocol) -> None:
    from megadetector.data_management.integrity_check_json_db import (
        IntegrityCheckOptions,
        integrity_check_json_db,
    )

    _, _, data = _coco(proto)
    options = IntegrityCheckOptions()
    options.validateBoxes = "error"
    options.nThreads = 1
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        categories, _, problems = integrity_check_json_db(json.loads(json.dumps(data)), options)
    assert problems == {"unused_files": [], "validation_errors": []}
    assert {c["name"]: c["_count"] for c in categories} == {"animal": 10, "person": 1}


def test_the_check_refuses_what_camera_traps_files_must_not_be(proto: Protocol) -> None:
    """The check is no rubber stamp: number ids, or a photo without a location, fail it."""
    from megadetector.data_management.integrity_check_json_db import (
        IntegrityCheckOptions,
        integrity_check_json_db,
    )

    _, _, data = _coco(proto)
    number_ids = json.loads(json.dumps(data))
    for image in number_ids["images"]:
        image["id"] = int(image["id"])
    placeless = json.loads(json.dumps(data))
    del placeless["images"][0]["location"]
    options = IntegrityCheckOptions()
    options.verbose = False
    for broken in (number_ids, placeless):
        with pytest.raises(AssertionError):
            integrity_check_json_db(broken, options)


def test_each_photo_names_its_deployment_time_and_frame(proto: Protocol) -> None:
    pond, event, data = _coco(proto)
    images = sorted(data["images"], key=lambda i: i["file_name"])
    assert [i["file_name"] for i in images] == [f"Pond/frame-{n:02d}.jpg" for n in range(10)]
    assert {(i["location"], i["seq_id"], i["seq_num_frames"]) for i in images} == {
        (str(pond), str(event), 10)
    }
    assert [i["frame_num"] for i in images] == list(range(10))
    assert [i["datetime"] for i in images] == [f"2024-03-01T21:30:{n:02d}+03:00" for n in range(10)]
    assert all(isinstance(i["id"], str) for i in images)
    assert all(isinstance(a["id"], str) and isinstance(a["image_id"], str)
               for a in data["annotations"])  # fmt: skip


def test_pycocotools_evaluates_the_export_against_itself(proto: Protocol, tmp_path: Path) -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    _, _, data = _coco(proto)
    path = tmp_path / "truth.json"
    path.write_text(json.dumps(data))
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(path))
        found = truth.loadRes(
            [{k: a[k] for k in ("image_id", "category_id", "bbox", "score")}
             for a in data["annotations"]]
        )  # fmt: skip
        evaluation = COCOeval(truth, found, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)  # AP at IoU 0.50:0.95
