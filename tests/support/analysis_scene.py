"""The small scene the listing and count-table tests work out by hand: two deployments, two
nights, two heron species under one genus, a box the list does not name, one occurrence a
person identified (as the genus), and a second pipeline whose occurrence is never counted.

Both deployments are in Dar es Salaam (UTC+3). Seven occurrences of the counting pipeline
(``md_v5a``), each one box in one photo, far from the others:

| name | deployment | first seen (local) | night | taxon | by | score |
| --- | --- | --- | --- | --- | --- | --- |
| n1 | North | 03-01 21:30 | 03-01 | Ardea cinerea | model | 0.90 |
| n2 | North | 03-01 21:30 | 03-01 | Ardea cinerea | model | 0.60 |
| s1 | South | 03-01 22:10 | 03-01 | Ardea alba | model | 0.80 |
| s2 | South | 03-01 22:10 | 03-01 | (label ``animal``) | model | 0.75 |
| n3 | North | 03-02 01:30 | 03-01 | Ardea alba | model | 0.70 |
| n4 | North | 03-02 21:30 | 03-02 | Ardea cinerea | model | 0.95 |
| s3 | South | 03-02 23:05 | 03-02 | Ardea (genus; a person) | person | none |

The project groups photos into 60 s sequences, so each photo is an event of its own: five
events, North's at 03-02 01:30 in the night of 03-01. The second pipeline (``heron-net``) saw one
heron in North's first photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.support.accounts import upload
from tests.support.photos import kept_jpeg
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    TAXA_CSV,
    find_taxon,
    import_md,
    import_taxa,
    new_deployment,
    track_all,
)

#: The species classifier's categories.
CLASSES = {"1": "Ardea cinerea", "2": "Ardea alba"}
#: Where boxes sit (MegaDetector's relative x, y, w, h): far apart, so none is linked to another.
LEFT, RIGHT, MIDDLE = [0.05, 0.1, 0.1, 0.1], [0.65, 0.6, 0.1, 0.1], [0.35, 0.6, 0.1, 0.1]


def _heron(species: str, score: float, bbox: list[float]) -> dict[str, Any]:
    return {"category": "1", "conf": 0.9, "bbox": bbox, "classifications": [[species, score]]}


#: Each photo: deployment, file name, capture time, and the counting pipeline's boxes.
PHOTOS = [
    ("North", "n-0301-2130.jpg", datetime(2024, 3, 1, 21, 30),
     [_heron("1", 0.9, LEFT), _heron("1", 0.6, RIGHT)]),
    ("North", "n-0302-0130.jpg", datetime(2024, 3, 2, 1, 30), [_heron("2", 0.7, MIDDLE)]),
    ("North", "n-0302-2130.jpg", datetime(2024, 3, 2, 21, 30), [_heron("1", 0.95, LEFT)]),
    ("South", "s-0301-2210.jpg", datetime(2024, 3, 1, 22, 10),
     [_heron("2", 0.8, LEFT), {"category": "1", "conf": 0.75, "bbox": RIGHT}]),
    ("South", "s-0302-2305.jpg", datetime(2024, 3, 2, 23, 5), [_heron("1", 0.65, MIDDLE)]),
]  # fmt: skip


@dataclass(frozen=True)
class Scene:
    """The scene's ids."""

    north: int
    south: int
    #: The occurrences by their name in the table above.
    occurrences: dict[str, int]
    #: Events (60 s sequences: one a photo) by their photo's local time, "03-01T21:30".
    events: dict[str, int]
    taxa: dict[str, int]
    #: The counting pipeline, and the other one.
    counted: str
    other: str


def build_scene(proto: Protocol) -> Scene:
    """Make the scene in the project, tracked, with the person's identification."""
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    taxa = {name: find_taxon(proto, name) for name in ("Ardea", "Ardea cinerea", "Ardea alba")}
    deployments = {name: new_deployment(proto, name) for name in ("North", "South")}
    for place, filename, when, _ in PHOTOS:
        photo = kept_jpeg(len(filename) + when.hour, width=640, height=480, captured_at=when)
        body = upload(proto.client, proto.account, proto.project_id, (filename, photo),
                      deployment_id=str(deployments[place]))  # fmt: skip
        assert body["status"] == 201, body
    import_md(proto, {f"{p}/{f}": boxes for p, f, _, boxes in PHOTOS}, classes=CLASSES)
    import_md(
        proto,
        {"North/n-0301-2130.jpg": [_heron("1", 0.9, LEFT)]},
        detector="heron-net.pt",
        classes=CLASSES,
    )
    track_all(proto)
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    counted = counting["pipeline"]
    (other,) = [p["pipeline"] for p in counting["pipelines"] if p["pipeline"] != counted]
    events: dict[str, int] = {}
    named: dict[str, int] = {}
    for place, deployment in deployments.items():
        for event in api_get(proto, f"/deployments/{deployment}/events")["results"]:
            events[event["start"][5:16]] = event["id"]
            found = api_get(proto, f"/events/{event['id']}/occurrences", limit=100)["results"]
            for o in found:
                named[_name_of(place, o)] = o["id"]
    assert len(named) == 7, named
    api_post(proto, f"/occurrences/{named['s3']}/identifications", {"taxon_id": taxa["Ardea"]}, 201)
    return Scene(deployments["North"], deployments["South"], named, events, taxa, counted, other)


def _name_of(place: str, occurrence: dict[str, Any]) -> str:
    """An occurrence's name in the scene's table, from where and when it was seen and its
    score."""
    seen = occurrence["first_seen"][5:16]
    score = occurrence["determination"]["score"]
    return {
        ("North", "03-01T21:30", 0.9): "n1",
        ("North", "03-01T21:30", 0.6): "n2",
        ("North", "03-02T01:30", 0.7): "n3",
        ("North", "03-02T21:30", 0.95): "n4",
        ("South", "03-01T22:10", 0.8): "s1",
        ("South", "03-01T22:10", 0.75): "s2",
        ("South", "03-02T23:05", 0.65): "s3",
    }[(place, seen, score)]
