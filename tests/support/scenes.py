"""Scenes the occurrence, taxa, export, web and browser tests build through the API: a
deployment in a zone, frames of one scene, MegaDetector boxes imported, tracking run, what the
API answers; the heron burst and the taxa list that names it."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from typing import Any

from tests.support.accounts import upload
from tests.support.photos import kept_jpeg
from tests.support.protocol_client import Protocol, api_get, api_post
from trapline.services.ecology.tracking import track_due

API = "/api/v2"
DAR = "Africa/Dar_es_Salaam"
T0 = datetime(2024, 3, 1, 21, 30, 0)


def new_deployment(proto: Protocol, name: str = "Pond", zone: str = DAR) -> int:
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={"name": name, "time_zone": zone},
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def add_frames(
    proto: Protocol,
    deployment: int,
    count: int,
    step: timedelta,
    *,
    size: tuple[int, int],
    seed: int = 7,
) -> list[int]:
    """``count`` photos of one scene (one seed) ``step`` apart, named frame-00.jpg, ...; each
    saved at another JPEG quality, so that no two are the same file."""
    width, height = size
    files = [
        (
            f"frame-{i:02d}.jpg",
            kept_jpeg(seed, width=width, height=height, captured_at=T0 + i * step, quality=80 + i),
        )
        for i in range(count)
    ]
    body = upload(
        proto.client, proto.account, proto.project_id, *files, deployment_id=str(deployment)
    )
    assert body["status"] == 201, body
    return [r["id"] for r in body["results"]]


def import_md(
    proto: Protocol,
    per_file: dict[str, list[dict[str, Any]]],
    *,
    detector: str = "md_v5a.0.0.pt",
    classes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """MegaDetector output imported (``classes``: its classification categories, for boxes
    that carry ``classifications``); the import's report."""
    data: dict[str, Any] = {
        "info": {"format_version": "1.4", "detector": detector},
        "detection_categories": {"1": "animal", "2": "person"},
        "images": [{"file": name, "detections": found} for name, found in per_file.items()],
    }
    if classes:
        data["classification_categories"] = classes
        data["info"]["classifier"] = "species classifier"
    answer = proto.client.post(
        f"{API}/projects/{proto.project_id}/imports/megadetector",
        files={"file": ("md.json", io.BytesIO(json.dumps(data).encode()), "application/json")},
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def track_all(proto: Protocol) -> int:
    return track_due(proto.platform.db, proto.platform.store)


def regroup(proto: Protocol, rule: str, gap_seconds: int | None = None) -> list[int]:
    """The project's event rule changed, its regrouping and tracking run: the events of its
    first deployment."""
    body: dict[str, Any] = {"rule": rule}
    if gap_seconds is not None:
        body["gap_seconds"] = gap_seconds
    answer = proto.client.put(
        f"{API}/projects/{proto.project_id}/event-rule", json=body, headers=proto.headers
    )
    assert answer.status_code == 200, answer.text
    assert proto.platform.regroupings.wait_idle(30)
    track_all(proto)
    pond = api_get(proto, f"/projects/{proto.project_id}/deployments")["results"][0]["id"]
    return [e["id"] for e in api_get(proto, f"/deployments/{pond}/events")["results"]]


def event_of(proto: Protocol, deployment: int) -> int:
    found = proto.client.get(f"{API}/deployments/{deployment}/events", headers=proto.headers)
    assert found.status_code == 200, found.text
    assert found.json()["count"] == 1, found.json()
    return int(found.json()["results"][0]["id"])


def occurrences_of(proto: Protocol, event: int) -> list[dict[str, Any]]:
    found = proto.client.get(
        f"{API}/events/{event}/occurrences", params={"limit": 100}, headers=proto.headers
    )
    assert found.status_code == 200, found.text
    return list(found.json()["results"])


def detail_of(proto: Protocol, occurrence: int) -> dict[str, Any]:
    found = proto.client.get(f"{API}/occurrences/{occurrence}", headers=proto.headers)
    assert found.status_code == 200, found.text
    return dict(found.json())


def heron(proto: Protocol) -> tuple[int, int]:
    """Ten frames a second apart at a pond in Dar es Salaam (with coordinates, as Camtrap DP
    needs): a bird walking right a little each frame, and a person far off in the fifth, as
    MegaDetector output, tracked. The deployment and its one event."""
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={"name": "Pond", "time_zone": DAR, "latitude": -6.8, "longitude": 39.28},
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    pond = int(made.json()["id"])
    add_frames(proto, pond, 10, timedelta(seconds=1), size=(640, 480))
    boxes = {
        f"Pond/frame-{i:02d}.jpg": [
            {"category": "1", "conf": 0.8 + i / 100, "bbox": [0.2 + i * 0.01, 0.3, 0.2, 0.3]}
        ]
        for i in range(10)
    }
    boxes["Pond/frame-04.jpg"].append({"category": "2", "conf": 0.7, "bbox": [0.8, 0.8, 0.1, 0.1]})
    import_md(proto, boxes)
    assert track_all(proto) == 1
    return pond, event_of(proto, pond)


def heron_in_two_bursts(proto: Protocol, name: str = "Pond") -> int:
    """A heron in four frames, then two minutes later in five more, walking right, at a pond in
    Dar es Salaam, as MegaDetector output (not grouped or tracked yet): the deployment."""
    pond = api_post(
        proto, f"/projects/{proto.project_id}/deployments", {"name": name, "time_zone": DAR}, 201
    )["id"]
    times = [T0 + timedelta(seconds=s) for s in range(4)]
    times += [T0 + timedelta(seconds=120 + s) for s in range(5)]
    frames = [
        (f"frame-{i:02d}.jpg", kept_jpeg(7, width=640, height=480, captured_at=at))
        for i, at in enumerate(times)
    ]
    sent = upload(proto.client, proto.account, proto.project_id, *frames, deployment_id=str(pond))
    assert sent["status"] == 201, sent
    boxes = {
        f"{name}/frame-{i:02d}.jpg": [
            {"category": "1", "conf": 0.8, "bbox": [0.1 + i * 0.005, 0.1, 0.2, 0.3]}
        ]
        for i in range(9)
    }
    import_md(proto, boxes)
    return int(pond)


def heron_in_two_versions(proto: Protocol) -> tuple[int, str]:
    """The heron's ten frames from MegaDetector v5a, then five of them again from v5b (version
    2 of the same import pipeline), tracked: the deployment and the pipeline it counts by."""
    pond, _ = heron(proto)
    slug = str(api_get(proto, f"/deployments/{pond}")["counting_pipeline"])
    five = {
        f"Pond/frame-{i:02d}.jpg": [
            {"category": "1", "conf": 0.9, "bbox": [0.2 + i * 0.01, 0.3, 0.2, 0.3]}
        ]
        for i in range(5)
    }
    assert import_md(proto, five, detector="md_v5b.0.0.pt")["pipeline_version"] == 2
    track_all(proto)
    return pond, slug


def heron_event(proto: Protocol) -> tuple[int, int]:
    """The project's one deployment and its first event (the heron's)."""
    (deployment,) = api_get(proto, f"/projects/{proto.project_id}/deployments")["results"]
    events = api_get(proto, f"/deployments/{deployment['id']}/events")["results"]
    return deployment["id"], events[0]["id"]


#: A taxa list from the kingdom down to the heron and the egret, with GBIF keys and English names.
TAXA_CSV = """scientific_name,rank,parent,gbif_key,vernacular_name:en
Animalia,kingdom,,1,Animals
Chordata,phylum,Animalia,44,
Aves,class,Chordata,212,Birds
Pelecaniformes,order,Aves,1446,
Ardeidae,family,Pelecaniformes,5272,Herons
Ardea,genus,Ardeidae,2480813,
Ardea cinerea,species,Ardea,2480830,Grey Heron
Ardea alba,species,Ardea,2480816,Great Egret
"""


def import_taxa(proto: Protocol, text: str | bytes, name: str = "taxa.csv") -> Any:
    """POST a taxa file to the project; the response."""
    data = text.encode() if isinstance(text, str) else text
    return proto.client.post(
        f"{API}/projects/{proto.project_id}/taxa",
        files={"file": (name, io.BytesIO(data), "text/csv")},
        headers=proto.headers,
    )


def find_taxon(proto: Protocol, name: str) -> int:
    """The id of the project's taxon of that scientific name."""
    (found,) = [t for t in api_get(proto, f"/projects/{proto.project_id}/taxa/search", q=name)
                if t["scientific_name"] == name]  # fmt: skip
    return int(found["id"])


def species_rows(proto: Protocol, **params: Any) -> list[tuple[str | None, int, int]]:
    """The species view: (taxon's name or None, occurrences, detections) per row."""
    rows = api_get(proto, f"/projects/{proto.project_id}/species", **params)["results"]
    return [
        (r["taxon"]["scientific_name"] if r["taxon"] else None, r["occurrences"], r["detections"])
        for r in rows
    ]


#: Where the six boxes of the scene's photo are (MegaDetector's relative x, y, w, h), and their
#: categories: four animals, two people.
BOXES = [
    ([0.05 + 0.3 * (n % 3), 0.1 + 0.5 * (n // 3), 0.1, 0.1], "1" if n < 4 else "2")
    for n in range(6)
]


def six_occurrences(proto: Protocol, name: str = "Pond") -> list[dict[str, Any]]:
    """One photo of six individuals far apart (four animals, two people) as MegaDetector
    output, tracked: its occurrences, in order of their ids."""
    deployment = new_deployment(proto, name)
    add_frames(proto, deployment, 1, timedelta(seconds=1), size=(640, 480))
    detections = [
        {"category": c, "conf": 0.6 + n / 20, "bbox": b} for n, (b, c) in enumerate(BOXES)
    ]
    import_md(proto, {f"{name}/frame-00.jpg": detections})
    assert track_all(proto) == 1
    found = occurrences_of(proto, event_of(proto, deployment))
    assert len(found) == 6
    return sorted(found, key=lambda o: o["id"])
