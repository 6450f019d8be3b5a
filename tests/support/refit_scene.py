"""The refit scene the refit tests (API, pages) build through the API: nine nights of one trap,
one moth a night. The test pipeline posts a vector of four numbers with each classification,
near (1, 0, 0, 0) for the four grey herons (even nights) and near (0, 1, 0, 0) for the four
great egrets (odd nights; the herons' list stands in for moths), so a head tells them apart on
nights it never saw. The ninth night's individual is a little egret, the only one.

With ``crops``, the pipeline posts no vector: each night's photo (``night_photo``) shows one
moth whose wings are its taxon's colour (rust for the herons, blue for the great egrets, green
for the little egret), and a refit reads trapline's descriptors of its crop
(``crops:moth-test``, decision 074).

The browser tests build the same nights through a real server (``browser_scenes.py``) from
``night_vector``, ``night_photo`` and ``NIGHT_TAXA``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from tests.support.accounts import upload
from tests.support.evaluation_scene import POND_TAXA
from tests.support.protocol import PIPELINE_SLUG, detection, pipeline_config, success
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    API,
    T0,
    add_frames,
    find_taxon,
    import_taxa,
    new_deployment,
    track_all,
)
from trapline.imaging.synthetic import tinted_light_trap_jpeg

#: Seconds a refit of the scene may take.
FIT_WAIT = 60
NIGHTS = 9
#: The taxon people name on even nights, on odd ones, and on the ninth.
NIGHT_TAXA = ("Ardea cinerea", "Ardea alba", "Egretta garzetta")
#: The wings' colour of each taxon's moths on the crop nights.
NIGHT_TONES = ((150, 85, 35), (45, 70, 150), (60, 130, 60))
#: A crop night's photo: big enough for a moth of some 20 to 40 pixels.
CROP_PHOTO = (640, 480)


def night_taxon(night: int) -> str:
    """The taxon of night ``night``'s moth."""
    return NIGHT_TAXA[night % 2 if night < 8 else 2]


def night_vector(night: int, rng: np.random.Generator, *, odd_length: bool = False) -> list[float]:
    """The vector the pipeline posts with night ``night``'s moth: its taxon's corner, a little
    noise (one number longer on the ninth night with ``odd_length``)."""
    vector = [0.0, 0.0, 0.0, 0.0] + ([0.0] if odd_length and night == NIGHTS - 1 else [])
    vector[NIGHT_TAXA.index(night_taxon(night))] = 1.0
    return [round(v + float(rng.normal(0, 0.1)), 4) for v in vector]


def night_photo(night: int) -> tuple[bytes, tuple[float, float, float, float]]:
    """Night ``night``'s photo for a refit on crops: one moth of its taxon's colour (a little
    lighter or darker from night to night), and its box."""
    red, green, blue = NIGHT_TONES[NIGHT_TAXA.index(night_taxon(night))]
    shade = 0.9 + 0.03 * (night % 5)
    tone = (round(red * shade), round(green * shade), round(blue * shade))
    width, height = CROP_PHOTO
    jpeg, (moth,) = tinted_light_trap_jpeg(
        100 + night, [tone], width=width, height=height, captured_at=T0 + timedelta(days=night)
    )
    x1, y1, x2, y2 = moth.box
    return jpeg, (float(x1), float(y1), float(x2), float(y2))


def night_scene(proto: Protocol, *, odd_length: bool = False, crops: bool = False) -> list[int]:
    """The nine nights, one detection each with a vector (with ``crops``: none, on the moth
    of ``night_photo``), tracked: the detections by night."""
    assert import_taxa(proto, POND_TAXA).status_code == 200
    trap = new_deployment(proto, "Sheet", "UTC")
    if crops:
        made = [night_photo(night) for night in range(NIGHTS)]
        files = [(f"night-{n}.jpg", jpeg) for n, (jpeg, _) in enumerate(made)]
        body = upload(proto.client, proto.account, proto.project_id, *files,
                      deployment_id=str(trap))  # fmt: skip
        assert body["status"] == 201, body
        photos = [int(r["id"]) for r in body["results"]]
    else:
        photos = add_frames(proto, trap, NIGHTS, timedelta(days=1), size=(160, 120))
    assert proto.register(pipeline_config()).status_code in (200, 201)
    job = proto.job_that_runs(params={"max_attempts": 1})
    tasks = {int(t["image_id"]): t for t in proto.claim(job["id"], 100)}
    rng = np.random.default_rng(5)
    items = []
    for night, image_id in enumerate(photos):
        if crops:
            found = detection(tasks[image_id], bbox=made[night][1])
        else:
            found = detection(tasks[image_id], bbox=(10, 12, 60, 70))
            vector = night_vector(night, rng, odd_length=odd_length)
            found["classifications"][0]["features"] = vector
        items.append(success(tasks[image_id], found))
    assert {a["status"] for a in proto.post(job["id"], *items)} == {"saved"}
    track_all(proto)
    boxes = api_get(
        proto, f"/projects/{proto.project_id}/annotations", type="bounding_box", limit=100
    )["results"]
    by_photo = {int(b["image_id"]): int(b["id"]) for b in boxes}
    return [by_photo[p] for p in photos]


def identify_nights(proto: Protocol, detections: list[int], nights: range) -> list[int]:
    """Each night's moth of ``nights`` identified as ``night_taxon`` says: the identifications'
    ids."""
    taxa = {name: find_taxon(proto, name) for name in NIGHT_TAXA}
    made = []
    for night in nights:
        body = {"taxon_id": taxa[night_taxon(night)]}
        path = f"/annotations/{detections[night]}/identifications"
        made.append(int(api_post(proto, path, body, 201)["id"]))
    return made


def ask_refit(proto: Protocol, name: str = "Herons", features_from: str = PIPELINE_SLUG) -> Any:
    """POST a refit through the API; the response."""
    return proto.client.post(
        f"{API}/projects/{proto.project_id}/classifiers",
        json={"name": name, "features_from": features_from},
        headers=proto.headers,
    )


def fitted(proto: Protocol, classifier_id: int) -> dict[str, Any]:
    """The refit once the platform's refits are done with it."""
    assert proto.platform.refits.wait_idle(FIT_WAIT), f"refit {classifier_id} went on"
    return dict(api_get(proto, f"/classifiers/{classifier_id}"))
