"""The birds scene the occurrence-level exports are read back from: the pond's heron and a walker
in Dar es Salaam, an egret at a marsh in Paris, the taxa list with its French names, the
project's licence and people."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol
from tests.support.scenes import (
    API,
    add_frames,
    event_of,
    heron,
    import_md,
    new_deployment,
    occurrences_of,
    track_all,
)

TAXA_CSV = """scientific_name,rank,parent,gbif_key,vernacular_name:en,vernacular_name:fr
Animalia,kingdom,,1,Animals,
Chordata,phylum,Animalia,44,,
Aves,class,Chordata,212,Birds,Oiseaux
Pelecaniformes,order,Aves,1446,,
Ardeidae,family,Pelecaniformes,5272,Herons,
Ardea,genus,Ardeidae,2480813,,
Ardea cinerea,species,Ardea,2480830,Grey Heron,Héron cendré
Ardea alba,species,Ardea,2480816,Great Egret,
"""

CONTACTS = [
    {"name": "Olive Ashworth", "email": "olive@example.org", "organisation": "Pond Watch",
     "role": "creator"},
    {"name": "Sam Reed", "email": "sam@example.org", "role": "contact"},
    {"name": "Kim Lee", "organisation": "Marsh Lab", "role": "principalInvestigator"},
]  # fmt: skip


@dataclass
class Birds:
    """The pond's heron (the model's, mapped to Ardea cinerea) and a person walking by (label
    ``person``, no taxon), in Dar es Salaam with coordinates; an egret at a marsh in Paris
    without coordinates, identified by Olive as Ardea alba."""

    proto: Protocol
    pond: int
    marsh: int
    pond_event: int
    marsh_event: int
    heron: dict[str, Any]
    walker: dict[str, Any]
    egret: dict[str, Any]
    taxa: dict[str, int]

    @property
    def seeded(self) -> Seeded:
        return Seeded(self.proto, self.proto.project_id, {}, {}, {})

    def urn(self, occurrence: dict[str, Any], kind: str = "occurrence") -> str:
        """The id the archive publishes: the installation's UUID makes it unique anywhere."""
        with self.proto.platform.db.read() as repos:
            installation = repos.core.projects.installation()
        assert len(installation) == 36
        return f"urn:trapline:{installation}:{kind}:{occurrence['id']}"


def api_call(proto: Protocol, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    """Call an API path as the project's account; the JSON of its answer, which must have
    ``status``."""
    answer = proto.client.request(method, f"{API}{path}", headers=proto.headers, **kwargs)
    assert answer.status_code == status, answer.text
    return answer.json()


def birds(proto: Protocol) -> Birds:
    """The scene, tracked, its taxa imported, ``animal`` mapped, the egret identified, and
    the project's licence and people set."""
    pond, pond_event = heron(proto)
    marsh = new_deployment(proto, "Marsh", zone="Europe/Paris")
    add_frames(proto, marsh, 3, timedelta(seconds=2), size=(640, 480), seed=11)
    import_md(
        proto,
        {
            f"Marsh/frame-{i:02d}.jpg": [
                {"category": "1", "conf": 0.6 + i / 10, "bbox": [0.4, 0.3, 0.2, 0.25]}
            ]
            for i in range(3)
        },
    )
    assert track_all(proto) == 1
    marsh_event = event_of(proto, marsh)
    pid = proto.project_id
    api_call(proto, "POST", f"/projects/{pid}/taxa",
          files={"file": ("taxa.csv", io.BytesIO(TAXA_CSV.encode()), "text/csv")})  # fmt: skip
    taxa = {t["scientific_name"]: t["id"] for t in api_call(proto, "GET", f"/projects/{pid}/taxa")[
        "results"]}  # fmt: skip
    api_call(proto, "POST", f"/projects/{pid}/labels",
          json={"label": "animal", "taxon_id": taxa["Ardea cinerea"]})  # fmt: skip
    (egret,) = occurrences_of(proto, marsh_event)
    api_call(proto, "POST", f"/occurrences/{egret['id']}/identifications", 201,
          json={"taxon_id": taxa["Ardea alba"]})  # fmt: skip
    api_call(
        proto, "PATCH", f"/projects/{pid}", json={"licence": "CC-BY-4.0", "contacts": CONTACTS}
    )
    found = occurrences_of(proto, pond_event)
    return Birds(
        proto, pond, marsh, pond_event, marsh_event,
        next(o for o in found if o["detection_count"] == 10),
        next(o for o in found if o["detection_count"] == 1),
        api_call(proto, "GET", f"/occurrences/{egret['id']}"),
        taxa,
    )  # fmt: skip


def best_image(scene: Birds, occurrence: dict[str, Any]) -> int:
    """The photo of an occurrence's best detection."""
    found = api_call(scene.proto, "GET", f"/occurrences/{occurrence['id']}")["detections"]
    (image,) = [
        d["image_id"] for d in found if d["annotation_id"] == occurrence["best_detection_id"]
    ]
    return int(image)


def placed_birds(proto: Protocol) -> Birds:
    """The birds scene with the marsh given coordinates (Camtrap DP needs them)."""
    scene = birds(proto)
    answer = proto.client.patch(
        f"{API}/deployments/{scene.marsh}",
        json={"latitude": 48.85, "longitude": 2.35},
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    return scene
