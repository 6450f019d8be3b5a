"""Photos taken and kept: a person's identification of an individual outlives the deletion of
the photo its best detection was on (it moves to the individual's other photos); an EXIF
offset of ``Z`` is UTC; a crop of a box along a photo's bottom edge is made whatever the
photo's size (each axis scaled by its own ratio)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from tests.support.accounts import upload
from tests.support.app_client import AppClient
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    API,
    T0,
    TAXA_CSV,
    detail_of,
    find_taxon,
    heron,
    import_md,
    import_taxa,
    new_deployment,
    occurrences_of,
    track_all,
)
from trapline.imaging.synthetic import light_trap_jpeg

_EXIF_IFD = 0x8769


def _exif_jpeg(tags: dict[int, Any], ifd: dict[int, Any] | None = None, seed: int = 0) -> bytes:
    """A small JPEG with these IFD0 tags and these Exif-IFD tags."""
    image = Image.new("RGB", (64, 48), (10 + seed, 120, 200))
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    if ifd:
        sub = exif.get_ifd(_EXIF_IFD)
        for tag, value in ifd.items():
            sub[tag] = value
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _one(proto: Protocol, name: str, data: bytes, **form: str) -> dict[str, Any]:
    body = upload(proto.client, proto.account, proto.project_id, (name, data), **form)
    assert body["status"] == 201, body
    (result,) = body["results"]
    return dict(result)


def _identified_heron(proto: Protocol) -> tuple[int, dict[str, Any]]:
    """The heron scene with the bird identified as a grey heron: its taxon id and the bird."""
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    _, event = heron(proto)
    (bird,) = [o for o in occurrences_of(proto, event) if o["detection_count"] == 10]
    grey = find_taxon(proto, "Ardea cinerea")
    api_post(proto, f"/occurrences/{bird['id']}/identifications", {"taxon_id": grey}, 201)
    return grey, bird


# -- deleting a photo -----------------------------------------------------------------------


def test_deleting_the_best_photo_of_an_identified_bird_keeps_its_name(proto: Protocol) -> None:
    """A person named the heron seen in ten frames; the frame with its best detection is
    deleted. Nine frames still show the bird: the person's word must still name it (the
    identification is what people did, and it was about the animal, not that frame)."""
    _, bird = _identified_heron(proto)
    best = bird["best_detection_id"]
    (frame,) = {
        d["image_id"] for d in detail_of(proto, bird["id"])["detections"]
        if d["annotation_id"] == best
    }  # fmt: skip
    gone = proto.client.delete(f"{API}/images/{frame}", headers=proto.headers)
    assert gone.status_code == 204, gone.text
    track_all(proto)
    deployment = bird["deployment_id"]
    (event,) = api_get(proto, f"/deployments/{deployment}/events")["results"]
    (left,) = [o for o in occurrences_of(proto, event["id"]) if o["detection_count"] == 9]
    assert left["determination"]["by"] == "person", left["determination"]
    assert left["determination"]["label"] == "Ardea cinerea"
    (kept,) = api_get(proto, f"/occurrences/{left['id']}/identifications")
    assert kept["taxon"]["scientific_name"] == "Ardea cinerea"


# -- phone photos' EXIF ----------------------------------------------------------------------


def test_an_exif_offset_of_z_is_utc_not_the_deployments_zone(proto: Protocol) -> None:
    """OffsetTimeOriginal "Z" says the time is UTC (as ISO 8601 writes it, and as some phone
    apps and converters fill the tag): it is the file's own offset, which docs/web.md says
    is kept whatever the deployment's zone says. Read in Dar es Salaam instead, the photo is
    put three hours early."""
    pond = api_post(
        proto,
        f"/projects/{proto.project_id}/deployments",
        {"name": "Pond", "time_zone": "Africa/Dar_es_Salaam"},
        201,
    )["id"]
    data = _exif_jpeg({}, {36867: "2024:06:21 22:00:00", 36881: "Z"})
    got = _one(proto, "phone.jpg", data, deployment_id=str(pond))
    assert got["captured_at"] in ("2024-06-21T22:00:00Z", "2024-06-21T22:00:00+00:00"), got


# -- crops -----------------------------------------------------------------------------------


def test_a_wide_box_at_the_bottom_of_a_photo_has_a_crop(proto: Protocol) -> None:
    """A 640 x 481 photo (any size whose shrunk height rounds down) and a box across its
    lower half: the crop is shrunk to 256 px wide, and the region asked of the 256 x 192
    preview runs to 192.4 px, past its edge. Pillow refuses the resize (ValueError): the
    crop is answered 500, and the identification pages show no picture of the animal."""
    pond = new_deployment(proto, "Pond")
    photo = light_trap_jpeg(5, width=640, height=481, captured_at=T0)
    _one(proto, "wide.jpg", photo, deployment_id=str(pond))
    import_md(proto, {"Pond/wide.jpg": [{"category": "1", "conf": 0.9, "bbox": [0, 0.5, 1, 0.5]}]})
    (image,) = api_get(proto, f"/projects/{proto.project_id}/images")["results"]
    (analysis,) = api_get(proto, f"/images/{image['id']}")["analyses"]
    (box,) = [a for a in analysis["annotations"] if a["type"] == "bounding_box"]
    with AppClient(proto.client.app, raise_server_exceptions=False) as quiet:
        cropped = quiet.get(
            f"{API}/annotations/{box['id']}/crop", headers=proto.headers, follow_redirects=True
        )
    assert cropped.status_code == 200, cropped.text[:200]
    assert Image.open(io.BytesIO(cropped.content)).size == (256, 96)
