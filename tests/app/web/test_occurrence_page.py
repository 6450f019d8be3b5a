"""The occurrence page captions each crop with its photo's local time (to the second within a
burst) and the label that names the detection, with how sure it is."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.support.protocol_client import Protocol
from tests.support.scenes import (
    add_frames,
    event_of,
    heron,
    import_md,
    new_deployment,
    occurrences_of,
    track_all,
)


def _captions(page: str) -> list[str]:
    found = re.findall(r'<span class="caption">(.*?)</span>', page, re.S)
    return [re.sub(r"\s+", " ", c.replace("<br>", " | ")).strip() for c in found]


def test_each_crop_says_when_and_what(client, owner, project_id, jpeg, sign_in) -> None:
    proto = Protocol(client, owner, project_id, jpeg)
    _, event = heron(proto)
    bird = max(occurrences_of(proto, event), key=lambda o: o["detection_count"])
    page = sign_in(owner).page(f"/occurrences/{bird['id']}")
    captions = _captions(page)
    assert len(captions) == 10
    # Ten frames a second apart in one minute: the seconds tell them apart.
    assert captions[0] == "2024-03-01 21:30:00 +03:00 | animal 0.80"
    assert captions[3].startswith("2024-03-01 21:30:03 +03:00 | animal 0.83 · link ")
    assert not any("—" in c for c in captions)


def test_a_classifiers_label_names_the_crop(client, owner, project_id, jpeg, sign_in) -> None:
    proto = Protocol(client, owner, project_id, jpeg)
    pond = new_deployment(proto, "Reeds")
    add_frames(proto, pond, 2, timedelta(minutes=1), size=(640, 480))
    box = {"category": "1", "conf": 0.9, "bbox": [0.2, 0.3, 0.2, 0.3]}
    named = {**box, "classifications": [["1", 0.88]]}
    import_md(
        proto,
        {"Reeds/frame-00.jpg": [named], "Reeds/frame-01.jpg": [box]},
        classes={"1": "Ardea cinerea"},
    )
    assert track_all(proto) == 1
    (occurrence,) = occurrences_of(proto, event_of(proto, pond))
    captions = _captions(sign_in(owner).page(f"/occurrences/{occurrence['id']}"))
    assert captions[0] == "2024-03-01 21:30 +03:00 | Ardea cinerea 0.88"
    assert captions[1].startswith("2024-03-01 21:31 +03:00 | animal 0.90")
    detail = client.get(f"/api/v2/occurrences/{occurrence['id']}", headers=owner.headers).json()
    assert [d["label"] for d in detail["detections"]] == ["Ardea cinerea", "animal"]
