"""Exports of awkward text, places and times, each read back with the field's own readers
(frictionless and the offline Camtrap DP validator, python-dwca-reader, MegaDetector's tools):
paths never step up a folder nor start with a dot, two deployments' photos never share a path,
a deployment's start and end keep their own UTC offsets across a clock change, the temporal
coverage holds every media date, and eml.xml stays XML whatever a project's text holds."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support.accounts import upload
from tests.support.exports import API, Seeded, detect_all, seed_project
from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import HEIGHT, WIDTH, Protocol
from tests.support.standards import validate_camtrap_dp
from trapline.exports.cells import cell


def _unzip(data: bytes, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    zipfile.ZipFile(io.BytesIO(data)).extractall(root)
    return root


def _patch(proto: Protocol, path: str, body: dict[str, Any]) -> None:
    answer = proto.client.patch(f"{API}{path}", json=body, headers=proto.headers)
    assert answer.status_code == 200, answer.text


def _deployment(proto: Protocol, **body: Any) -> int:
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments", json=body, headers=proto.headers
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


#: Seeds of photos, so that no two are the same file.
_SEEDS = itertools.count(500)


def _photos(proto: Protocol, deployment: int, *taken: tuple[str, datetime]) -> list[int]:
    """Photos (name, naive capture time) in a deployment."""
    files = [
        (name, proto.jpeg(next(_SEEDS), width=WIDTH, height=HEIGHT, captured_at=moment))
        for name, moment in taken
    ]
    body = upload(
        proto.client, proto.account, proto.project_id, *files, deployment_id=str(deployment)
    )
    assert body["status"] == 201, body
    return [r["id"] for r in body["results"]]


# --- Camtrap DP: file paths -------------------------------------------------------------------

#: File names people's cameras and folders give, each legal on every OS.
AWKWARD_FILES = [
    "IMG 0001..JPG", "a..b.jpg", "notes #1 ?% 100%.jpg", "Ñandú 🦉 ليل.jpg",
    "x" * 200 + ".jpg", "-1.jpg", "=cmd.jpg", "photo (1).jpg", "dup.JPG",
]  # fmt: skip


def test_camtrap_dp_file_paths_with_two_dots_validate(proto: Protocol, tmp_path: Path) -> None:
    """A file name with ``..`` inside (``IMG 0001..JPG``), or a deployment whose name starts
    with ``.`` or ``~`` or holds ``...``, must still give a ``filePath`` the media schema
    takes (its pattern refuses a path starting with ``.``, ``/`` or ``~`` or holding ``..``)."""
    when = datetime(2024, 6, 21, 22, 0)
    ids: dict[int, str] = {}
    for name, files in (("Site 3... north", AWKWARD_FILES[:5]), ("~ridge", AWKWARD_FILES[5:])):
        trap = _deployment(proto, name=name, latitude=45.5, longitude=-73.5)
        made = _photos(proto, trap, *((f, when) for f in files))
        ids |= dict(zip(made, files, strict=True))
    detect_all(proto)
    seeded = Seeded(proto, proto.project_id, {}, ids, {})
    root = _unzip(seeded.file("camtrap-dp"), tmp_path / "pkg")
    with (root / "media.csv").open(newline="") as media:
        rows = list(csv.DictReader(media))
    # a name that starts like a formula comes with the documented quote before it
    assert {int(r["mediaID"]): r["fileName"] for r in rows} == {k: cell(v) for k, v in ids.items()}
    errors = validate_camtrap_dp(root)
    assert errors == [], errors


# --- Camtrap DP: times ------------------------------------------------------------------------


def test_camtrap_dp_deployment_start_keeps_its_own_offset_across_dst(
    proto: Protocol, tmp_path: Path
) -> None:
    """A camera set up in New York on 1 March (EST, -05:00) whose photos are all after the
    clocks went forward (EDT, -04:00): ``deploymentStart`` is 12:00 at -05:00, the instant
    trapline holds, not 12:00 at the offset of the first photo."""
    trap = _deployment(
        proto, name="Bronx", latitude=40.85, longitude=-73.88, time_zone="America/New_York",
        started_at="2024-03-01T12:00:00", ended_at="2024-11-15T12:00:00",
    )  # fmt: skip
    _photos(proto, trap, ("a.jpg", datetime(2024, 3, 20, 12, 0)))
    detect_all(proto)
    seeded = Seeded(proto, proto.project_id, {}, {}, {})
    root = _unzip(seeded.file("camtrap-dp"), tmp_path / "pkg")
    with (root / "deployments.csv").open(newline="") as table:
        (row,) = csv.DictReader(table)
    assert (row["deploymentStart"], row["deploymentEnd"]) == (
        "2024-03-01T12:00:00-05:00",
        "2024-11-15T12:00:00-05:00",
    )


def test_camtrap_dp_temporal_coverage_holds_every_media_date(
    proto: Protocol, tmp_path: Path
) -> None:
    """New Year's Eve in New York (20:00, -05:00) is later than New Year's night in Kathmandu
    (00:10, +05:45): the package's ``temporal`` coverage runs from the first media's date to
    the last's (2023-12-31 to 2024-01-01), and never ends before it starts."""
    kathmandu = _deployment(
        proto, name="Kathmandu", latitude=27.7, longitude=85.3, time_zone="Asia/Kathmandu"
    )
    new_york = _deployment(
        proto, name="Bronx", latitude=40.85, longitude=-73.88, time_zone="America/New_York"
    )
    _photos(proto, kathmandu, ("k.jpg", datetime(2024, 1, 1, 0, 10)))
    _photos(proto, new_york, ("n.jpg", datetime(2023, 12, 31, 20, 0)))
    detect_all(proto)
    seeded = Seeded(proto, proto.project_id, {}, {}, {})
    root = _unzip(seeded.file("camtrap-dp"), tmp_path / "pkg")
    with (root / "media.csv").open(newline="") as media:
        stamps = sorted(r["timestamp"] for r in csv.DictReader(media))
    assert stamps == ["2023-12-31T20:00:00-05:00", "2024-01-01T00:10:00+05:45"]
    temporal = json.loads((root / "datapackage.json").read_text())["temporal"]
    assert temporal["start"] <= temporal["end"], temporal
    assert temporal == {"start": "2023-12-31", "end": "2024-01-01"}


# --- Darwin Core Archive: eml.xml -------------------------------------------------------------


def test_dwca_metadata_parses_whatever_the_projects_text(proto: Protocol, tmp_path: Path) -> None:
    """A project name with U+FFFF (a non-character the name rule takes): eml.xml stays XML
    that python-dwca-reader parses, the title read back as trapline holds it but for what XML
    cannot hold, which is left out."""
    from dwca.read import DwCAReader

    name = "Moths \uffff night"
    _patch(proto, f"/projects/{proto.project_id}", {"name": name})
    got = proto.client.get(f"{API}/projects/{proto.project_id}", headers=proto.headers).json()
    assert got["name"] == name
    seeded = seed_project(proto)
    (tmp_path / "a.zip").write_bytes(seeded.file("dwca"))
    with DwCAReader(str(tmp_path / "a.zip")) as archive:
        assert archive.metadata is not None
        assert archive.metadata.findtext("dataset/title") == "Moths  night"


def test_a_licence_is_one_line_of_visible_text(proto: Protocol) -> None:
    """A licence with a vertical tab made eml.xml unreadable to every reader: the licence is
    now one line, as names are."""
    answer = proto.client.patch(
        f"{API}/projects/{proto.project_id}",
        json={"licence": "CC-BY-4.0\x0b(see site)"},
        headers=proto.headers,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"].startswith("licence:")
    kept = proto.client.get(f"{API}/projects/{proto.project_id}", headers=proto.headers).json()
    assert kept["licence"] == ""


# --- Folder paths: MegaDetector and COCO ------------------------------------------------------


def test_megadetector_files_of_two_deployments_never_share_a_path(
    proto: Protocol, tmp_path: Path
) -> None:
    """Deployments named ``North/1`` and ``North_1`` (a slash is a legal name) each with an
    ``IMG_0001.JPG``: MegaDetector output keys images by ``file``, and its tools turn the path
    into the COCO image id; two photos must not read back as one."""
    from megadetector.data_management.integrity_check_json_db import (
        IntegrityCheckOptions,
        integrity_check_json_db,
    )
    from megadetector.postprocessing.md_to_coco import md_to_coco

    for n, name in enumerate(("North/1", "North_1")):
        trap = _deployment(proto, name=name, latitude=10.0 + n, longitude=20.0)
        _photos(proto, trap, ("IMG_0001.JPG", datetime(2024, 6, 21, 22, 0)))
    detect_all(proto)
    seeded = Seeded(proto, proto.project_id, {}, {}, {})
    path = tmp_path / "md.json"
    path.write_bytes(seeded.file("megadetector"))
    files = [i["file"] for i in json.loads(path.read_text())["images"]]
    assert len(files) == 2
    assert len(set(files)) == 2, files
    with contextlib.redirect_stdout(io.StringIO()):
        coco = md_to_coco(str(path), str(tmp_path / "coco.json"), verbose=False)
        options = IntegrityCheckOptions()
        options.nThreads = 1
        options.verbose = False
        options.bRequireLocation = False  # md_to_coco gives its images none
        integrity_check_json_db(coco, options)


def test_megadetector_and_coco_paths_stay_inside_the_export_folder(proto: Protocol) -> None:
    """A deployment named ``..`` (a legal name) and a photo named ``..`` (a legal upload name,
    kept as its last path part): MegaDetector's ``file`` and COCO's ``file_name`` are paths
    under the folder the photos are copied to, which tools join to it (Timelapse, MegaDetector's
    postprocessing); none may climb out of it or name a folder instead of a photo."""
    import posixpath

    up = _deployment(proto, name="..", latitude=10.0, longitude=20.0)
    _photos(proto, up, ("p.jpg", datetime(2024, 6, 21, 22, 0)))
    other = _deployment(proto, name="Trap", latitude=10.0, longitude=21.0)
    _photos(proto, other, ("..", datetime(2024, 6, 21, 22, 0)))
    detect_all(proto)
    seeded = Seeded(proto, proto.project_id, {}, {}, {})
    files = [i["file"] for i in json.loads(seeded.file("megadetector"))["images"]]
    files += [i["file_name"] for i in json.loads(seeded.file("coco"))["images"]]
    assert len(files) == 4
    for path in files:
        parts = posixpath.normpath(path).split("/")
        assert ".." not in parts, path
        assert len(parts) == 2, path


# --- Round trips of awkward text -------------------------------------------

LABELS = ["moth, big", 'say "hi"', "a|b", "100%", "=1+1", "-x", "Ñandú 🦉"]


def test_awkward_names_labels_and_extreme_places_round_trip(
    proto: Protocol, tmp_path: Path
) -> None:
    from megadetector.postprocessing.validate_batch_results import validate_batch_results
    from pycocotools.coco import COCO

    config = pipeline_config()
    config["algorithms"][1]["category_map"] = {
        "labels": LABELS, "data": [{"label": x, "index": i} for i, x in enumerate(LABELS)]
    }  # fmt: skip
    names = {
        'Trap, "A" x': (90.0, 180.0), "trap a": (-90.0, -180.0), "Trap A": (0.0, 0.0),
        "12345": (-0.000001, 179.999999), "مصيدة \u0661": (45.0, -73.0), "y" * 200: (1.0, 1.0),
    }  # fmt: skip
    traps = {}
    for n, (name, (lat, lon)) in enumerate(names.items()):
        trap = traps[name] = _deployment(proto, name=name, latitude=lat, longitude=lon)
        _photos(proto, trap, (f"p{n}.jpg", datetime(2024, 12, 31, 23, 59, 59)))
    assert proto.register(config).status_code in (200, 201)
    job = proto.job_that_runs(params={"max_attempts": 1})
    items = []
    for n, t in enumerate(proto.claim(job["id"], 100)):
        scores = [0.01] * len(LABELS)
        scores[n % len(LABELS)] = 0.9
        found = detection(t, label=LABELS[n % len(LABELS)], scores=scores)
        found["classifications"][0] |= {"labels": LABELS, "logits": [0.0] * len(LABELS)}
        items.append(success(t, found))
    answers = proto.post(job["id"], *items)
    assert {a["status"] for a in answers} == {"saved"}, answers
    seeded = Seeded(proto, proto.project_id, {}, {}, {})
    rows = list(csv.DictReader(io.StringIO(seeded.file("csv").decode("utf-8-sig"), newline="")))
    assert {r["deployment"] for r in rows} == {cell(n) for n in names}
    assert {r["label"] for r in rows} == {cell(x) for x in LABELS[: len(rows)]}
    path = tmp_path / "coco.json"
    path.write_bytes(seeded.file("coco"))
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(path))
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} == set(LABELS[: len(rows)])
    path = tmp_path / "md.json"
    path.write_bytes(seeded.file("megadetector"))
    checked = validate_batch_results(str(path))["validation_results"]
    assert not checked["errors"], checked
    root = _unzip(seeded.file("camtrap-dp"), tmp_path / "pkg")
    assert validate_camtrap_dp(root) == []
    with (root / "deployments.csv").open(newline="") as table:
        got = {r["locationName"]: (float(r["latitude"]), float(r["longitude"]))
               for r in csv.DictReader(table)}  # fmt: skip
    assert got == {cell(n): p for n, p in names.items()}


def test_occurrence_formats_read_back_awkward_names(proto: Protocol, tmp_path: Path) -> None:
    from dwca.read import DwCAReader

    from tests.support.birds import placed_birds

    scene = placed_birds(proto)
    pond, project = 'Pond, "north" -1 🦉 مصيدة', '=Moths, "2024" | 100%'
    _patch(proto, f"/deployments/{scene.pond}", {"name": pond, "latitude": -90.0,
                                                "longitude": 180.0})  # fmt: skip
    _patch(proto, f"/projects/{proto.project_id}", {"name": project})
    seeded = scene.seeded
    rows = list(csv.DictReader(io.StringIO(seeded.file("occurrences-csv").decode(), newline="")))
    assert rows
    assert {r["project_name"] for r in rows} == {cell(project)}
    assert pond in {r["deployment_name"] for r in rows}
    records = json.loads(seeded.file("occurrences-json"))
    assert {r["project_name"] for r in records} == {project}
    assert pond in {r["deployment_name"] for r in records}
    (tmp_path / "a.zip").write_bytes(seeded.file("dwca"))
    with DwCAReader(str(tmp_path / "a.zip")) as archive:
        places = {
            (r.data["http://rs.tdwg.org/dwc/terms/locality"],
             r.data["http://rs.tdwg.org/dwc/terms/decimalLatitude"],
             r.data["http://rs.tdwg.org/dwc/terms/decimalLongitude"])
            for r in archive
        }  # fmt: skip
        assert archive.metadata.findtext("dataset/title") == project
    assert (pond, "-90", "180") in places
