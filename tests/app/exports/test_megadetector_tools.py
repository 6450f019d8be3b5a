"""MegaDetector output read by MegaDetector's own tools (``megadetector-utils``): the
threshold the model counts from goes out as ``detector_metadata``, and ``md_to_coco`` turns
the file into COCO without the photos, from the sizes the file gives."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol
from tests.support.scenes import API, add_frames, new_deployment

#: A heron and a speck MegaDetector scored low, on a 640 x 480 photo.
BOXES = [
    {"category": "1", "conf": 0.9, "bbox": [0.2, 0.3, 0.2, 0.3]},
    {"category": "1", "conf": 0.08, "bbox": [0.7, 0.1, 0.05, 0.05]},
]


def _imported(proto: Protocol, threshold: str) -> Seeded:
    """One photo of the pond with MegaDetector's two boxes imported, the model counting from
    ``threshold`` (given with the import)."""
    pond = new_deployment(proto, "Pond")
    add_frames(proto, pond, 1, timedelta(seconds=1), size=(640, 480))
    data = {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal"},
        "images": [{"file": "Pond/frame-00.jpg", "detections": BOXES}],
    }
    answer = proto.client.post(
        f"{API}/projects/{proto.project_id}/imports/megadetector",
        files={"file": ("md.json", io.BytesIO(json.dumps(data).encode()), "application/json")},
        data={"threshold": threshold},
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    return Seeded(proto, proto.project_id, {"Pond": pond}, {}, {})


def test_megadetectors_tools_read_the_threshold_and_convert_without_the_photos(
    proto: Protocol, tmp_path: Path
) -> None:
    pytest.importorskip("megadetector")
    from megadetector.detection.run_detector import get_typical_confidence_threshold_from_results
    from megadetector.postprocessing.md_to_coco import md_to_coco

    seeded = _imported(proto, "0.05")
    done = seeded.export(format="megadetector")
    assert done["status"] == "succeeded", done
    path = tmp_path / "md.json"
    path.write_bytes(seeded.download(done["id"]))
    data = json.loads(path.read_text())
    assert data["info"]["detector_metadata"] == {
        "typical_detection_threshold": 0.05,
        "conservative_detection_threshold": 0.05,
    }
    # The model's threshold, not the one MegaDetector's tools would guess from its name (0.2).
    threshold = get_typical_confidence_threshold_from_results(str(path))
    assert threshold == 0.05
    # No photo is on this disk: the sizes come from the file.
    coco = md_to_coco(
        str(path), str(tmp_path / "coco.json"), confidence_threshold=threshold, verbose=False
    )
    (image,) = coco["images"]
    assert (image["width"], image["height"]) == (640, 480)
    boxes = sorted(tuple(round(v, 3) for v in a["bbox"]) for a in coco["annotations"])
    assert boxes == [(128.0, 144.0, 128.0, 144.0), (448.0, 48.0, 32.0, 24.0)]
