"""Tracking stores an event's occurrences in a few statements, however many there are: the
first tracking inserts them all at once, a later one that keeps them rewrites them all at once
(the statement count does not grow with the occurrences)."""

from __future__ import annotations

from datetime import timedelta

from tests.support.protocol import LABELS, detection, pipeline_config, success
from tests.support.protocol_client import Protocol
from tests.support.scenes import add_frames, event_of, new_deployment, occurrences_of, track_all
from tests.support.statements import statements_sent

#: Insects on the sheet, each in both photos at the same place, far from one another.
INSECTS = 40


def _post_insects(proto: Protocol, image_ids: list[int]) -> None:
    job = proto.job_that_runs(params={"max_attempts": 1, "reprocess": True})
    tasks = {int(t["image_id"]): t for t in proto.claim(job["id"], 100)}
    boxes = [(40.0 + 90 * (n % 8), 40.0 + 90 * (n // 8), 80.0 + 90 * (n % 8), 80.0 + 90 * (n // 8))
             for n in range(INSECTS)]  # fmt: skip
    items = [
        success(tasks[i], *(detection(tasks[i], bbox=b, label=LABELS[0]) for b in boxes))
        for i in image_ids
    ]
    assert {a["status"] for a in proto.post(job["id"], *items)} == {"saved"}


def test_tracking_sends_a_few_statements_for_many_occurrences(proto: Protocol) -> None:
    trap = new_deployment(proto, "Sheet", "UTC")
    photos = add_frames(proto, trap, 2, timedelta(minutes=1), size=(800, 520))
    assert proto.register(pipeline_config()).status_code in (200, 201)
    _post_insects(proto, photos)
    with statements_sent(proto.platform.db.engine) as first:
        assert track_all(proto) == 1
    found = occurrences_of(proto, event_of(proto, trap))
    assert len(found) >= INSECTS
    assert sum(o["detection_count"] for o in found) == 2 * INSECTS
    # Results posted again: the same boxes, new detections, each occurrence kept (its id).
    _post_insects(proto, photos)
    with statements_sent(proto.platform.db.engine) as again:
        assert track_all(proto) == 1
    assert sorted(o["id"] for o in occurrences_of(proto, event_of(proto, trap))) == sorted(
        o["id"] for o in found
    )
    writes = [s for s, _ in first + again if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert len(writes) < INSECTS // 2, [w[:40] for w in writes]
