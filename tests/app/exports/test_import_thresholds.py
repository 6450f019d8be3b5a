"""An imported model counts its boxes from a threshold (issue 59, item 6): the one given, else
the file's ``typical_detection_threshold``, else MegaDetector's documented 0.2. Every box is
stored; those under it are counted nowhere, and a later import that moves it counts again."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

from tests.support.protocol_client import Protocol, api_get
from tests.support.scenes import (
    API,
    add_frames,
    event_of,
    new_deployment,
    occurrences_of,
    track_all,
)

HERON = {"category": "1", "conf": 0.9, "bbox": [0.2, 0.3, 0.2, 0.3]}
#: Two specks far from the heron and from each other, as MegaDetector scores leaves.
SPECKS = [
    {"category": "1", "conf": 0.08, "bbox": [0.7, 0.1, 0.05, 0.05]},
    {"category": "1", "conf": 0.08, "bbox": [0.05, 0.8, 0.05, 0.05]},
]


def _file(typical: float | None = None) -> bytes:
    info: dict[str, Any] = {"format_version": "1.4", "detector": "md_v5a.0.0.pt"}
    if typical is not None:
        info["detector_metadata"] = {
            "megadetector_version": "v5a.0.0",
            "typical_detection_threshold": typical,
            "conservative_detection_threshold": typical / 2,
        }
    return json.dumps({
        "info": info,
        "detection_categories": {"1": "animal"},
        "images": [{"file": "Pond/frame-00.jpg", "detections": [HERON, *SPECKS]}],
    }).encode()  # fmt: skip


def _import(proto: Protocol, data: bytes, **form: str) -> dict[str, Any]:
    answer = proto.client.post(
        f"{API}/projects/{proto.project_id}/imports/megadetector",
        files={"file": ("md.json", io.BytesIO(data), "application/json")},
        data=form,
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _pond(proto: Protocol) -> int:
    pond = new_deployment(proto, "Pond")
    add_frames(proto, pond, 1, timedelta(seconds=1), size=(640, 480))
    return event_of(proto, pond)


def _counted(proto: Protocol, event: int) -> list[float]:
    """The event's individuals, by their score, once its due tracking is done."""
    track_all(proto)
    return sorted(o["determination"]["score"] for o in occurrences_of(proto, event))


def _stored(proto: Protocol) -> list[float]:
    """The scores of every box stored in the project."""
    found = api_get(proto, f"/projects/{proto.project_id}/annotations?type=bounding_box")
    return sorted(a["confidence"] for a in found["results"])


def test_an_import_without_a_threshold_counts_no_specks(proto: Protocol) -> None:
    event = _pond(proto)
    report = _import(proto, _file())
    assert (report["threshold"], report["threshold_from"]) == (0.2, "default")
    assert (report["detections_stored"], report["below_threshold"]) == (3, 2)
    assert _counted(proto, event) == [0.9]  # one heron, not three animals
    assert _stored(proto) == [0.08, 0.08, 0.9]  # the specks are kept, counted nowhere


def test_the_files_own_threshold_is_the_models(proto: Protocol) -> None:
    event = _pond(proto)
    report = _import(proto, _file(typical=0.05))
    assert (report["threshold"], report["threshold_from"], report["below_threshold"]) == (
        0.05,
        "file",
        0,
    )
    assert _counted(proto, event) == [0.08, 0.08, 0.9]


def test_a_threshold_given_moves_the_models_and_the_counts_follow(proto: Protocol) -> None:
    event = _pond(proto)
    _import(proto, _file())
    assert _counted(proto, event) == [0.9]
    # The same model imported again (nothing new stored) with a lower threshold given: its
    # boxes from 0.05 count, and the event is tracked again.
    again = _import(proto, _file(), threshold="0.05")
    assert (again["analyses_stored"], again["already_imported"]) == (0, 1)
    assert (again["threshold"], again["threshold_from"]) == (0.05, "given")
    assert _counted(proto, event) == [0.08, 0.08, 0.9]
