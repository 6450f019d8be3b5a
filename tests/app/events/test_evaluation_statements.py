"""Freezing and scoring an evaluation set are bounded: the statements they send do not grow
with the identified boxes (a set of 60 costs what a set of 4 does), only with the photos, a
few hundred at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.evaluation_scene import CLASSES, POND_TAXA
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    add_frames,
    find_taxon,
    import_md,
    import_taxa,
    new_deployment,
    occurrences_of,
    track_all,
)
from tests.support.statements import statements_sent


def _birds(per_photo: int) -> list[dict[str, Any]]:
    """``per_photo`` boxes far apart, each a heron to the classifier."""
    return [
        {
            "category": "1",
            "conf": 0.9,
            "bbox": [0.02 + 0.16 * (n % 6), 0.02 + 0.18 * (n // 6), 0.08, 0.08],
            "classifications": [["1", 0.7], ["2", 0.3]],
        }
        for n in range(per_photo)
    ]


def _identified_place(proto: Protocol, name: str, per_photo: int) -> int:
    """A deployment of two photos a day apart with ``per_photo`` birds each, every one
    identified as a grey heron."""
    place = new_deployment(proto, name)
    add_frames(proto, place, 2, timedelta(days=1), size=(640, 480), seed=per_photo)
    found = {f"{name}/frame-{i:02d}.jpg": _birds(per_photo) for i in range(2)}
    import_md(proto, found, classes=CLASSES)
    track_all(proto)
    events = api_get(proto, f"/deployments/{place}/events")["results"]
    ids = [o["id"] for e in events for o in occurrences_of(proto, e["id"])]
    assert len(ids) == 2 * per_photo
    body = {"occurrence_ids": ids, "taxon_id": find_taxon(proto, "Ardea cinerea")}
    api_post(proto, f"/projects/{proto.project_id}/identifications", body, 201)
    return place


def test_freezing_and_scoring_send_as_many_statements_for_60_boxes_as_for_4(
    proto: Protocol,
) -> None:
    assert import_taxa(proto, POND_TAXA).status_code == 200
    small = _identified_place(proto, "Small", 2)
    big = _identified_place(proto, "Big", 30)
    sent: dict[str, tuple[int, int]] = {}
    for name, place, size in (("small", small, 4), ("big", big, 60)):
        with statements_sent(proto.platform.db.engine) as freezing:
            body = {"name": name, "deployment_id": place}
            made = api_post(proto, f"/projects/{proto.project_id}/evaluation-sets", body, 201)
        assert made["size"] == size
        slug = api_get(proto, f"/deployments/{place}")["counting_pipeline"]
        with statements_sent(proto.platform.db.engine) as scoring:
            found = api_get(proto, f"/evaluation-sets/{made['id']}/scores", pipeline=slug)
        assert (found["seen"], found["correct"]) == (size, size)
        sent[name] = (len(freezing), len(scoring))
    assert sent["big"] == sent["small"], sent
