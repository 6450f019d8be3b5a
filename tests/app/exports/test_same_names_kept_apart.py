"""Photos of one deployment that share a file name (a camera's counter restarted on a second
card) each get a path of their own in every export that names photos by path, COCO's
``file_name``, MegaDetector's ``file``, Camtrap DP's ``filePath``, and in the record table's
``Directory``/``FileName``: ``<stem>-<image id><ext>``; a photo whose name is its own keeps
``<folder>/<name>``; and the MegaDetector import matches each photo by the path an export gave
it (docs/exports.md, "Paths")."""

from __future__ import annotations

import csv
import io
import itertools
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.accounts import upload
from tests.support.exports import API, Seeded, detect_all
from tests.support.protocol_client import HEIGHT, WIDTH, Protocol, api_get
from tests.support.scenes import track_all


@dataclass(frozen=True)
class Cards:
    """The photos by id, and the path each should have."""

    seeded: Seeded
    paths: dict[int, str]
    #: The photos whose names are shared in their deployment, by name as uploaded.
    shared: dict[int, str]


def _deployment(proto: Protocol, name: str, longitude: float) -> int:
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={"name": name, "latitude": 45.5, "longitude": longitude},
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


#: Days after the first photo's: each photo is taken on a night of its own.
_DAYS = itertools.count()


def _upload(proto: Protocol, deployment: int, *named: str) -> list[int]:
    """Photos of these names in a deployment, each an event (and an occurrence) of its own."""
    files = []
    for name in named:
        day = next(_DAYS)
        when = datetime(2024, 6, 1, 22, 0) + timedelta(days=day)
        files.append((name, proto.jpeg(900 + day, width=WIDTH, height=HEIGHT, captured_at=when)))
    body = upload(
        proto.client, proto.account, proto.project_id, *files, deployment_id=str(deployment)
    )
    assert body["status"] == 201, body
    assert not any(r["duplicate"] for r in body["results"]), body
    return [int(r["id"]) for r in body["results"]]


@pytest.fixture
def cards(proto: Protocol) -> Cards:
    """Trap A: IMG_0001.JPG from two cards and img_0001.jpg, a..b.jpg and a_b.jpg (one name
    once made a path part), Ñandú.jpg and ñANDÚ.JPG (one name but for case), IMG_0002.JPG,
    a photo named as the first IMG_0001.JPG's new name and one of that form whose id is
    IMG_0002.JPG's. Trap B: an IMG_0001.JPG of its own. The test pipeline boxes each."""
    a, b = _deployment(proto, "Trap A", -73.5), _deployment(proto, "Trap B", -73.4)
    (first,) = _upload(proto, a, "IMG_0001.JPG")
    second, lower, dots, under, upper_n, lower_n, kept = _upload(
        proto, a, "IMG_0001.JPG", "img_0001.jpg", "a..b.jpg", "a_b.jpg", "Ñandú.jpg",
        "ñANDÚ.JPG", "IMG_0002.JPG",
    )  # fmt: skip
    taker, lookalike = _upload(proto, a, f"IMG_0001-{first}.JPG", f"IMG_0001-{kept}.JPG")
    (other,) = _upload(proto, b, "IMG_0001.JPG")
    detect_all(proto)
    shared = {
        first: "IMG_0001.JPG", second: "IMG_0001.JPG", lower: "img_0001.jpg",
        dots: "a..b.jpg", under: "a_b.jpg", upper_n: "Ñandú.jpg", lower_n: "ñANDÚ.JPG",
    }  # fmt: skip
    paths = {
        first: f"Trap A/IMG_0001-{first}.JPG",
        second: f"Trap A/IMG_0001-{second}.JPG",
        lower: f"Trap A/img_0001-{lower}.jpg",
        dots: f"Trap A/a_b-{dots}.jpg",
        under: f"Trap A/a_b-{under}.jpg",
        upper_n: f"Trap A/Ñandú-{upper_n}.jpg",
        lower_n: f"Trap A/ñANDÚ-{lower_n}.JPG",
        kept: "Trap A/IMG_0002.JPG",
        # its own name is the first photo's new name: it takes one too
        taker: f"Trap A/IMG_0001-{first}-{taker}.JPG",
        # of that form, but no photo of its deployment takes that name
        lookalike: f"Trap A/IMG_0001-{kept}.JPG",
        other: "Trap B/IMG_0001.JPG",
    }
    seeded = Seeded(proto, proto.project_id, {"Trap A": a, "Trap B": b}, {}, {})
    return Cards(seeded, paths, shared)


def _coco_paths(data: bytes) -> dict[int, str]:
    return {int(i["id"]): i["file_name"] for i in json.loads(data)["images"]}


def _megadetector_paths(data: bytes, cards: Cards) -> dict[int, str]:
    """The MegaDetector file's paths by photo: it names photos by path alone, and lists them
    in the order of their ids."""
    files = [i["file"] for i in json.loads(data)["images"]]
    return dict(zip(sorted(cards.paths), files, strict=True))


def _camtrap_media(data: bytes) -> list[dict[str, str]]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return list(csv.DictReader(io.StringIO(archive.read("media.csv").decode(), newline="")))


def test_photos_sharing_a_name_in_a_deployment_get_paths_of_their_own(cards: Cards) -> None:
    """Each format names each photo by the same path; no two photos share one, even but for
    case; a photo whose name no other photo of its deployment has keeps its name."""
    seeded = cards.seeded
    coco = _coco_paths(seeded.file("coco"))
    assert coco == cards.paths
    assert _megadetector_paths(seeded.file("megadetector"), cards) == cards.paths
    media = _camtrap_media(seeded.file("camtrap-dp"))
    assert {int(m["mediaID"]): m["filePath"] for m in media} == cards.paths
    # the photo's own name stays in fileName
    own = {int(m["mediaID"]): m["fileName"] for m in media}
    assert {i: own[i] for i in cards.shared} == cards.shared
    assert len({p.casefold() for p in coco.values()}) == len(coco)


def test_an_export_of_one_deployment_names_its_photos_as_the_projects_does(
    cards: Cards,
) -> None:
    seeded = cards.seeded
    only_a = _coco_paths(seeded.file("coco", deployment_id=seeded.deployments["Trap A"]))
    assert only_a == {i: p for i, p in cards.paths.items() if p.startswith("Trap A/")}


def _import(proto: Protocol, data: bytes) -> dict[str, Any]:
    answer = proto.client.post(
        f"{API}/projects/{proto.project_id}/imports/megadetector",
        files={"file": ("results.json", io.BytesIO(data), "application/json")},
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _boxes(data: dict[str, Any]) -> list[tuple[str, tuple[float, ...]]]:
    return sorted(
        (entry["file"], tuple(d["bbox"]))
        for entry in data["images"]
        for d in entry["detections"] or ()
    )


def test_the_megadetector_import_matches_each_photo_by_its_exported_path(cards: Cards) -> None:
    """A MegaDetector file an export wrote, imported back: every entry matches the photo it
    was written for, the renamed ones too; a path naming the shared name itself matches
    none of the photos that have it, and says how to name them."""
    seeded, proto = cards.seeded, cards.seeded.proto
    written = json.loads(seeded.file("megadetector"))
    report = _import(proto, json.dumps(written).encode())
    assert (report["matched"], report["unmatched"]) == (len(cards.paths), 0), report
    again = json.loads(seeded.file("megadetector", pipeline=report["pipeline"]))
    assert _boxes(again) == _boxes(written)

    shared = {**written, "images": [{**written["images"][0], "file": "Trap A/IMG_0001.JPG"}]}
    missed = _import(proto, json.dumps(shared).encode())
    assert missed["matched"] == 0
    (why,) = missed["unmatched_files"]
    assert why["file"] == "Trap A/IMG_0001.JPG"
    assert why["reason"].startswith("2 images of one deployment have this file name"), why


def test_the_record_table_names_each_first_photo_as_the_exports_do(cards: Cards) -> None:
    proto = cards.seeded.proto
    track_all(proto)
    table = api_get(proto, f"/projects/{proto.project_id}/record-table")["results"]
    named = {f"{r['Directory']}/{r['FileName']}" for r in table}
    assert named == set(cards.paths.values())
