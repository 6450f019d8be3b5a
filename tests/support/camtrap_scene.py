"""The small scene camtrapR's tables are worked out on (docs/analysis.md): two stations with
setup and retrieval days, a day without photos, two species, two individuals of a species in
one photo (duplicate records), sightings inside and outside a 30-minute independence
interval. tests/support/camtrap_scene.R computes its tables with camtrapR's own functions.

Both stations are in Dar es Salaam (UTC+3); photos are minutes apart, so each is an event of
its own, and each box an occurrence. Station A is deployed from 1 to 4 March (its start and
end set); station B has no dates, so its photos' days (2 and 3 March) are its setup and
retrieval. The photos of a1 and b1 hold two boxes each (a1 and a1b, b1 and b1b).

| name | station | seen (local) | species | file |
| --- | --- | --- | --- | --- |
| a1, a1b | A | 03-01 20:00 | Ardea cinerea | a-0301-2000.jpg |
| a2 | A | 03-01 20:20 | Ardea cinerea | a-0301-2020.jpg |
| a3 | A | 03-01 20:40 | Ardea cinerea | a-0301-2040.jpg |
| a4 | A | 03-01 20:50 | Ardea alba | a-0301-2050.jpg |
| a5 | A | 03-02 06:00 | Ardea cinerea | a-0302-0600.jpg |
| (none: the gap day) | A | 03-03 | | |
| a6 | A | 03-04 09:00 | Ardea alba | a-0304-0900.jpg |
| b1, b1b | B | 03-02 21:00 | Ardea alba | b-0302-2100.jpg |
| b2 | B | 03-02 21:10 | Ardea alba | b-0302-2110.jpg |
| b3 | B | 03-03 22:00 | Ardea cinerea | b-0303-2200.jpg |

The list also names *Egretta garzetta*, which no photo shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.support.accounts import upload
from tests.support.photos import kept_jpeg
from tests.support.protocol_client import Protocol, api_get
from tests.support.scenes import API, DAR, TAXA_CSV, find_taxon, import_md, import_taxa, track_all

#: The species classifier's categories.
CLASSES = {"1": "Ardea cinerea", "2": "Ardea alba"}
#: The taxa list: the herons' and one species never seen.
TAXA = TAXA_CSV + "Egretta,genus,Ardeidae,2480831,\nEgretta garzetta,species,Egretta,2480834,\n"
GREY, GREAT = "1", "2"

#: Each photo: the occurrence's name, station, capture time, species category.
PHOTOS = [
    ("a1", "A", datetime(2024, 3, 1, 20, 0), GREY),
    ("a1b", "A", datetime(2024, 3, 1, 20, 0), GREY),
    ("a2", "A", datetime(2024, 3, 1, 20, 20), GREY),
    ("a3", "A", datetime(2024, 3, 1, 20, 40), GREY),
    ("a4", "A", datetime(2024, 3, 1, 20, 50), GREAT),
    ("a5", "A", datetime(2024, 3, 2, 6, 0), GREY),
    ("a6", "A", datetime(2024, 3, 4, 9, 0), GREAT),
    ("b1", "B", datetime(2024, 3, 2, 21, 0), GREAT),
    ("b1b", "B", datetime(2024, 3, 2, 21, 0), GREAT),
    ("b2", "B", datetime(2024, 3, 2, 21, 10), GREAT),
    ("b3", "B", datetime(2024, 3, 3, 22, 0), GREY),
]


def file_name(station: str, when: datetime) -> str:
    """A photo's file name: ``a-0301-2000.jpg``."""
    return f"{station.lower()}-{when:%m%d-%H%M}.jpg"


@dataclass(frozen=True)
class CamtrapScene:
    """The scene's ids."""

    a: int
    b: int
    #: The occurrences by their name in the table above.
    occurrences: dict[str, int]
    taxa: dict[str, int]


def build_camtrap_scene(
    proto: Protocol, track: Callable[[Protocol], object] = track_all
) -> CamtrapScene:
    """Make the scene in the project, tracked (``track``: by the test itself, or waiting for
    a running server's duty)."""
    assert import_taxa(proto, TAXA).status_code == 200
    names = ("Ardea", "Ardea cinerea", "Ardea alba", "Egretta garzetta")
    taxa = {name: find_taxon(proto, name) for name in names}
    a = _deployment(proto, "A", started_at="2024-03-01T12:00:00", ended_at="2024-03-04T12:00:00")
    b = _deployment(proto, "B")
    stations = {"A": a, "B": b}
    boxes: dict[str, list[dict[str, Any]]] = {}
    for n, (_, station, when, species) in enumerate(PHOTOS):
        name = file_name(station, when)
        key = f"{station}/{name}"
        if key not in boxes:
            photo = kept_jpeg(n + 3, width=640, height=480, captured_at=when)
            body = upload(proto.client, proto.account, proto.project_id, (name, photo),
                          deployment_id=str(stations[station]))  # fmt: skip
            assert body["status"] == 201, body
        box = [0.1 + 0.08 * n, 0.2, 0.05, 0.05]
        boxes.setdefault(key, []).append(
            {"category": "1", "conf": 0.9, "bbox": box, "classifications": [[species, 0.9]]}
        )
    import_md(proto, boxes, classes=CLASSES)
    track(proto)
    found = api_get(proto, f"/projects/{proto.project_id}/occurrences", limit=100)["results"]
    by_time: dict[tuple[int, str], list[int]] = {}
    for o in sorted(found, key=lambda o: o["id"]):
        by_time.setdefault((o["deployment_id"], o["first_seen"][:16]), []).append(o["id"])
    occurrences = {
        name: by_time[(stations[station], f"{when:%Y-%m-%dT%H:%M}")].pop(0)
        for name, station, when, _ in PHOTOS
    }
    return CamtrapScene(a, b, occurrences, taxa)


def _deployment(proto: Protocol, name: str, **period: str) -> int:
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={"name": name, "time_zone": DAR, **period},
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def csv_of(proto: Protocol, path: str, **params: Any) -> bytes:
    """One of the project's camtrapR tables (``path``) as CSV."""
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/{path}",
        params={**params, "format": "csv"},
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    return answer.content
