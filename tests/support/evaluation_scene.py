"""The evaluation scene the evaluation-set tests (API, pages, browser) build through the API:
three photos of a pond a day apart, two versions of one imported detector and classifier, and
what people identified, confirmed, rejected and drew.

Photos are 640 x 480, one an event. Version 1 (``md_v5a`` + a classifier) found, with the
classifier's ranked labels (cin: Ardea cinerea, alba: Ardea alba):

- frame-00: A (64, 48, 192, 144) cin .8 / alba .2; B (384, 240, 512, 336) alba .6 / cin .4
- frame-01: C (64, 48, 192, 144) cin .7 / alba .3; F (384, 288, 480, 384), box score 0.1
  (under the import's threshold, 0.2)
- frame-02: D (192, 144, 320, 240) alba .9 / cin .1; E (448, 48, 512, 96) cin .9 / alba .1;
  J (32, 360, 96, 432), "animal", no classification

People then identified A as cin (and as alba, withdrawn), B as cin, C as alba, D as cin then
alba; rejected E (a false detection), confirmed J, and drew G on frame-01 where F is.

Version 2 (``md_v5b``, same classifier) ran on frame-00 and frame-02 only:

- frame-00: A' (70.4, 48, 198.4, 144) cin .9 (one label); H (512, 48, 576, 96) alba .9
- frame-02: D' (192, 144, 320, 240) cin .6 / alba .4; E' (448, 48, 512, 96) cin .5, box .3
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    TAXA_CSV,
    add_frames,
    find_taxon,
    import_md,
    import_taxa,
    new_deployment,
    track_all,
)
from trapline.domain.processing.results import Box
from trapline.services.core.access import authenticate
from trapline.services.review.reviews import add_missing_box

#: The herons' list, with a genus and species nobody identifies in the scene.
POND_TAXA = (
    TAXA_CSV + "Egretta,genus,Ardeidae,2480819,\nEgretta garzetta,species,Egretta,2480822,\n"
)
CLASSES = {"1": "Ardea cinerea", "2": "Ardea alba"}


def _box(x: float, y: float, w: float, h: float, conf: float, *classes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"category": "1", "conf": conf, "bbox": [x, y, w, h]}
    if classes:
        found["classifications"] = [list(c) for c in classes]
    return found


VERSION_1 = {
    "Pond/frame-00.jpg": [
        _box(0.1, 0.1, 0.2, 0.2, 0.9, ("1", 0.8), ("2", 0.2)),
        _box(0.6, 0.5, 0.2, 0.2, 0.9, ("2", 0.6), ("1", 0.4)),
    ],
    "Pond/frame-01.jpg": [
        _box(0.1, 0.1, 0.2, 0.2, 0.9, ("1", 0.7), ("2", 0.3)),
        _box(0.6, 0.6, 0.15, 0.2, 0.1, ("1", 0.9)),
    ],
    "Pond/frame-02.jpg": [
        _box(0.3, 0.3, 0.2, 0.2, 0.9, ("2", 0.9), ("1", 0.1)),
        _box(0.7, 0.1, 0.1, 0.1, 0.8, ("1", 0.9), ("2", 0.1)),
        _box(0.05, 0.75, 0.1, 0.15, 0.7),
    ],
}
VERSION_2 = {
    "Pond/frame-00.jpg": [
        _box(0.11, 0.1, 0.2, 0.2, 0.9, ("1", 0.9)),
        _box(0.8, 0.1, 0.1, 0.1, 0.7, ("2", 0.9)),
    ],
    "Pond/frame-02.jpg": [
        _box(0.3, 0.3, 0.2, 0.2, 0.9, ("1", 0.6), ("2", 0.4)),
        _box(0.7, 0.1, 0.1, 0.1, 0.3, ("1", 0.5)),
    ],
}


@dataclass(frozen=True)
class Pond:
    """The scene: the deployment, its photos, the pipeline's slug, the two taxa's ids and
    version 1's boxes by letter (annotation ids)."""

    deployment: int
    photos: list[int]
    slug: str
    cinerea: int
    alba: int
    boxes: dict[str, int]


def pond(proto: Protocol) -> Pond:
    """Version 1 imported and tracked, and what people said of its boxes (version 2 is
    ``second_version``)."""
    assert import_taxa(proto, POND_TAXA).status_code == 200
    deployment = new_deployment(proto, "Pond")
    photos = add_frames(proto, deployment, 3, timedelta(days=1), size=(640, 480))
    made = import_md(proto, VERSION_1, classes=CLASSES)
    assert made["pipeline_version"] == 1, made
    track_all(proto)
    cinerea, alba = find_taxon(proto, "Ardea cinerea"), find_taxon(proto, "Ardea alba")
    found = api_get(
        proto, f"/projects/{proto.project_id}/annotations", type="bounding_box", limit=100
    )["results"]
    corners = {
        (a["image_id"], round(a["bbox"]["x1"]), round(a["bbox"]["y1"])): a["id"] for a in found
    }
    f0, f1, f2 = photos
    boxes = {
        "A": corners[(f0, 64, 48)], "B": corners[(f0, 384, 240)], "C": corners[(f1, 64, 48)],
        "F": corners[(f1, 384, 288)], "D": corners[(f2, 192, 144)], "E": corners[(f2, 448, 48)],
        "J": corners[(f2, 32, 360)],
    }  # fmt: skip

    def identify(letter: str, taxon: int) -> int:
        made = api_post(
            proto, f"/annotations/{boxes[letter]}/identifications", {"taxon_id": taxon}, 201
        )
        return int(made["id"])

    identify("A", cinerea)
    api_post(proto, f"/identifications/{identify('A', alba)}/withdraw", {})
    identify("B", cinerea)
    identify("C", alba)
    identify("D", cinerea)
    identify("D", alba)
    api_post(proto, f"/annotations/{boxes['E']}/reviews", {"verdict": "false_detection"}, 201)
    api_post(proto, f"/annotations/{boxes['J']}/reviews", {"verdict": "confirm"}, 201)
    person = authenticate(proto.platform.db, proto.account.token)
    add_missing_box(proto.platform.db, person, f1, Box(384.0, 288.0, 480.0, 384.0), "heron")
    slug = str(made["pipeline"])
    return Pond(deployment, photos, slug, cinerea, alba, boxes)


def second_version(proto: Protocol) -> None:
    """Version 2 imported (on frame-00 and frame-02) and tracked."""
    made = import_md(proto, VERSION_2, detector="md_v5b.0.0.pt", classes=CLASSES)
    assert made["pipeline_version"] == 2, made
    track_all(proto)


def new_set(proto: Protocol, name: str, **scope: Any) -> dict[str, Any]:
    """An evaluation set of the project made through the API; its answer (201)."""
    body = {"name": name, **scope}
    return dict(api_post(proto, f"/projects/{proto.project_id}/evaluation-sets", body, 201))


def scores(proto: Protocol, set_id: int, slug: str, version: int) -> dict[str, Any]:
    """A version's scores on a set, as the API answers them."""
    return dict(api_get(proto, f"/evaluation-sets/{set_id}/scores", pipeline=slug, version=version))
